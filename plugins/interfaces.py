"""The plugin roles: one small async Protocol per role, and the plain records they exchange.

A vendor package implements one or more of these; flows only ever see the Protocol, so switching
vendor (or client library) is a change in one package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class ExternalResource:
    """Something a plugin created or found: a folder, document, group, ticket, conference."""

    id: str
    weblink: str | None = None
    name: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OnCallPerson:
    """Who is on call for a service right now, as the on-call system knows them."""

    email: str
    name: str = ""
    external_id: str = ""


@dataclass(frozen=True)
class Page:
    """A page sent through the on-call system; `created` is False when an earlier page was found."""

    id: str
    weblink: str | None = None
    created: bool = True


@dataclass(frozen=True)
class Contact:
    """What a directory knows about a person."""

    email: str
    name: str = ""
    title: str = ""
    team: str = ""
    weblink: str | None = None


@dataclass(frozen=True)
class ExternalTask:
    """A task kept in another system (a document comment assigned to someone, say)."""

    id: str
    description: str
    assignees: Sequence[str] = ()
    creator: str | None = None
    resolved: bool = False
    weblink: str | None = None


@dataclass(frozen=True)
class WorkflowRun:
    """One run of an external workflow; `status` is the vendor's word for it, lower-cased.

    `status_url`, when the vendor gives one, is where the run's state is read later.
    """

    id: str
    status: str
    weblink: str | None = None
    artifacts: Sequence[ExternalResource] = ()
    status_url: str | None = None


@runtime_checkable
class StoragePlugin(Protocol):
    async def create_folder(
        self, name: str, participants: Sequence[str], groups: Sequence[str] = ()
    ) -> ExternalResource:
        """Create the incident's folder, shared with `participants` and `groups` (e-mail addresses)."""
        ...

    async def add_participants(
        self, folder_id: str, participants: Sequence[str], groups: Sequence[str] = ()
    ) -> None:
        """Share an existing folder with more people or groups."""
        ...

    async def open_to_domain(self, folder_id: str) -> None:
        """Let everyone in the organisation read the folder (at close; never for restricted incidents)."""
        ...

    async def copy_file(self, folder_id: str, file_id: str, name: str) -> ExternalResource:
        """Copy a file (a document template) into the folder under `name`."""
        ...


@runtime_checkable
class DocumentPlugin(Protocol):
    async def update(self, document_id: str, replacements: Mapping[str, str]) -> None:
        """Replace each `{{key}}` in the document with its value."""
        ...

    async def create_from_template(
        self, template_id: str, folder_id: str, name: str, variables: Mapping[str, str]
    ) -> ExternalResource:
        """Copy the template into the folder as `name` and fill in every `{{variable}}`."""
        ...

    async def update_fields(
        self, document_id: str, previous: Mapping[str, str], current: Mapping[str, str]
    ) -> None:
        """Put the new value of each changed field where the bot wrote the field, and only there."""
        ...


@runtime_checkable
class ParticipantGroupPlugin(Protocol):
    async def create(self, name: str, participants: Sequence[str], description: str = "") -> ExternalResource:
        """Create a group (its e-mail address in `details["email"]`) with these members."""
        ...

    async def add(self, group_email: str, participants: Sequence[str]) -> None:
        """Add members to a group."""
        ...

    async def remove(self, group_email: str, participants: Sequence[str]) -> None:
        """Remove members from a group."""
        ...

    async def members(self, group_email: str) -> list[str]:
        """The group's members' e-mail addresses."""
        ...


@runtime_checkable
class EmailPlugin(Protocol):
    async def send(self, to: Sequence[str], subject: str, html: str, text: str | None = None) -> None:
        """Send one HTML e-mail, with `text` as its plain-text part (derived from the HTML when None)."""
        ...


@runtime_checkable
class ConferencePlugin(Protocol):
    async def create(self, name: str, description: str, participants: Sequence[str]) -> ExternalResource:
        """Create a conference (video call) and invite the participants."""
        ...


@runtime_checkable
class OnCallPlugin(Protocol):
    async def oncall(self, service_id: str) -> OnCallPerson | None:
        """The person on call (first escalation level) for the service now; None if nobody is."""
        ...

    async def page(self, service_id: str, incident_key: str, title: str, description: str) -> Page:
        """Page the service's on-call; the same `incident_key` never pages twice."""
        ...


@runtime_checkable
class TicketPlugin(Protocol):
    async def create(
        self, incident_key: str, title: str, incident_type: str, priority: str, commander: str, reporter: str
    ) -> ExternalResource:
        """Open a ticket for the incident; the same `incident_key` finds the earlier ticket."""
        ...

    async def update(self, ticket_id: str, fields: Mapping[str, str]) -> None:
        """Update a ticket's fields (title, status, priority, links...)."""
        ...


@runtime_checkable
class TaskPlugin(Protocol):
    async def list(self, file_id: str) -> Sequence[ExternalTask]:
        """The tasks kept in a file (document comments assigned to people)."""
        ...

    async def set_resolved(self, file_id: str, task_id: str, resolved: bool, note: str) -> None:
        """Resolve (or re-open) the task in the file, saying why in `note`."""
        ...


@runtime_checkable
class WorkflowPlugin(Protocol):
    async def run(
        self, workflow_id: str, params: Mapping[str, str], *, key: str, context: Mapping[str, Any]
    ) -> WorkflowRun:
        """Start a workflow with these parameters; `key` is the same for a retried start of one run
        (so the system can tell it is not a second run), `context` says what it runs for (the incident,
        the reason, who asked)."""
        ...

    async def get_instance(
        self, workflow_id: str, instance_id: str, status_url: str | None = None
    ) -> WorkflowRun:
        """The current state of a run."""
        ...


@runtime_checkable
class ContactPlugin(Protocol):
    async def get(self, email: str) -> Contact | None:
        """What the directory knows about a person; None if nothing."""
        ...


@runtime_checkable
class MetricPlugin(Protocol):
    async def gauge(self, name: str, value: float, tags: Mapping[str, str] | None = None) -> None:
        """Record a gauge."""
        ...

    async def counter(self, name: str, value: float = 1, tags: Mapping[str, str] | None = None) -> None:
        """Increment a counter."""
        ...

    async def timer(self, name: str, seconds: float, tags: Mapping[str, str] | None = None) -> None:
        """Record a duration."""
        ...


# The config file's role names (bot/config/schema.py PluginRole) → the interface serving the role.
ROLE_INTERFACES: dict[str, type] = {
    "storage": StoragePlugin,
    "document": DocumentPlugin,
    "participant_group": ParticipantGroupPlugin,
    "email": EmailPlugin,
    "conference": ConferencePlugin,
    "oncall": OnCallPlugin,
    "ticket": TicketPlugin,
    "task": TaskPlugin,
    "workflow": WorkflowPlugin,
    "contact": ContactPlugin,
    "metric": MetricPlugin,
}
