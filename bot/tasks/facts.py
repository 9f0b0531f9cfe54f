"""What the task views show, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TaskCard:
    id: int
    incident_id: int
    incident_name: str
    description: str
    status: str
    creator_id: str
    owner_id: str
    assignees: tuple[str, ...]
    resolve_by: datetime | None
    resolved_by: str | None
    # Where the task is kept too (a comment in the incident document), when it came from there.
    weblink: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class TaskDraft:
    """A task as submitted in the create modal."""

    request_key: str
    incident_id: int
    channel_id: str
    creator_id: str
    description: str
    assignees: tuple[str, ...]
    resolve_by: datetime | None
