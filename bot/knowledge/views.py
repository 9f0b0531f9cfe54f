"""Block Kit and sentences for what responders learn: documents suggested, terms explained, tags found
(pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.knowledge.facts import Definition, FoundTag, Suggestion, Term
from bot.slack.text import escape, escape_within

# One section per item, a header and a footnote: well within Slack's 50 blocks.
MOST_ITEMS = 20


def _link(name: str, link: str | None) -> str:
    # A link an operator configured; a `|` or `>` in it would end Slack's link syntax early.
    if link and not any(c in link for c in "|<> "):
        return f"<{link}|{escape(name)}>"
    return escape(name)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _listed(header: str, items: list[str], more: int) -> list[dict[str, Any]]:
    blocks = [_section(header), *(_section(item) for item in items)]
    if more:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {more} more."}]})
    return blocks


def suggestions(incident_name: str, documents: Sequence[Suggestion]) -> tuple[str, list[dict[str, Any]]]:
    """The documents that now match the incident, each with its link and description."""
    shown = list(documents[:MOST_ITEMS])
    names = ", ".join(document.name for document in documents)
    text = f":books: Runbooks and documents for {incident_name}: {names}"
    items = [
        f"*{_link(document.name, document.link)}*"
        + (f"\n{escape_within(document.description, 2500)}" if document.description else "")
        for document in shown
    ]
    header = (
        f":books: *These may help with {escape(incident_name)}* "
        "(their filters match the incident as it is now):"
    )
    return text[:3000], _listed(header, items, len(documents) - len(shown))


def _explained(term: Term) -> str:
    also = f" _(also {', '.join(escape(s) for s in term.synonyms)})_" if term.synonyms else ""
    more = f"\n{_link('Read more', term.link)}" if term.link else ""
    return f"*{escape(term.term)}*{also}: {escape_within(term.text, 2500)}{more}"


def explanations(terms: Sequence[Term], where: str) -> tuple[str, list[dict[str, Any]]]:
    """Terms explained; `where` says what used them ("the description of INC-4", "this message")."""
    shown = list(terms[:MOST_ITEMS])
    text = f":bulb: Terms used in {where}: " + ", ".join(term.term for term in terms)
    header = f":bulb: *Terms used in {escape(where)}:*"
    return text[:3000], _listed(header, [_explained(t) for t in shown], len(terms) - len(shown))


def no_terms(where: str) -> str:
    return f"I found no defined term in {where}."


def definition(answer: Definition, define_command: str) -> tuple[str, list[dict[str, Any]]]:
    """The answer to `/dispatch-define TERM`, or the closest terms when there is none."""
    if answer.term is not None:
        return answer.term.term + ": " + answer.term.text[:2000], [_section(_explained(answer.term))]
    if not answer.asked.strip():
        text = f"Which term? Write it after the command, e.g. `{define_command} SLO`."
        return text, [_section(text)]
    asked = escape_within(answer.asked, 200)
    if answer.closest:
        closest = ", ".join(f"*{escape(name)}*" for name in answer.closest)
        text = f"There is no definition of “{asked}”; closest: {closest}."
    else:
        text = f"There is no definition of “{asked}”, and no term spelt like it."
    return text, [_section(text)]


def found_tags_event(found: Sequence[FoundTag]) -> str:
    """The timeline's account of the tags found in the incident's text, and why each."""
    parts = [
        f"{tag.name} ({tag.tag_type}: the {' and the '.join(tag.found_in)} mentions it)" for tag in found
    ]
    return "Tags found in the incident's text: " + "; ".join(parts)
