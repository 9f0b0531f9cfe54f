"""Google Calendar: an event with a Google Meet link, which is the incident's conference."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from googleapiclient.errors import HttpError

from plugins.google.client import GoogleWorkspace, workspace_for
from plugins.interfaces import ExternalResource
from plugins.setup import PluginSetup


class GoogleMeet:
    """The `conference` role: a calendar event on the delegated account's calendar, asking for a Meet."""

    def __init__(
        self,
        workspace: GoogleWorkspace,
        *,
        calendar_id: str = "primary",
        duration: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.workspace = workspace
        self.calendar_id = calendar_id
        self.duration = duration
        self.clock = clock

    @classmethod
    def from_setup(cls, setup: PluginSetup) -> GoogleMeet:
        options = setup.options
        return cls(
            workspace_for(setup),
            calendar_id=str(options.get("calendar_id", "primary")),
            duration=timedelta(minutes=float(options.get("duration_minutes", 60))),
        )

    async def create(self, name: str, description: str, participants: Sequence[str]) -> ExternalResource:
        start = self.clock()
        body = {
            "summary": name,
            "description": description,
            "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + self.duration).isoformat(), "timeZone": "UTC"},
            "attendees": [{"email": email} for email in dict.fromkeys(participants)],
            "guestsCanModify": True,
            "conferenceData": {
                "createRequest": {
                    # Same incident name, same request: Google hands back the conference it made.
                    "requestId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"dispatch-bot/meet/{name}")),
                    "conferenceSolutionKey": {"type": "hangoutsMeet"},
                }
            },
        }

        # The event's id comes from the incident's name, so a retry whose first try reached Google
        # (its answer lost to a timeout or a 5xx) finds that event instead of making a second one.
        event_id = hashlib.sha256(f"dispatch-bot/{self.calendar_id}/{name}".encode()).hexdigest()[:40]
        body["id"] = event_id

        def create(workspace: GoogleWorkspace) -> ExternalResource:
            events = workspace.service("calendar", "v3").events()
            try:
                event = events.insert(
                    calendarId=self.calendar_id, body=body, conferenceDataVersion=1, sendUpdates="none"
                ).execute()
            except HttpError as error:
                if error.resp.status != 409:  # 409: an event with this id exists already
                    raise
                event = events.get(calendarId=self.calendar_id, eventId=event_id).execute()
            conference = event.get("conferenceData") or {}
            link = event.get("hangoutLink") or next(
                (
                    p.get("uri")
                    for p in conference.get("entryPoints") or []
                    if p.get("entryPointType") == "video"
                ),
                None,
            )
            return ExternalResource(
                id=str(conference.get("conferenceId") or event["id"]),
                weblink=link,
                name=name,
                details={"event_id": event["id"], "event_link": event.get("htmlLink", "")},
            )

        return await self.workspace.run(create, f"create the conference for {name!r}")
