"""What the on-call flows and views both speak of: the services offered and how an engagement went."""

from __future__ import annotations

from dataclasses import dataclass, field

from plugins.interfaces import OnCallPerson


@dataclass(frozen=True)
class ServiceOption:
    id: int
    name: str
    description: str
    engaged: bool = False
    engaged_user: str | None = None


@dataclass(frozen=True)
class EngageForm:
    """What the modal offers: the project's services, or why there is nothing to offer."""

    incident_id: int
    incident_name: str
    services: list[ServiceOption]
    problem: str | None = None


@dataclass
class EngageOutcome:
    service: str
    user: str | None = None
    person: OnCallPerson | None = None
    error: str | None = None
    """Why nobody was engaged, in words for the person who asked."""
    paged: bool = False
    page_link: str | None = None
    problems: list[str] = field(default_factory=list)
    """What went wrong after the person was engaged (invite, announcement, page)."""
    retryable: bool = False
    """The on-call plugin could not answer: asking again later may work."""
