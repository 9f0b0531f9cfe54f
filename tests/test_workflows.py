"""Workflows from an incident channel: /dispatch-run-workflow through the webhook plugin against a fake
automation service, the workflow-runs job following each run, /dispatch-list-workflows."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Project, TimelineEvent, Workflow, WorkflowInstance
from tests.fakes.workflow import FakeWorkflows
from tests.test_incident_update import open_incident

RESTART = "Restart service"


@pytest.fixture
async def workflows() -> AsyncIterator[FakeWorkflows]:
    async with FakeWorkflows() as fake:
        yield fake


async def add_workflows(bot: BotProcess, fake: FakeWorkflows, *names: str) -> None:
    async with bot.ctx.sessions() as session:
        project = (await session.exec(select(Project))).one()
        assert project.id is not None
        for name in names:
            session.add(
                Workflow(
                    project_id=project.id,
                    name=name,
                    description=f"{name} through the pipeline.",
                    external_id=fake.hook(name.lower().replace(" ", "-")),
                    parameters=[
                        {"key": "service", "description": "Which service"},
                        {"key": "region", "value": "eu-west-1"},
                    ],
                )
            )
        await session.commit()


async def instances(bot: BotProcess) -> list[WorkflowInstance]:
    async with bot.ctx.sessions() as session:
        return list((await session.exec(select(WorkflowInstance).order_by(WorkflowInstance.id))).all())


def said(slack: FakeSlack, channel: str, text: str) -> list[str]:
    return [m.text for m in slack.messages(channel) if text in m.text]


async def told(slack: FakeSlack, channel: str, user: str, text: str) -> str:
    """The ephemeral message `user` got in `channel` saying `text`."""
    await slack.wait_for(lambda: any(text in m.text for m in slack.ephemerals(channel, user)))
    return next(m.text for m in slack.ephemerals(channel, user) if text in m.text)


def open_modal(slack: FakeSlack, user: str) -> dict[str, Any]:
    return slack.open_view_for(user) or {}


async def run_form(slack: FakeSlack, user: str, channel: str) -> None:
    await slack.as_user(user).slash_command("/dispatch-run-workflow", channel=channel)
    await slack.wait_for(lambda: open_modal(slack, user).get("callback_id") == "workflow_run")


async def restart_requested(
    slack: FakeSlack, bot: BotProcess, workflows: FakeWorkflows, *, fail_with: int | None = None
) -> tuple[str, str, Any]:
    """Ada opens an incident whose project has only the restart workflow and submits its form (the
    workflow comes chosen); the fake first answers `fail_with`, when given. Ada, the channel, the
    submission."""
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Checkout errors")
    await add_workflows(bot, workflows, RESTART)
    if fail_with is not None:
        workflows.fail("POST", "/hooks/restart-service", fail_with)
    await run_form(slack, ada, channel)
    submission = await slack.as_user(ada).submit_view({"Reason": "Stuck pods", "service": "checkout"})
    return ada, channel, submission


async def test_a_participant_runs_a_workflow_and_the_channel_follows_it_to_the_end(
    slack: FakeSlack, bot: BotProcess, workflows: FakeWorkflows
) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Checkout errors")
    await add_workflows(bot, workflows, RESTART, "Flush cache")

    await run_form(slack, ada, channel)
    assert "Reason" not in str(open_modal(slack, ada))  # a workflow is chosen first
    await slack.as_user(ada).select_in_view("workflow_chosen", RESTART)
    await slack.wait_for(lambda: "Reason" in str(open_modal(slack, ada)))
    assert "eu-west-1" in str(open_modal(slack, ada)) and "Which service" in str(open_modal(slack, ada))
    await slack.as_user(ada).submit_view({"Reason": "Pods stuck after the deploy", "service": "checkout"})
    await slack.wait_for(lambda: "started, status" in str(open_modal(slack, ada)), timeout=5)

    [run] = workflows.runs.values()
    assert run.hook == "restart-service"
    assert run.body["parameters"] == {"service": "checkout", "region": "eu-west-1"}
    assert run.body["context"]["reason"] == "Pods stuck after the deploy"
    assert run.body["context"]["incident"]["name"] == "INC-1"
    [started] = said(slack, channel, "started the workflow")
    assert f"<@{ada}>" in started and "Pods stuck after the deploy" in started and "*running*" in started

    # The job reads the run: nothing new, nothing said; then it completes with an artifact.
    assert bot.scheduler is not None
    assert (
        await bot.scheduler.run_now("workflow-runs")
    ).outcome == "followed 1 run(s): 0 changed, 0 could not be read"
    workflows.finish(run.id, "completed", [{"name": "Deploy log", "weblink": "https://ci.example/log/7"}])
    await bot.scheduler.run_now("workflow-runs")
    [done] = said(slack, channel, "completed")
    assert "<https://ci.example/log/7|Deploy log>" in done
    [instance] = await instances(bot)
    assert instance.status == "completed" and instance.finished_at is not None
    # A finished run is not read again, nor told twice.
    assert (await bot.scheduler.run_now("workflow-runs")).outcome.startswith("followed 0 run(s)")
    assert len(said(slack, channel, "completed")) == 1
    async with bot.ctx.sessions() as session:
        events = (await session.exec(select(TimelineEvent).where(TimelineEvent.kind == "workflow"))).all()
    assert [e.description for e in events] == [
        f"<@{ada}> started the workflow {RESTART}: Pods stuck after the deploy",
        f"The workflow {RESTART} completed",
    ]

    await slack.as_user(ada).slash_command("/dispatch-list-workflows", channel=channel)
    await slack.wait_for(lambda: "Workflows run for" in str(open_modal(slack, ada)))
    listed = str(open_modal(slack, ada))
    assert RESTART in listed and "completed" in listed and "Deploy log" in listed


async def test_a_redelivered_submission_starts_one_run(
    slack: FakeSlack, bot: BotProcess, workflows: FakeWorkflows
) -> None:
    ada, channel, submission = await restart_requested(slack, bot, workflows)
    await slack.wait_for(lambda: "started, status" in str(open_modal(slack, ada)), timeout=5)
    again = await slack.deliver("interactive", submission.delivery.payload)
    await again.acked(timeout=3)
    await bot.ctx.tasks.drain(5)
    assert "started, status" in str(open_modal(slack, ada))  # the result, not an error
    assert len(workflows.runs) == 1 and len(await instances(bot)) == 1
    assert len(said(slack, channel, "started the workflow")) == 1


async def test_a_refused_start_is_said_and_nothing_runs(
    slack: FakeSlack, bot: BotProcess, workflows: FakeWorkflows
) -> None:
    ada, channel, _ = await restart_requested(slack, bot, workflows, fail_with=403)
    await slack.wait_for(lambda: "Nothing ran; the channel has been told" in str(open_modal(slack, ada)))
    assert "answered 403" in str(open_modal(slack, ada))
    [told] = said(slack, channel, "Couldn't start the workflow")
    assert "check WEBHOOK_TOKEN" in told
    [instance] = await instances(bot)
    assert instance.status == "failed" and instance.finished_at is not None and workflows.runs == {}


async def test_a_server_error_is_retried_and_a_run_lost_by_its_system_is_said(
    slack: FakeSlack, bot: BotProcess, workflows: FakeWorkflows
) -> None:
    ada, channel, _ = await restart_requested(slack, bot, workflows, fail_with=503)  # the plugin retries
    await slack.wait_for(lambda: "started, status" in str(open_modal(slack, ada)), timeout=5)
    [run] = workflows.runs.values()

    workflows.fail("GET", f"/hooks/restart-service/{run.id}", 500, times=10)
    assert bot.scheduler is not None
    result = await bot.scheduler.run_now("workflow-runs")
    assert result.outcome == "followed 1 run(s): 0 changed, 1 could not be read"
    workflows.injected.faults.clear()
    del workflows.runs[run.id]
    await bot.scheduler.run_now("workflow-runs")
    [lost] = said(slack, channel, "can no longer be found")
    assert RESTART in lost


async def test_a_start_without_an_answer_is_asked_again_with_the_same_key_then_given_up(
    slack: FakeSlack, bot: BotProcess, workflows: FakeWorkflows
) -> None:
    bot.ctx.settings.plugin_timeout_seconds = 0.3
    workflows.slow("POST", "/hooks/", 1.0)
    ada, channel, _ = await restart_requested(slack, bot, workflows)
    await slack.wait_for(lambda: said(slack, channel, "got no answer"), timeout=5)
    assert "It may have started" in said(slack, channel, "got no answer")[0]
    [instance] = await instances(bot)
    assert instance.status == "starting" and instance.finished_at is None
    assert bot.scheduler is not None
    assert (await bot.scheduler.run_now("workflow-runs")).outcome.endswith(": 0 changed, 0 could not be read")

    # Minutes later the job asks again, with the same key: one run, whatever reached the system before.
    workflows.injected.delays.clear()
    bot.ctx.clock = lambda: instance.created_at + timedelta(minutes=3)
    await bot.scheduler.run_now("workflow-runs")
    assert len(workflows.runs) == 1 and [run.key for run in workflows.runs.values()] == [instance.run_key]
    assert len(said(slack, channel, "started the workflow")) == 1
    assert len(said(slack, channel, "got no answer")) == 1

    # Another run that never gets an answer is given up on after ten minutes, and that is said.
    workflows.slow("POST", "/hooks/", 1.0)
    await run_form(slack, ada, channel)
    await slack.as_user(ada).submit_view({"Reason": "Still stuck"})
    await slack.wait_for(lambda: len(said(slack, channel, "got no answer")) == 2, timeout=5)
    second = (await instances(bot))[-1]
    bot.ctx.clock = lambda: second.created_at + timedelta(minutes=11)
    await bot.scheduler.run_now("workflow-runs")
    [given_up] = said(slack, channel, "never answered")
    assert "may or may not have run" in given_up
    assert (await instances(bot))[-1].status == "failed"


async def test_a_run_never_said_to_end_is_followed_for_a_week(
    slack: FakeSlack, bot: BotProcess, workflows: FakeWorkflows
) -> None:
    ada, channel, _ = await restart_requested(slack, bot, workflows)
    await slack.wait_for(lambda: "started, status" in str(open_modal(slack, ada)), timeout=5)
    [instance] = await instances(bot)
    assert bot.scheduler is not None
    bot.ctx.clock = lambda: instance.created_at + timedelta(days=6)
    assert (await bot.scheduler.run_now("workflow-runs")).outcome.endswith(": 0 changed, 0 could not be read")
    bot.ctx.clock = lambda: instance.created_at + timedelta(days=7, minutes=1)
    await bot.scheduler.run_now("workflow-runs")
    [given_up] = said(slack, channel, "is no longer followed")
    assert RESTART in given_up
    assert (await bot.scheduler.run_now("workflow-runs")).outcome.startswith("followed 0 run(s)")


async def test_who_and_where_a_workflow_may_run(
    slack: FakeSlack, bot: BotProcess, workflows: FakeWorkflows
) -> None:
    ada, bob = slack.add_user("ada"), slack.add_user("bob")
    channel = await open_incident(slack, bot, ada, "Checkout errors")

    await slack.as_user(ada).slash_command("/dispatch-run-workflow", channel=channel)
    none = await told(slack, channel, ada, "no workflows to run")
    assert "`workflows`" in none

    await add_workflows(bot, workflows, RESTART)
    slack.channel(channel).members.add(bob)  # in the channel, but not taking part
    await slack.as_user(bob).slash_command("/dispatch-run-workflow", channel=channel)
    await told(slack, channel, bob, "Only people taking part in INC-1 can run its workflows")

    general = slack.add_channel("general", members=[ada])
    await slack.as_user(ada).slash_command("/dispatch-run-workflow", channel=general)
    await told(slack, general, ada, "only works in an incident channel")

    await run_form(slack, ada, channel)
    reply = await slack.as_user(ada).submit_view({"Reason": "   "}, force=True)
    assert reply.errors == {"workflow_reason": "Say why it should run: the channel and the timeline show it."}
    assert workflows.runs == {}


async def test_the_webhook_sends_its_token_and_says_what_went_wrong() -> None:
    from plugins.errors import PluginAuthError, PluginNoAnswer
    from plugins.workflow.webhook import WebhookWorkflow

    async with FakeWorkflows(token="s3cret") as fake:
        url = fake.hook("restart")
        context = {"workflow": RESTART, "incident": {"name": "INC-1"}}
        run = await WebhookWorkflow("s3cret").run(url, {"service": "api"}, key="k1", context=context)
        assert run.status == "running" and run.weblink == f"{fake.url}/runs/{run.id}"
        # A start retried with the same key is the same run.
        again = await WebhookWorkflow("s3cret").run(url, {"service": "api"}, key="k1", context=context)
        assert again.id == run.id and len(fake.runs) == 1
        fake.finish(run.id, "succeeded", [{"name": "Log", "weblink": "https://ci.example/1"}])
        read = await WebhookWorkflow("s3cret").get_instance(url, run.id)
        assert read.status == "succeeded" and [a.weblink for a in read.artifacts] == ["https://ci.example/1"]

        with pytest.raises(PluginAuthError, match=r"answered 401 to start the workflow.*check WEBHOOK_TOKEN"):
            await WebhookWorkflow(None).run(url, {}, key="k2", context=context)
        fake.slow("POST", "/hooks/", 1.0)
        with pytest.raises(PluginNoAnswer, match="did not answer to start the workflow"):
            await WebhookWorkflow("s3cret", timeout=0.2).run(url, {}, key="k3", context=context)


async def test_a_workflow_that_redirects_is_not_followed_and_its_token_goes_nowhere_else() -> None:
    from plugins.errors import PluginError
    from plugins.workflow.webhook import WebhookWorkflow

    async with FakeWorkflows() as elsewhere, FakeWorkflows(token="s3cret") as fake:
        fake.redirect_to = elsewhere.hook("collect")
        with pytest.raises(PluginError, match=r"answered a redirect to http://127\.0\.0\.1:\d+ .*point the"):
            await WebhookWorkflow("s3cret").run(
                fake.hook("restart"), {}, key="k1", context={"workflow": RESTART}
            )
        assert elsewhere.requests == []  # the request, and the token, stayed where the operator sent them


async def test_a_run_is_followed_at_the_status_url_its_system_gave() -> None:
    from plugins.workflow.webhook import WebhookWorkflow

    async with FakeWorkflows(token="s3cret", status_urls=True) as fake:
        plugin = WebhookWorkflow("s3cret")
        run = await plugin.run(fake.hook("restart"), {}, key="k1", context={"workflow": RESTART})
        assert run.status_url == f"{fake.url}/status/{run.id}"
        fake.finish(run.id, "failed")
        read = await plugin.get_instance(fake.hook("restart"), run.id, run.status_url)
        assert read.status == "failed" and read.status_url == run.status_url
        assert fake.requests[-1] == ("GET", f"/status/{run.id}")


SECRET = "s3cret"


def shown_anywhere(slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> str:
    """Everything the bot sent Slack (messages, modals) and logged at INFO or above."""
    sent = " ".join(str(call.args) for call in slack.calls)
    logged = " ".join(
        f"{record.getMessage()} {record.__dict__} {record.exc_text or ''}"
        for record in caplog.records
        if record.levelno >= logging.INFO
    )
    return sent + " " + logged


async def test_a_workflow_url_with_a_secret_never_reaches_slack_nor_the_logs(
    slack: FakeSlack, bot: BotProcess, workflows: FakeWorkflows, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Checkout errors")
    await add_workflows(bot, workflows, RESTART, "Flush cache")
    async with bot.ctx.sessions() as session:
        for workflow in (await session.exec(select(Workflow))).all():
            workflow.external_id += f"?token={SECRET}"
            session.add(workflow)
        await session.commit()

    # A start, then its run followed at the workflow URL (with its query).
    await run_form(slack, ada, channel)
    await slack.as_user(ada).select_in_view("workflow_chosen", RESTART)
    await slack.wait_for(lambda: "Reason" in str(open_modal(slack, ada)))
    await slack.as_user(ada).submit_view({"Reason": "Stuck pods"})
    await slack.wait_for(lambda: "started, status" in str(open_modal(slack, ada)), timeout=5)
    [run] = workflows.runs.values()
    workflows.finish(run.id, "completed")
    assert bot.scheduler is not None
    assert (await bot.scheduler.run_now("workflow-runs")).outcome.endswith(": 1 changed, 0 could not be read")
    assert ("GET", f"/hooks/restart-service/{run.id}") in workflows.requests

    # A start the system refuses with 500 (after the retries), and one it never answers in time.
    workflows.fail("POST", "/hooks/flush-cache", 500, times=10)
    await run_form(slack, ada, channel)
    await slack.as_user(ada).select_in_view("workflow_chosen", "Flush cache")
    await slack.wait_for(lambda: "Reason" in str(open_modal(slack, ada)))
    await slack.as_user(ada).submit_view({"Reason": "Stale cache"})
    await slack.wait_for(lambda: said(slack, channel, "Couldn't start the workflow"), timeout=10)
    [refused] = said(slack, channel, "Couldn't start the workflow")
    assert f"The workflow at {workflows.url} answered 500" in refused  # still says where and what

    workflows.injected.faults.clear()
    workflows.slow("POST", "/hooks/flush-cache", 1.0)
    from plugins.errors import PluginNoAnswer
    from plugins.workflow.webhook import WebhookWorkflow

    with pytest.raises(PluginNoAnswer) as unanswered:
        await WebhookWorkflow(timeout=0.2).run(
            workflows.hook("flush-cache") + f"?token={SECRET}", {}, key="k", context={}
        )
    assert SECRET not in str(unanswered.value) and "/hooks/" not in str(unanswered.value)
    assert workflows.url in str(unanswered.value)

    await slack.as_user(ada).slash_command("/dispatch-list-workflows", channel=channel)
    await slack.wait_for(lambda: "Workflows run for" in str(open_modal(slack, ada)))
    assert "answered 500" in str(open_modal(slack, ada))

    everything = shown_anywhere(slack, caplog)
    assert SECRET not in everything
    assert "/hooks/" not in everything


@pytest.mark.parametrize(
    "status_base",
    [
        "https://203.0.113.7",  # another host, not allowed
        "http://198.51.100.7",  # plain http to another host
        "https://169.254.169.254",  # link-local (cloud metadata)
        "https://10.1.2.3:8443",  # private
    ],
)
async def test_a_status_url_elsewhere_is_not_followed(status_base: str) -> None:
    from plugins.workflow.webhook import WebhookWorkflow

    # The addresses are refused before any connection; were one requested, the read would fail.
    async with FakeWorkflows(status_base=status_base) as fake:
        plugin = WebhookWorkflow(timeout=0.5, retries=0)
        run = await plugin.run(fake.hook("restart"), {}, key="k1", context={"workflow": RESTART})
        assert run.status_url is None
        fake.finish(run.id, "failed")
        read = await plugin.get_instance(fake.hook("restart"), run.id, f"{status_base}/status/{run.id}")
        assert read.status == "failed" and read.status_url is None
        assert fake.requests[-1] == ("GET", f"/hooks/restart/{run.id}")


async def test_a_status_url_on_an_allowed_origin_is_followed_and_plain_http_elsewhere_never() -> None:
    from plugins.workflow.webhook import WebhookWorkflow

    async with FakeWorkflows() as status_service, FakeWorkflows() as fake:
        fake.status_base = status_service.url
        # Not allowed: the other local service is never asked.
        run = await WebhookWorkflow().run(fake.hook("restart"), {}, key="k1", context={})
        assert run.status_url is None
        status_service.runs[run.id] = fake.runs[run.id]
        fake.finish(run.id, "failed")
        plain = await WebhookWorkflow().get_instance(
            fake.hook("restart"), run.id, f"{status_service.url}/status/{run.id}"
        )
        assert plain.status == "failed" and status_service.requests == []

        # Allowed (the same host, another port): followed there.
        allowed = WebhookWorkflow(status_origins=f" {status_service.url} , https://status.example")
        again = await allowed.run(fake.hook("restart"), {}, key="k1", context={})
        assert again.status_url == f"{status_service.url}/status/{run.id}"
        read = await allowed.get_instance(fake.hook("restart"), run.id, again.status_url)
        assert read.status == "failed" and status_service.requests == [("GET", f"/status/{run.id}")]

        # Plain http to another host is refused even when listed.
        listed_http = WebhookWorkflow(status_origins="http://192.0.2.1")
        refused = await listed_http.get_instance(
            fake.hook("restart"), run.id, f"http://192.0.2.1/status/{run.id}"
        )
        assert refused.status == "failed" and fake.requests[-1] == ("GET", f"/hooks/restart/{run.id}")
