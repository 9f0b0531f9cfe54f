"""The `cost_models` config section: checked with paths, applied once, exported back, on both engines."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import yaml
from sqlmodel import select

from storage.costs import response_cost_type
from storage.db import create_engine, session_factory
from storage.models import CostModel, IncidentCostType, IncidentType, Project
from tests.test_config import fetch, run, write
from tests.test_config_validate import line_of, validate

MODELS = textwrap.dedent("""\
    projects:
      - name: Default
        prefix: INC
        incident_types:
          - {name: General, default: true}
          - {name: Game day, cost_model: Chatty}
        cost_models:
          - name: chatty
            description: Five minutes per message, two per thread reply.
            activities:
              - {kind: slack_channel_activity, response_time_seconds: 300}
              - {kind: slack_thread_activity, response_time_seconds: 120, enabled: false}
          - name: Paused
            enabled: false
            activities: [{kind: slack_channel_activity, response_time_seconds: 60}]
""")


MISTAKES = textwrap.dedent("""\
    projects:
      - name: default
        prefix: INC
        incident_types:
          - {name: General, cost_model: activty}
        cost_models:
          - name: activity
            activities:
              - {kind: slack_channel_activity, response_time_seconds: 300}
              - {kind: slack_channel_activity, response_time_seconds: 60}
          - name: Activity
""")


def test_cost_model_mistakes_name_their_path_and_line(tmp_path: Path) -> None:
    text = MISTAKES + "        activities: [{kind: slack_reaction, response_time_seconds: 0}]\n"
    result = validate(tmp_path, text)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    models = "projects[0].cost_models"
    assert f"config.yaml:{line_of(text, 'slack_reaction')}: {models}[1].activities[0].kind: " in "\n".join(
        errors
    )
    assert any(
        f"{models}[1].activities[0].response_time_seconds" in e and "greater than or equal to 1" in e
        for e in errors
    )
    assert errors[-1].startswith("✗ config.yaml has")
    # The schema errors of the second model hide nothing of the first.
    partial = MISTAKES
    errors = validate(tmp_path, partial).stderr.splitlines()
    assert errors[:-1] == [
        f"config.yaml:{line_of(partial, 'activty')}: projects[0].incident_types[0].cost_model: unknown cost "
        "model 'activty' (known: activity, Activity)",
        f"config.yaml:{line_of(partial, 'seconds: 60')}: {models}[0].activities[1].kind: duplicate activity "
        "'slack_channel_activity' (also at activities[0])",
        f"config.yaml:{line_of(partial, 'name: Activity')}: {models}[1].name: duplicate cost model name "
        "'Activity' (also at cost_models[0])",
    ]


def test_cost_models_are_applied_once_and_exported_back(database_url: str, tmp_path: Path) -> None:
    first = run(database_url, "apply", write(tmp_path, MODELS))
    assert first.exit_code == 0, first.output
    assert "+ create cost model 'chatty' (project Default)" in first.stdout
    models = {m.name: m for m in fetch(database_url, select(CostModel))}
    assert {name: (m.active, m.enabled) for name, m in models.items()} == {
        "chatty": (True, True),
        "Paused": (False, True),
    }
    assert models["chatty"].activities == [
        {"kind": "slack_channel_activity", "response_time_seconds": 300, "enabled": True},
        {"kind": "slack_thread_activity", "response_time_seconds": 120, "enabled": False},
    ]
    # The type names the model as the model spells itself.
    types = {t.name: t.cost_model for t in fetch(database_url, select(IncidentType))}
    assert types == {"General": None, "Game day": "chatty"}
    assert run(database_url, "apply", write(tmp_path, MODELS)).stdout == "Nothing to change.\n"

    changed = MODELS.replace("response_time_seconds: 300", "response_time_seconds: 240")
    planned = run(database_url, "plan", write(tmp_path, changed, "changed.yaml")).stdout.splitlines()
    assert planned[0].startswith("~ update cost model 'chatty' (project Default): activities ")

    exported = run(database_url, "export")
    assert exported.exit_code == 0, exported.output
    data = yaml.safe_load(exported.stdout)
    assert data["projects"][0]["cost_models"][1] == {
        "name": "Paused",
        "enabled": False,
        "activities": [{"kind": "slack_channel_activity", "response_time_seconds": 60}],
    }
    path = write(tmp_path, exported.stdout, "exported.yaml")
    assert run(database_url, "apply", path).stdout == "Nothing to change.\n"

    without = MODELS.split("      - name: Paused")[0]
    removed = run(database_url, "apply", write(tmp_path, without, "without.yaml"))
    assert removed.stdout.splitlines() == [
        "- disable cost model 'Paused' (project Default, not in file)",
        "Applied: 0 created, 0 updated, 1 disabled.",
    ]


def test_cost_types_people_add_to_are_configured_and_the_computed_one_is_left_alone(
    database_url: str, tmp_path: Path
) -> None:
    reserved = MODELS + "    cost_types: [{name: response cost}]\n"
    refused = run(database_url, "validate", write(tmp_path, reserved, "reserved.yaml"))
    assert refused.exit_code == 1
    assert "projects[0].cost_types[0].name: 'Response Cost' is the cost the bot computes" in refused.output

    text = MODELS + "    cost_types:\n      - {name: Vendor support, description: Paid support calls.}\n"
    assert run(database_url, "apply", write(tmp_path, text)).exit_code == 0

    async def computed_type() -> None:
        engine = create_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                project = (await session.exec(select(Project))).one()
                assert project.id is not None
                await response_cost_type(session, project.id)
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(computed_type())
    assert run(database_url, "apply", write(tmp_path, text)).stdout == "Nothing to change.\n"
    types = {t.name: (t.editable, t.enabled) for t in fetch(database_url, select(IncidentCostType))}
    assert types == {"Vendor support": (True, True), "Response Cost": (False, True)}
    exported = yaml.safe_load(run(database_url, "export").stdout)
    assert exported["projects"][0]["cost_types"] == [
        {"name": "Vendor support", "description": "Paid support calls."}
    ]
    removed = run(database_url, "apply", write(tmp_path, MODELS, "without.yaml"))
    assert "- disable cost type 'Vendor support' (project Default, not in file)" in removed.stdout
