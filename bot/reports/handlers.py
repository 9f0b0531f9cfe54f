"""Slack listeners for reports: the tactical and executive commands and their modals."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.core.errors import with_error_modal
from bot.incidents import channel_views
from bot.incidents.context import may_lead, require_incident
from bot.reports import flows, reminders, views
from bot.reports.facts import EXECUTIVE_REPORT, KINDS, TACTICAL_REPORT, ReportKind, SubmittedReport
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry
from bot.slack.modals import input_value, private_metadata
from storage.models import Incident

logger = logging.getLogger(__name__)

TACTICAL = CommandSpec(
    key="report_tactical",
    default_name="/dispatch-report-tactical",
    description="Conditions, actions and needs, posted and pinned in the channel; commander or scribe.",
)
EXECUTIVE = CommandSpec(
    key="report_executive",
    default_name="/dispatch-report-executive",
    description="Status, overview and next steps for stakeholders; commander or scribe.",
)
STALE_FORM = "This form could not be read (it may be out of date). Close it and run the command again."
NOT_A_LEAD = (
    "Only the incident commander or the scribe of this incident can send reports, and you are not "
    "(any more). Nothing was sent; copy your text if you want to keep it."
)


def parse_submission(body: dict[str, Any], kind: ReportKind) -> SubmittedReport:
    view = body["view"]
    metadata = private_metadata(view)
    return SubmittedReport(
        kind=kind,
        request_key=flows.request_key(view["id"]),
        incident_id=int(metadata["incident_id"]),
        channel_id=str(metadata["channel_id"]),
        user_id=body["user"]["id"],
        values={f.key: input_value(view, views.block_id(f.key)) or "" for f in kind.fields},
    )


def register(registry: Registry, ctx: BotContext) -> None:
    registry.require_scopes("chat:write", "pins:write", "channels:read", "groups:read")

    async def open_modal(
        kind: ReportKind, command: str, channel_id: str, user_id: str, trigger_id: str, respond: AsyncRespond
    ) -> None:
        found = await require_incident(ctx, respond, channel_id, user_id, command, leads_only=True)
        if found is None:
            return
        # The trigger expires in 3 s: open at once, then fill in what the database says.
        view_id = await ctx.gateway.open_view(trigger_id, views.loading_modal(kind))

        async def fill() -> None:
            form = await flows.report_form(ctx, kind, found)
            metadata = {"incident_id": found.incident_id, "channel_id": found.channel_id}
            await ctx.gateway.update_view(view_id, views.report_modal(form, metadata))

        await with_error_modal(ctx, view_id, kind.name, fill())

    @registry.command(TACTICAL)
    async def tactical_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ctx.tasks.spawn(
            open_modal(
                TACTICAL_REPORT,
                registry.name_of(TACTICAL),
                body["channel_id"],
                body["user_id"],
                body["trigger_id"],
                respond,
            ),
            name="report-tactical-modal",
        )

    @registry.action(channel_views.TACTICAL_REPORT_BUTTON)
    async def tactical_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """The pinned summary's Tactical report button: the command, run in the incident channel."""
        await ack()
        channel = (body.get("channel") or {}).get("id", "")
        ctx.tasks.spawn(
            open_modal(
                TACTICAL_REPORT,
                registry.name_of(TACTICAL),
                channel,
                body["user"]["id"],
                body["trigger_id"],
                respond,
            ),
            name="report-tactical-modal",
        )

    @registry.command(EXECUTIVE)
    async def executive_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ctx.tasks.spawn(
            open_modal(
                EXECUTIVE_REPORT,
                registry.name_of(EXECUTIVE),
                body["channel_id"],
                body["user_id"],
                body["trigger_id"],
                respond,
            ),
            name="report-executive-modal",
        )

    async def report_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body["view"]
        kind = views.KIND_OF_CALLBACK[view["callback_id"]]
        try:
            submitted = parse_submission(body, kind)
        except (KeyError, TypeError, ValueError):
            await ack(response_action="update", view=views.message_modal(kind.name, STALE_FORM))
            return
        errors = flows.check_values(kind, submitted.values)
        if errors:
            await ack(response_action="errors", errors={views.block_id(k): v for k, v in errors.items()})
            return
        if (
            await flows.may_report(ctx, submitted.channel_id, submitted.incident_id, submitted.user_id)
            is None
        ):
            await ack(response_action="errors", errors={views.block_id(kind.fields[0].key): NOT_A_LEAD})
            return
        await ack(response_action="update", view=views.saving_modal(kind))

        async def send() -> None:
            outcome = await flows.create_report(ctx, submitted)
            await ctx.gateway.show_result(view["id"], submitted.user_id, views.result_modal(outcome))

        ctx.tasks.spawn(
            with_error_modal(ctx, view["id"], kind.name, send(), submitted.user_id), name=f"report-{kind.key}"
        )

    for callback_id in views.CALLBACKS.values():
        registry.view(callback_id)(report_submitted)


def register_reminders(registry: Registry, ctx: BotContext) -> None:
    @registry.action(views.REMIND_LATER)
    async def remind_later(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        chosen = ((body.get("actions") or [{}])[0].get("selected_option") or {}).get("value", "")
        incident_id, kind, minutes = [*str(chosen).split(":"), "", "", ""][:3]
        if not incident_id.isdigit() or kind not in KINDS or not minutes.isdigit():
            logger.warning("remind-later choice that cannot be read", extra={"value": chosen})
            return
        user = body["user"]["id"]

        async def snooze() -> None:
            if not await may_lead(ctx, int(incident_id), user):
                await respond(
                    text="Only the incident commander or the scribe can move this reminder.",
                    response_type="ephemeral",
                    replace_original=False,
                )
                return
            due = await reminders.remind_later(ctx, int(incident_id), kind, int(minutes), user)
            async with ctx.sessions() as session:
                incident = await session.get(Incident, int(incident_id))
            name = incident.name if incident is not None else "the incident"
            await respond(
                text=views.reminder_snoozed(KINDS[kind], name, f"{due:%H:%M} UTC"), replace_original=True
            )

        ctx.tasks.spawn(snooze(), name="report-remind-later")
