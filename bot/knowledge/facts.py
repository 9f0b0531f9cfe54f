"""The plain facts the knowledge flows and views both speak of: terms, suggested documents, found tags."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Term:
    """A defined term: its name, the other ways of writing it, what it means and where to read more."""

    term: str
    text: str
    synonyms: tuple[str, ...] = ()
    link: str | None = None

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.term, *self.synonyms)


@dataclass(frozen=True)
class Suggestion:
    """A runbook or reference document suggested to the incident's responders."""

    name: str
    description: str = ""
    link: str | None = None


@dataclass(frozen=True)
class FoundTag:
    """A discoverable tag whose name the incident's text uses: where (title or description)."""

    tag_type: str
    name: str
    found_in: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Definition:
    """The answer to `/dispatch-define`: the term found, or the closest ones."""

    asked: str
    term: Term | None = None
    closest: tuple[str, ...] = ()
