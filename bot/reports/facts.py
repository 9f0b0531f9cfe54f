"""The two kinds of report, their fields, and the plain records flows build and views render."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage.reports import EXECUTIVE, TACTICAL

# Slack's longest plain-text input; the channel message splits longer escaped text over sections.
FIELD_MAX = 3000


@dataclass(frozen=True)
class ReportField:
    """One text field of a report: `key` names it in the stored details and in the modal."""

    key: str
    label: str
    placeholder: str


@dataclass(frozen=True)
class ReportKind:
    key: str
    name: str
    """How people call it, capitalised: "Tactical report"."""
    emoji: str
    intro: str
    """The line under the report's heading in the channel."""
    fields: tuple[ReportField, ...]
    pinned: bool
    """Whether the channel message is pinned, so the latest one is at hand."""


TACTICAL_REPORT = ReportKind(
    key=TACTICAL,
    name="Tactical report",
    emoji="📋",
    intro="Where the response stands: the conditions, what is being done, and what is needed.",
    fields=(
        ReportField("conditions", "Conditions", "What is happening and what is affected, right now"),
        ReportField("actions", "Actions", "What is being done about it, and by whom"),
        ReportField("needs", "Needs", "What the response needs: people, access, decisions"),
    ),
    pinned=True,
)
EXECUTIVE_REPORT = ReportKind(
    key=EXECUTIVE,
    name="Executive report",
    emoji="📣",
    intro="A summary for stakeholders outside the response.",
    fields=(
        ReportField("current_status", "Current status", "Where things stand, in a sentence or two"),
        ReportField("overview", "Overview", "What happened, who and what is affected"),
        ReportField("next_steps", "Next steps", "What happens next, and when the next update comes"),
    ),
    pinned=False,
)
KINDS = {kind.key: kind for kind in (TACTICAL_REPORT, EXECUTIVE_REPORT)}


@dataclass(frozen=True)
class ReportForm:
    """What the report modal shows: the incident, and the fields prefilled from the last report."""

    kind: ReportKind
    incident_id: int
    channel_id: str
    incident_name: str
    values: dict[str, str]
    last_at: datetime | None = None
    last_author: str | None = None


@dataclass(frozen=True)
class SubmittedReport:
    """A report as its author submitted it; `request_key` identifies the submission across redeliveries."""

    kind: ReportKind
    request_key: str
    incident_id: int
    channel_id: str
    user_id: str
    values: dict[str, str]


@dataclass
class ReportOutcome:
    """What became of a submitted report, for the author's result modal."""

    kind: ReportKind
    report_id: int
    incident_name: str
    created: bool
    """False when this submission had been saved already (a redelivery): nothing was sent again."""
    channel_id: str | None = None
    posted: bool = False
    pinned: bool = False
    problems: list[str] = field(default_factory=list)
    """What could not be done in Slack (the report is saved regardless), in words for the author."""
    document_link: str | None = None
    """The executive document, once a document plugin makes one."""
    emailed: list[str] = field(default_factory=list)
    """Addresses the report was e-mailed to (now, or by an earlier run of the delivery)."""
    email_failed: dict[str, str] = field(default_factory=dict)
    """Addresses the e-mail could not reach, with the reason."""
    email_note: str = ""
    """Why no one was e-mailed although an e-mail plugin is set up (no group, no matching address)."""
