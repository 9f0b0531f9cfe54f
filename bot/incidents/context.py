"""Where a command runs and who runs it: the incident of a channel, and the roles that may act on it."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.runtime.bot_context import BotContext
from storage import incidents as store
from storage.models import Incident

COMMANDER, SCRIBE = "Incident Commander", "Scribe"
LEADS = frozenset({COMMANDER, SCRIBE})


@dataclass(frozen=True)
class IncidentContext:
    """The incident a command was run in, and the person who ran it."""

    incident: Incident
    channel_id: str
    user_id: str
    roles: list[str]

    @property
    def incident_id(self) -> int:
        assert self.incident.id is not None
        return self.incident.id

    @property
    def leads(self) -> bool:
        return bool(LEADS.intersection(self.roles))


async def incident_context(ctx: BotContext, channel_id: str, user_id: str) -> IncidentContext | None:
    async with ctx.sessions() as session:
        incident = await store.incident_by_channel(session, channel_id)
        if incident is None or incident.id is None:
            return None
        roles = await store.roles_of_user(session, incident.id, user_id)
    return IncidentContext(incident, channel_id, user_id, roles)


async def may_see(ctx: BotContext, incident_id: int, user_id: str) -> bool:
    """Whether `user_id` may see the incident: anyone an open one, only its participants a restricted one."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            return False
        if incident.visibility != "restricted":
            return True
        return user_id in await store.participant_user_ids(session, incident_id)


async def may_lead(ctx: BotContext, incident_id: int, user_id: str) -> bool:
    """Whether `user_id` may change the incident: its commander or scribe, or, once it is closed and
    every role has ended, whoever last held one of those roles."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            return False
        if LEADS.intersection(await store.roles_of_user(session, incident_id, user_id)):
            return True
        if incident.status != "closed":
            return False
        return user_id in {await store.last_holder_of(session, incident_id, role) for role in LEADS}


async def require_incident(
    ctx: BotContext,
    respond: AsyncRespond,
    channel_id: str,
    user_id: str,
    command: str,
    *,
    leads_only: bool = False,
) -> IncidentContext | None:
    """The incident of `channel_id`, or None after telling the user (ephemerally) why not."""
    found = await incident_context(ctx, channel_id, user_id)
    if found is None:
        report = ctx.settings.slack_commands.get("report_incident", "/dispatch-report-incident")
        await respond(
            response_type="ephemeral",
            text=(
                f"`{command}` only works in an incident channel. Run it there, "
                f"or start an incident with `{report}`."
            ),
        )
        return None
    if leads_only and not found.leads:
        async with ctx.sessions() as session:
            commander = await store.holder_of(session, found.incident_id, COMMANDER)
            scribe = await store.holder_of(session, found.incident_id, SCRIBE)
        holders = " or ".join(f"<@{user}>" for user in (commander, scribe) if user)
        await respond(
            response_type="ephemeral",
            text=(
                f"Only the incident commander or the scribe can run `{command}` in {found.incident.name}"
                f"{f' (ask {holders})' if holders else ''}. "
                "They can give you a role with `/dispatch-assign-role`."
            ),
        )
        return None
    return found
