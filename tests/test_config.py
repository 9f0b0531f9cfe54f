"""`config plan|apply|export` and the built-in defaults, on SQLite and PostgreSQL: output and rows."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot.cli.config import config_group
from bot.config.apply import apply, plan
from bot.config.checks import ConfigCheckError
from bot.config.defaults import default_config, seed_defaults_if_empty
from bot.config.loader import parse_config
from bot.config.schema import WorkspaceConfig
from bot.settings import Settings
from storage.db import SessionFactory, create_engine, is_sqlite, session_factory
from storage.models import (
    IncidentPriority,
    IncidentType,
    Notification,
    Project,
    RoleDefinition,
    RolePolicy,
    Service,
    Tag,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "config.yaml"

SMALL = textwrap.dedent("""\
    projects:
      - name: Default
        prefix: INC
        priorities:
          - {name: Low, view_order: 1, tactical_report_reminder_hours: 12}
          - {name: High, view_order: 2, tactical_report_reminder_hours: 2, page_commander: true}
        notifications:
          - name: all-incidents
            target: "#incidents"
          - name: sec-alerts
            target: "#security"
            filters: {priority: [High]}
""")


RESOLUTION_REASONS = (
    "Benign",
    "Contained",
    "Escalated",
    "False Positive",
    "Information Gathered",
    "Insufficient Information",
    "Mitigated",
    "Operational Error",
    "Policy Violation",
    "User Acknowledged",
)
CASE_PRIORITIES = ("Low", "Medium", "High", "Critical", "Optional")
CASE_SEVERITIES = ("Undetermined", "Low", "Medium", "High")


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(config_group, list(args), obj=Settings(database_url=url))


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def fetch(url: str, statement: Any) -> list[Any]:
    """Rows as the database holds them, read with a fresh engine as another process would."""

    async def read() -> list[Any]:
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session:
                return list((await session.exec(statement)).all())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def load(text: str) -> WorkspaceConfig:
    result = parse_config(text)
    assert result.config is not None, result.rendered_errors()
    return result.config


def test_plan_on_an_empty_database_lists_creations_and_writes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    result = run(database_url, "plan", write(tmp_path, SMALL))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:6] == [
        "+ create role 'Incident Commander'",
        "+ create role 'Scribe'",
        "+ create role 'Liaison'",
        "+ create role 'Reporter'",
        "+ create role 'Participant'",
        "+ create role 'Observer'",
    ]
    # The file says nothing about cases, so the built-in case configuration comes with it.
    assert lines[6:16] == [f"+ create resolution reason {name!r}" for name in RESOLUTION_REASONS]
    assert lines[16:21] == [
        "+ create project 'Default'",
        "+ create priority 'Low' (project Default)",
        "+ create priority 'High' (project Default)",
        "+ create notification 'all-incidents' (project Default)",
        "+ create notification 'sec-alerts' (project Default)",
    ]
    assert lines[21:31] == [
        "+ create case type 'General' (project Default)",
        *(f"+ create case priority {name!r} (project Default)" for name in CASE_PRIORITIES),
        *(f"+ create case severity {name!r} (project Default)" for name in CASE_SEVERITIES),
    ]
    assert lines[31].startswith("Plan: 31 to create, 0 to update, 0 to disable.")
    assert fetch(database_url, select(Project)) == []


def test_apply_creates_rows_and_a_second_apply_changes_nothing(database_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, SMALL)
    first = run(database_url, "apply", path)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-1] == "Applied: 31 created, 0 updated, 0 disabled."

    priorities = fetch(database_url, select(IncidentPriority).order_by(col(IncidentPriority.view_order)))
    assert [(p.name, p.tactical_report_reminder_hours, p.page_commander, p.enabled) for p in priorities] == [
        ("Low", 12, False, True),
        ("High", 2, True, True),
    ]
    notifications = {n.name: n for n in fetch(database_url, select(Notification))}
    assert notifications["sec-alerts"].target == "security"
    assert notifications["sec-alerts"].filters == {"priority": ["High"]}
    assert notifications["all-incidents"].filters == {}

    second = run(database_url, "apply", path)
    assert second.exit_code == 0
    assert second.stdout == "Nothing to change.\n"
    assert run(database_url, "plan", path).stdout == "Nothing to change.\n"


def test_a_changed_field_is_planned_and_applied_as_an_update(database_url: str, tmp_path: Path) -> None:
    assert run(database_url, "apply", write(tmp_path, SMALL)).exit_code == 0
    changed = write(tmp_path, SMALL.replace("reminder_hours: 2,", "reminder_hours: 3,"))
    planned = run(database_url, "plan", changed)
    assert planned.stdout.splitlines()[0] == (
        "~ update priority 'High' (project Default): tactical_report_reminder_hours 2 → 3"
    )
    applied = run(database_url, "apply", changed)
    assert applied.stdout.splitlines() == [
        "~ update priority 'High' (project Default): tactical_report_reminder_hours 2 → 3",
        "Applied: 0 created, 1 updated, 0 disabled.",
    ]
    high = fetch(database_url, select(IncidentPriority).where(IncidentPriority.name == "High"))
    assert high[0].tactical_report_reminder_hours == 3


def test_removing_an_item_disables_it_and_adding_it_back_enables_it(
    database_url: str, tmp_path: Path
) -> None:
    assert run(database_url, "apply", write(tmp_path, SMALL)).exit_code == 0
    without = SMALL.split("      - name: sec-alerts")[0]
    result = run(database_url, "apply", write(tmp_path, without, "without.yaml"))
    assert result.stdout.splitlines() == [
        "- disable notification 'sec-alerts' (project Default, not in file)",
        "Applied: 0 created, 0 updated, 1 disabled.",
    ]
    rows = {n.name: n.enabled for n in fetch(database_url, select(Notification))}
    assert rows == {"all-incidents": True, "sec-alerts": False}
    again = run(database_url, "apply", write(tmp_path, without, "without.yaml"))
    assert again.stdout == "Nothing to change.\n"

    back = run(database_url, "apply", write(tmp_path, SMALL))
    assert back.stdout.splitlines()[0] == (
        "~ update notification 'sec-alerts' (project Default): enabled false → true"
    )
    assert len(fetch(database_url, select(Notification))) == 2


def test_the_example_round_trips_through_export(database_url: str, tmp_path: Path) -> None:
    applied = run(database_url, "apply", str(EXAMPLE))
    assert applied.exit_code == 0, applied.output
    exported = run(database_url, "export")
    assert exported.exit_code == 0, exported.output
    path = write(tmp_path, exported.stdout, "exported.yaml")
    assert run(database_url, "validate", path).exit_code == 0
    assert run(database_url, "apply", path).stdout == "Nothing to change.\n"

    data = yaml.safe_load(exported.stdout)
    default = data["projects"][0]
    assert default["name"] == "default"
    assert default["role_policies"][0] == {
        "name": "Outage commander",
        "role": "Incident Commander",
        "incident_types": ["Service Outage"],
        "incident_priorities": ["High", "Medium"],
        "service": "SRE primary",
    }
    assert default["notifications"][0] == {
        "name": "all-incidents",
        "description": "Every open incident, as it is declared and updated.",
        "target": "incidents",
    }
    assert [tag["name"] for tag in default["tag_types"][1]["tags"]] == ["deploy", "capacity", "third party"]
    assert default["plugins"]["oncall"] == {
        "plugin": "pagerduty",
        "options": {"api_url": "https://api.pagerduty.com"},
    }
    assert default["plugins"]["ticket"] == {"plugin": "builtin-ticket"}
    assert len(default["plugins"]) == 8
    assert data["projects"][1]["plugins"] == {
        "oncall": {"plugin": "pagerduty"},
        "ticket": {"plugin": "jira", "options": {"project_key": "SEC"}},
    }


def test_plugin_choices_are_planned_applied_and_stored(database_url: str, tmp_path: Path) -> None:
    assert run(database_url, "apply", write(tmp_path, SMALL)).exit_code == 0
    with_plugins = SMALL.replace(
        "    prefix: INC\n",
        "    prefix: INC\n    plugins:\n      oncall: {plugin: pagerduty, options: {sleep_seconds: 1}}\n",
    )
    planned = run(database_url, "plan", write(tmp_path, with_plugins))
    assert planned.exit_code == 0, planned.output
    assert planned.stdout.splitlines()[0] == (
        "~ update project 'Default': plugins {} → "
        '{"oncall": {"options": {"sleep_seconds": 1}, "plugin": "pagerduty"}}'
    )
    assert fetch(database_url, select(Project.plugins)) == [{}]

    assert run(database_url, "apply", write(tmp_path, with_plugins)).exit_code == 0
    assert fetch(database_url, select(Project.plugins)) == [
        {"oncall": {"plugin": "pagerduty", "options": {"sleep_seconds": 1}}}
    ]
    assert run(database_url, "apply", write(tmp_path, with_plugins)).stdout == "Nothing to change.\n"
    # Dropping the section turns the plugins off again.
    assert run(database_url, "apply", write(tmp_path, SMALL)).exit_code == 0
    assert fetch(database_url, select(Project.plugins)) == [{}]


def test_references_are_stored_as_rows(database_url: str) -> None:
    result = run(database_url, "apply", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    services = {s.id: s.name for s in fetch(database_url, select(Service))}
    policies = {p.name: p for p in fetch(database_url, select(RolePolicy))}
    assert services[policies["Outage commander"].service_id] == "SRE primary"
    assert policies["Simulation scribe"].service_id is None
    assert policies["Simulation scribe"].individual_email == "game-day-host@example.com"
    general = fetch(database_url, select(IncidentType).where(IncidentType.name == "General"))[0]
    assert (general.incident_template, general.is_default) == ("Incident document template", True)
    assert len(fetch(database_url, select(Tag).where(col(Tag.enabled)))) == 6


async def test_moving_a_policy_and_dropping_a_tag_type(sessions: SessionFactory) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    async with sessions() as session:
        await apply(session, load(text))
        await session.commit()
    changed = text.replace("        service: SRE primary\n", "        service: Database on-call\n")
    cause_start = changed.index("      - name: Cause")
    changed = changed[:cause_start] + changed[changed.index("    # Runbooks are suggested") :]
    async with sessions() as session:
        changes = await plan(session, load(changed))
    assert changes.lines() == [
        "~ update role policy 'Outage commander' (project default): "
        "service 'SRE primary' → 'Database on-call'",
        "- disable tag type 'Cause' (project default, not in file)",
        "- disable tag 'deploy' (tag type Cause, project default, not in file)",
        "- disable tag 'capacity' (tag type Cause, project default, not in file)",
        "- disable tag 'third party' (tag type Cause, project default, not in file)",
    ]
    async with sessions() as session:
        assert (await apply(session, load(changed))).lines() == changes.lines()
        await session.commit()
    async with sessions() as session:
        assert not await plan(session, load(changed))
        policy = (await session.exec(select(RolePolicy).where(RolePolicy.name == "Outage commander"))).one()
        service = await session.get(Service, policy.service_id)
        assert service is not None and service.name == "Database on-call"


async def test_renaming_only_the_case_updates_the_row(sessions: SessionFactory) -> None:
    async with sessions() as session:
        await apply(session, load(SMALL))
        await session.commit()
    async with sessions() as session:
        changes = await apply(session, load(SMALL.replace("name: High,", "name: HIGH,")))
        await session.commit()
    assert changes.lines() == ["~ update priority 'High' (project Default): name 'High' → 'HIGH'"]


async def test_apply_refuses_a_config_that_fails_the_cross_checks(sessions: SessionFactory) -> None:
    config = load(SMALL)
    config.projects[0].priorities[1].default = True
    config.projects[0].priorities[0].default = True
    async with sessions() as session:
        with pytest.raises(ConfigCheckError, match="only one priority can be the default"):
            await apply(session, config)


async def test_seed_defaults_if_empty_seeds_once(sessions: SessionFactory) -> None:
    assert await seed_defaults_if_empty(sessions) is True
    assert await seed_defaults_if_empty(sessions) is False
    async with sessions() as session:
        projects = (await session.exec(select(Project))).all()
        assert [(p.name, p.prefix, p.is_default) for p in projects] == [("default", "INC", True)]
        priorities = (
            await session.exec(select(IncidentPriority).order_by(col(IncidentPriority.view_order)))
        ).all()
        assert [
            (
                p.name,
                p.tactical_report_reminder_hours,
                p.executive_report_reminder_hours,
                p.page_commander,
                p.is_default,
            )
            for p in priorities
        ] == [("Low", 12, None, False, False), ("Medium", 6, 12, False, True), ("High", 2, 6, True, False)]
        roles = (await session.exec(select(RoleDefinition))).all()
        assert {r.name: r.cost_multiplier for r in roles} == {
            "Incident Commander": 1.0,
            "Scribe": 0.75,
            "Liaison": 0.75,
            "Reporter": 0.5,
            "Participant": 0.5,
            "Observer": 0.0,
        }
        assert not await plan(session, default_config())


async def test_seed_defaults_leaves_a_configured_database_alone(sessions: SessionFactory) -> None:
    async with sessions() as session:
        await apply(session, load(SMALL))
        await session.commit()
    assert await seed_defaults_if_empty(sessions) is False
    async with sessions() as session:
        assert [p.name for p in (await session.exec(select(Project))).all()] == ["Default"]


def test_an_unmigrated_database_gives_a_one_line_error(empty_database_url: str, tmp_path: Path) -> None:
    database = make_url(empty_database_url).database
    if is_sqlite(empty_database_url) and database:
        Path(database).touch()  # an empty file is an SQLite database without tables
    for args in (["plan", write(tmp_path, SMALL)], ["apply", write(tmp_path, SMALL)], ["export"]):
        result = run(empty_database_url, *args)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr.startswith("Error: The database at ")
        assert result.stderr.rstrip().endswith(
            "is not at the latest migration. Run `dispatch-bot db upgrade`."
        )
        assert len(result.stderr.splitlines()) == 1


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nothing-here.db'}"
    result = run(url, "export")
    assert result.exit_code == 1
    assert "There is no database at" in result.stderr and "dispatch-bot db upgrade" in result.stderr
    assert not (tmp_path / "nothing-here.db").exists()


def test_plan_refuses_an_invalid_file_before_touching_the_database(tmp_path: Path) -> None:
    result = run("sqlite+aiosqlite:///unused.db", "plan", write(tmp_path, "projects: [{name: x}]\n"))
    assert result.exit_code == 1
    assert "projects[0].prefix: missing required key 'prefix'" in result.stderr


def test_export_of_an_empty_database_says_so(database_url: str) -> None:
    result = run(database_url, "export")
    assert result.exit_code == 0
    assert "no projects yet" in result.stderr
    assert yaml.safe_load(result.stdout)["projects"] == []
