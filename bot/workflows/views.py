"""Block Kit and sentences for workflows: the "Run workflow" form, the runs list, channel notes (pure)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.core.views import form_modal
from bot.incidents.report_views import message_modal
from bot.slack.text import escape

if TYPE_CHECKING:
    from bot.workflows.facts import WorkflowChoice
    from storage.models import WorkflowInstance

RUN_CALLBACK = "workflow_run"
WORKFLOW, WORKFLOW_ACTION = "workflow_choice", "workflow_chosen"
REASON = "workflow_reason"
PARAMETER_PREFIX = "workflow_parameter:"
TITLE = "Run workflow"
LIST_TITLE = "Workflows"
FINAL_WORDS = {
    "completed": "completed",
    "succeeded": "completed",
    "success": "completed",
    "failed": "failed",
    "error": "failed",
    "cancelled": "was cancelled",
    "canceled": "was cancelled",
    "lost": "can no longer be found by its system",
    "abandoned": "is no longer followed: its system has not said it ended within 7 days",
}


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:150]}


def parameter_block(workflow_id: int, key: str) -> str:
    """The block of a parameter, distinct per workflow: Slack keeps what was typed in a block whose id
    survives an update, and another workflow's parameter of the same name must start from its own."""
    return f"{PARAMETER_PREFIX}{workflow_id}:{key}"


def _shown(choices: list[WorkflowChoice], chosen: WorkflowChoice | None) -> list[WorkflowChoice]:
    """At most Slack's 100 options, the chosen one always among them."""
    shown = choices[:100]
    if chosen is not None and chosen not in shown:
        shown = [*shown[:99], chosen]
    return shown


def run_modal(
    incident_name: str,
    choices: list[WorkflowChoice],
    chosen: WorkflowChoice | None,
    metadata: dict[str, Any],
    reason: str = "",
) -> dict[str, Any]:
    """Choose a workflow; once chosen, why it should run and its parameters (prefilled)."""
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": WORKFLOW_ACTION,
        "placeholder": _text("Choose a workflow"),
        "options": [{"text": _text(c.name[:75]), "value": str(c.id)} for c in _shown(choices, chosen)],
    }
    if chosen is not None:
        select["initial_option"] = {"text": _text(chosen.name[:75]), "value": str(chosen.id)}
    blocks: list[dict[str, Any]] = [
        {
            "type": "input",
            "block_id": WORKFLOW,
            "dispatch_action": True,
            "label": _text("Workflow"),
            "element": select,
        }
    ]
    if chosen is not None:
        if chosen.description:
            blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": escape(chosen.description)[:2000]}],
                }
            )
        reason_input: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": REASON,
            "multiline": True,
            "max_length": 2000,
            "placeholder": _text("Why it should run now"),
        }
        if reason:
            reason_input["initial_value"] = reason
        blocks.append(
            {"type": "input", "block_id": REASON, "label": _text("Reason"), "element": reason_input}
        )
        for parameter in chosen.parameters[:40]:
            element: dict[str, Any] = {
                "type": "plain_text_input",
                "action_id": parameter_block(chosen.id, parameter.key),
                "max_length": 2000,
            }
            if parameter.value:
                element["initial_value"] = parameter.value
            block: dict[str, Any] = {
                "type": "input",
                "block_id": parameter_block(chosen.id, parameter.key),
                "optional": True,
                "label": _text(parameter.key),
                "element": element,
            }
            if parameter.description:
                block["hint"] = _text(parameter.description)
            blocks.append(block)
    intro = (
        f"Runs in the project's automation for *{escape(incident_name)}*; the channel is told how it goes."
    )
    return form_modal(RUN_CALLBACK, TITLE, "Run", metadata, intro, blocks)


def _name(instance: WorkflowInstance) -> str:
    name = f"*{escape(instance.workflow_name)}*"
    return f"<{instance.weblink}|{name}>" if instance.weblink else name


def _artifacts(instance: WorkflowInstance) -> str:
    links = [
        f"<{a['weblink']}|{escape(str(a.get('name') or 'artifact'))}>"
        if a.get("weblink")
        else escape(str(a.get("name")))
        for a in instance.artifacts
    ]
    return ", ".join(links)


def final_word(status: str) -> str:
    return FINAL_WORDS.get(status, f"ended ({status})")


def started_text(instance: WorkflowInstance) -> str:
    parameters = ", ".join(f"{escape(k)}={escape(str(v))}" for k, v in instance.parameters.items() if v)
    return (
        f"🔧 <@{instance.creator_id}> started the workflow {_name(instance)}: {escape(instance.reason)}"
        + (f" ({parameters})" if parameters else "")
        + f". Status: *{escape(instance.status)}*."
    )


def not_started_text(instance: WorkflowInstance) -> str:
    return (
        f"⚠️ Couldn't start the workflow *{escape(instance.workflow_name)}* for <@{instance.creator_id}>: "
        f"{escape(instance.error or 'no reason given')}. Nothing ran; start it again once that is fixed."
    )


def unanswered_text(instance: WorkflowInstance) -> str:
    return (
        f"⏳ The workflow *{escape(instance.workflow_name)}* for <@{instance.creator_id}> got no answer "
        f"({escape(instance.error or 'no reason given')}). It may have started: the bot asks again with the "
        "same request in a few minutes, which does not start a second run."
    )


def interrupted_text(instance: WorkflowInstance) -> str:
    return (
        f"⚠️ The workflow *{escape(instance.workflow_name)}* for <@{instance.creator_id}> never answered "
        f"({escape(instance.error or 'no reason given')}): the bot no longer asks. "
        "It may or may not have run; check in its own system before starting it again."
    )


def status_text(instance: WorkflowInstance) -> str:
    now = final_word(instance.status) if instance.finished_at else f"is *{escape(instance.status)}*"
    text = f"🔧 The workflow {_name(instance)} started by <@{instance.creator_id}> {now}."
    artifacts = _artifacts(instance)
    return text + (f" Artifacts: {artifacts}" if artifacts else "")


def result_text(instance: WorkflowInstance) -> str:
    """What the person who submitted the form sees once the system has answered."""
    if instance.error:
        return (
            f"Couldn't start *{escape(instance.workflow_name)}*: {escape(instance.error)}. "
            "Nothing ran; the channel has been told."
        )
    status = escape(instance.status)
    return f"✅ {_name(instance)} started, status *{status}*. The channel will hear how it goes."


def runs_modal(incident_name: str, runs: list[WorkflowInstance], command: str) -> dict[str, Any]:
    """The incident's runs, the latest first: status, who started it and why, what it made."""
    if not runs:
        return message_modal(
            LIST_TITLE, f"No workflow has run for *{escape(incident_name)}* yet. Start one with `{command}`."
        )
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"Workflows run for *{escape(incident_name)}*:"},
        }
    ]
    for run in runs[:45]:
        lines = [
            f"{_name(run)} · *{escape(run.status)}* · started by <@{run.creator_id}> "
            f"{run.created_at:%Y-%m-%d %H:%M} UTC",
            f"Reason: {escape(run.reason)}",
        ]
        if run.error:
            lines.append(f"Why it did not start: {escape(run.error)}")
        if run.artifacts:
            lines.append(f"Artifacts: {_artifacts(run)}")
        blocks.append({"type": "divider"})
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}})
    return {"type": "modal", "title": _text(LIST_TITLE), "close": _text("Close"), "blocks": blocks}
