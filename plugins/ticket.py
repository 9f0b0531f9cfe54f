"""The built-in ticket: the incident's own name is its ticket, so no external system is needed."""

from __future__ import annotations

from collections.abc import Mapping

from plugins.interfaces import ExternalResource


class BuiltinTicket:
    """Numbering only: the ticket of an incident is its key, created and updated without I/O."""

    async def create(
        self, incident_key: str, title: str, incident_type: str, priority: str, commander: str, reporter: str
    ) -> ExternalResource:
        return ExternalResource(id=incident_key, name=incident_key, details={"title": title})

    async def update(self, ticket_id: str, fields: Mapping[str, str]) -> None:
        # The incident row is the ticket: there is nothing else to keep in step.
        return None
