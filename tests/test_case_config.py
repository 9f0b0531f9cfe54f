"""Case and signal configuration: checked with path and line, applied and read back, built in when absent."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from sqlalchemy import delete
from sqlmodel import col, select

from bot.config.apply import apply
from bot.config.defaults import seed_case_defaults_if_missing, seed_defaults_if_empty
from storage.db import SessionFactory
from storage.models import (
    CasePriority,
    CaseResolutionReason,
    CaseSeverity,
    CaseType,
    IncidentType,
    Project,
    Service,
    SignalDefinition,
)
from tests.test_config import CASE_PRIORITIES, CASE_SEVERITIES, RESOLUTION_REASONS, fetch, load, run, write
from tests.test_config_validate import line_of, validate

CASES = textwrap.dedent("""\
    projects:
      - name: Default
        prefix: INC
        incident_types:
          - {name: General, default: true}
          - {name: Service Outage}
        services:
          - {name: SRE primary, external_id: PSRE}
          - {name: DBA, external_id: PDBA}
        case_types:
          - name: Alert triage
            description: An alert someone should look at.
            oncall_service: sre PRIMARY
            conversation_target: "#sre-triage"
            incident_type: service outage
            default: true
          - name: Customer report
            visibility: restricted
            auto_close: true
            enabled: false
        case_priorities:
          - {name: Low, view_order: 1, default: true}
          - {name: Critical, view_order: 2, page_assignee: true, delayed_message_warning: false}
        case_severities:
          - {name: Unknown, default: true}
          - {name: Bad, color: "#e53935"}
        signals:
          - name: Replication lag
            external_id: grafana-replication-lag
            variant: production
            case_type: alert triage
            case_priority: critical
            dedupe_window_minutes: 30
            conversation_target: db-alerts
            match_pattern: "(?i)replication lag"
            entity_types:
              - {name: Host, json_path: "$.labels.instance"}
              - {name: Commit, regex: '[0-9a-f]{40}', description: A git commit.}
              - {name: Address, json_path: "$.client", regex: '\\d+\\.\\d+\\.\\d+\\.\\d+'}
          - name: Deploy finished
            create_case: false
""")


def test_case_and_signal_config_is_applied_and_read_back(database_url: str, tmp_path: Path) -> None:
    first = run(database_url, "apply", write(tmp_path, CASES))
    assert first.exit_code == 0, first.output
    assert "+ create case type 'Alert triage' (project Default)" in first.stdout
    assert "+ create signal definition 'Replication lag' (project Default)" in first.stdout

    services = {s.id: s.name for s in fetch(database_url, select(Service))}
    incident_types = {t.id: t.name for t in fetch(database_url, select(IncidentType))}
    types = {t.name: t for t in fetch(database_url, select(CaseType))}
    triage, report = types["Alert triage"], types["Customer report"]
    # References are stored as the rows they name, however the file cased them.
    assert services[triage.oncall_service_id] == "SRE primary"
    assert incident_types[triage.incident_type_id] == "Service Outage"
    assert (triage.conversation_target, triage.visibility, triage.is_default, triage.active) == (
        "sre-triage",
        "open",
        True,
        True,
    )
    assert (report.oncall_service_id, report.incident_type_id, report.conversation_target) == (
        None,
        None,
        None,
    )
    assert (report.visibility, report.auto_close, report.active, report.enabled) == (
        "restricted",
        True,
        False,  # switched off in the file: not offered for new cases
        True,  # but still in the file
    )

    priorities = fetch(database_url, select(CasePriority).order_by(col(CasePriority.view_order)))
    assert [(p.name, p.page_assignee, p.delayed_message_warning, p.is_default) for p in priorities] == [
        ("Low", False, True, True),
        ("Critical", True, False, False),
    ]
    severities = fetch(database_url, select(CaseSeverity).order_by(col(CaseSeverity.id)))
    assert [(s.name, s.color, s.is_default) for s in severities] == [
        ("Unknown", None, True),
        ("Bad", "#e53935", False),
    ]
    reasons = fetch(database_url, select(CaseResolutionReason).order_by(col(CaseResolutionReason.id)))
    assert [r.name for r in reasons] == list(RESOLUTION_REASONS)
    assert all(r.description for r in reasons)

    signals = {s.name: s for s in fetch(database_url, select(SignalDefinition))}
    lag = signals["Replication lag"]
    assert lag.case_type_id == triage.id
    assert lag.case_priority_id == priorities[1].id
    assert (lag.external_id, lag.variant, lag.create_case, lag.dedupe_window_minutes) == (
        "grafana-replication-lag",
        "production",
        True,
        30,
    )
    assert (lag.conversation_target, lag.match_pattern) == ("db-alerts", "(?i)replication lag")
    assert lag.entity_types == [
        {"name": "Host", "description": "", "json_path": "$.labels.instance", "regex": None},
        {"name": "Commit", "description": "A git commit.", "json_path": None, "regex": "[0-9a-f]{40}"},
        {"name": "Address", "description": "", "json_path": "$.client", "regex": r"\d+\.\d+\.\d+\.\d+"},
    ]
    deploy = signals["Deploy finished"]
    assert (deploy.external_id, deploy.case_type_id, deploy.create_case, deploy.dedupe_window_minutes) == (
        None,
        None,
        False,
        60,
    )

    assert run(database_url, "apply", write(tmp_path, CASES)).stdout == "Nothing to change.\n"


def test_case_config_changes_are_planned_and_removals_disable(database_url: str, tmp_path: Path) -> None:
    assert run(database_url, "apply", write(tmp_path, CASES)).exit_code == 0
    changed = (
        CASES.replace("oncall_service: sre PRIMARY", "oncall_service: DBA")
        .replace("case_priority: critical", "case_priority: Low")
        .split("      - name: Deploy finished")[0]
    )
    planned = run(database_url, "plan", write(tmp_path, changed, "changed.yaml"))
    assert planned.stdout.splitlines()[:-1] == [
        "~ update case type 'Alert triage' (project Default): oncall_service 'SRE primary' → 'DBA'",
        "~ update signal definition 'Replication lag' (project Default): case_priority 'Critical' → 'Low'",
        "- disable signal definition 'Deploy finished' (project Default, not in file)",
    ]
    assert run(database_url, "apply", write(tmp_path, changed, "changed.yaml")).exit_code == 0
    services = {s.name: s.id for s in fetch(database_url, select(Service))}
    triage = fetch(database_url, select(CaseType).where(CaseType.name == "Alert triage"))[0]
    assert triage.oncall_service_id == services["DBA"]
    signals = {s.name: s.enabled for s in fetch(database_url, select(SignalDefinition))}
    assert signals == {"Replication lag": True, "Deploy finished": False}

    # Leaving the case lists out brings the built-in ones back; the configured rows are disabled.
    bare = "projects:\n  - name: Default\n    prefix: INC\n"
    lines = run(database_url, "apply", write(tmp_path, bare, "bare.yaml")).stdout.splitlines()
    assert "+ create case type 'General' (project Default)" in lines
    assert "- disable case type 'Alert triage' (project Default, not in file)" in lines
    assert "- disable case severity 'Unknown' (project Default, not in file)" in lines


def test_case_config_round_trips_through_export(database_url: str, tmp_path: Path) -> None:
    assert run(database_url, "apply", write(tmp_path, CASES)).exit_code == 0
    exported = run(database_url, "export")
    assert exported.exit_code == 0, exported.output
    data = yaml.safe_load(exported.stdout)
    assert [r["name"] for r in data["case_resolution_reasons"]] == list(RESOLUTION_REASONS)
    project = data["projects"][0]
    assert project["case_types"] == [
        {
            "name": "Alert triage",
            "description": "An alert someone should look at.",
            "oncall_service": "SRE primary",
            "conversation_target": "sre-triage",
            "incident_type": "Service Outage",
            "default": True,
        },
        {"name": "Customer report", "visibility": "restricted", "auto_close": True, "enabled": False},
    ]
    assert project["signals"][0]["case_type"] == "Alert triage"
    assert project["signals"][0]["case_priority"] == "Critical"
    assert project["signals"][0]["entity_types"][0] == {"name": "Host", "json_path": "$.labels.instance"}
    assert project["signals"][1] == {"name": "Deploy finished", "create_case": False}
    path = write(tmp_path, exported.stdout, "exported.yaml")
    assert run(database_url, "validate", path).exit_code == 0
    assert run(database_url, "apply", path).stdout == "Nothing to change.\n"


def test_the_example_file_declares_cases_and_signals(database_url: str) -> None:
    assert (
        run(database_url, "apply", str(Path(__file__).parent.parent / "examples" / "config.yaml")).exit_code
        == 0
    )
    projects = {p.id: p.name for p in fetch(database_url, select(Project))}
    types = {(projects[t.project_id], t.name): t for t in fetch(database_url, select(CaseType))}
    assert set(types) == {
        ("default", "Alert triage"),
        ("default", "Customer report"),
        ("security", "Suspicious login"),
        ("security", "Security notice"),
    }
    assert types[("security", "Suspicious login")].visibility == "restricted"
    assert types[("security", "Security notice")].auto_close
    priorities = fetch(database_url, select(CasePriority))
    # The default project keeps the built-in priorities, the security project lists its own.
    assert sorted(p.name for p in priorities if projects[p.project_id] == "default") == sorted(
        CASE_PRIORITIES
    )
    assert sorted(p.name for p in priorities if projects[p.project_id] == "security") == [
        "Critical",
        "High",
        "Low",
    ]
    signals = {s.external_id for s in fetch(database_url, select(SignalDefinition))}
    assert signals == {
        "grafana-db-replication-lag",
        "deploy-finished",
        "idp-impossible-travel",
        "idp-admin-granted",
    }


MISTAKES = textwrap.dedent("""\
    case_resolution_reasons:
      - {name: Benign}
      - {name: benign}
    projects:
      - name: Default
        prefix: INC
        incident_types: [{name: General}]
        services: [{name: SRE primary, external_id: PSRE}]
        case_types:
          - name: Alert triage
            oncall_service: SRE secondary
            incident_type: Outage
            default: true
            enabled: false
          - name: Parked
            enabled: false
          - name: Noise
        case_priorities:
          - {name: Low, default: true}
          - {name: High, default: true}
        case_severities:
          - {name: Unknown}
        signals:
          - name: Lag
            external_id: lag
            case_type: Alert triages
            case_priority: Urgent
            entity_types:
              - {name: Host, json_path: "$.host"}
              - {name: host, regex: "h.*"}
              - {name: Nothing}
          - name: Lag again
            external_id: lag
            case_type: Parked
          - name: lag
""")


def test_case_and_signal_mistakes_name_their_path_and_line(tmp_path: Path) -> None:
    result = validate(tmp_path, MISTAKES)
    assert result.exit_code == 1
    at = "projects[0]"
    signal = f"{at}.signals[0]"
    assert result.stderr.splitlines() == [
        "config.yaml:1: case_resolution_reasons: missing built-in resolution reasons 'Escalated', "
        "'User Acknowledged': the bot closes escalated cases as Escalated and auto_close cases as User "
        "Acknowledged; list them, or leave case_resolution_reasons: out to get the defaults",
        "config.yaml:3: case_resolution_reasons[1].name: duplicate resolution reason 'benign' "
        "(also at case_resolution_reasons[0])",
        f"config.yaml:{line_of(MISTAKES, 'SRE secondary')}: {at}.case_types[0].oncall_service: unknown "
        "on-call service 'SRE secondary' (known: SRE primary)",
        f"config.yaml:{line_of(MISTAKES, 'incident_type: Outage')}: {at}.case_types[0].incident_type: "
        "unknown incident type 'Outage' (known: General)",
        f"config.yaml:{line_of(MISTAKES, 'enabled: false')}: {at}.case_types[0].enabled: the default case "
        "type cannot be disabled; make another one the default",
        f"config.yaml:{line_of(MISTAKES, 'name: High')}: {at}.case_priorities[1].default: only one case "
        "priority can be the default; 'Low' (case_priorities[0]) already is",
        f"config.yaml:{line_of(MISTAKES, 'case_severities:')}: {at}.case_severities: one case severity must "
        "be the default (default: true); leave case_severities: out to get the built-in ones",
        f"config.yaml:{line_of(MISTAKES, 'Alert triages')}: {signal}.case_type: unknown case type "
        "'Alert triages' (known: Noise)",
        f"config.yaml:{line_of(MISTAKES, 'Urgent')}: {signal}.case_priority: unknown case priority 'Urgent' "
        "(known: Low, High)",
        f"config.yaml:{line_of(MISTAKES, 'name: host')}: {signal}.entity_types[1].name: duplicate entity "
        "type name in 'Lag' 'host' (also at entity_types[0])",
        f"config.yaml:{line_of(MISTAKES, 'name: Nothing')}: {signal}.entity_types[2]: entity type 'Nothing' "
        "needs a json_path, a regex, or both",
        f"config.yaml:{line_of(MISTAKES, 'external_id: lag', 2)}: {at}.signals[1].external_id: duplicate "
        "signal external_id 'lag' (also at signals[0])",
        f"config.yaml:{line_of(MISTAKES, 'case_type: Parked')}: {at}.signals[1].case_type: case type "
        "'Parked' is disabled, so no case could be opened (known: Noise)",
        f"config.yaml:{line_of(MISTAKES, '- name: lag')}: {at}.signals[2].name: duplicate signal name 'lag' "
        "(also at signals[0])",
        "✗ config.yaml has 14 errors.",
    ]


@pytest.mark.parametrize(
    ("snippet", "path", "message"),
    [
        (
            "case_types: [{name: T, default: true, conversation_target: '#sre triage'}]",
            "case_types[0].conversation_target",
            "'#sre triage' is not a Slack channel name or id",
        ),
        (
            "case_types: [{name: T, default: true, oncall_servce: SRE}]",
            "case_types[0].oncall_servce",
            "unknown key 'oncall_servce' (did you mean 'oncall_service'?)",
        ),
        (
            "case_types: [{name: T, default: true, visibility: secret}]",
            "case_types[0].visibility",
            "Input should be 'open' or 'restricted'",
        ),
        (
            "case_priorities: [{name: Low, default: true, color: red}]",
            "case_priorities[0].color",
            "'red' is not a colour; write it as #RRGGBB",
        ),
        ("case_types: []", "case_types", "one case type must be the default (default: true)"),
        (
            "signals: [{name: S, entity_types: [{name: E, regex: '(unclosed'}]}]",
            "signals[0].entity_types[0].regex",
            "'(unclosed' is not a valid regular expression: missing ), unterminated subpattern at position 0",
        ),
        (
            "signals: [{name: S, entity_types: [{name: E, json_path: '$.labels['}]}]",
            "signals[0].entity_types[0].json_path",
            "'$.labels[' is not a valid JSON path: unexpected end of query; write it like $.labels.instance",
        ),
        (
            "signals: [{name: S, entity_types: [{name: E, json_path: 'labels.host'}]}]",
            "signals[0].entity_types[0].json_path",
            "'labels.host' is not a valid JSON path: it starts with $, as in $.labels.instance",
        ),
        (
            "signals: [{name: S, match_pattern: '[a-'}]",
            "signals[0].match_pattern",
            "'[a-' is not a valid regular expression: unterminated character set at position 0",
        ),
        (
            "signals: [{name: S, dedupe_window_minutes: -5}]",
            "signals[0].dedupe_window_minutes",
            "Input should be greater than or equal to 0",
        ),
        (
            "signals: [{name: S, create_case: sometimes}]",
            "signals[0].create_case",
            "Input should be a valid boolean",
        ),
    ],
)
def test_case_and_signal_fields_are_checked(tmp_path: Path, snippet: str, path: str, message: str) -> None:
    text = f"projects:\n  - name: default\n    prefix: INC\n    {snippet}\n"
    errors = validate(tmp_path, text).stderr.splitlines()
    assert len(errors) == 2, errors
    assert errors[0].startswith(f"config.yaml:4: projects[0].{path}: "), errors[0]
    assert message in errors[0]


def test_a_bad_regex_hides_no_other_problem_of_its_project(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        projects:
          - name: default
            prefix: INC
            signals:
              - name: S
                case_type: Nope
                entity_types: [{name: E, regex: "(unclosed"}]
    """)
    errors = validate(tmp_path, text).stderr.splitlines()
    assert errors[:-1] == [
        "config.yaml:6: projects[0].signals[0].case_type: unknown case type 'Nope' (known: General)",
        "config.yaml:7: projects[0].signals[0].entity_types[0].regex: '(unclosed' is not a valid regular "
        "expression: missing ), unterminated subpattern at position 0",
    ]


def test_an_invalid_default_is_not_taken_for_a_missing_one(tmp_path: Path) -> None:
    text = "projects:\n  - name: default\n    prefix: INC\n    case_types: [{name: T, default: maybe}]\n"
    errors = validate(tmp_path, text).stderr.splitlines()
    assert errors == [
        "config.yaml:4: projects[0].case_types[0].default: Input should be a valid boolean, "
        "unable to interpret input",
        "✗ config.yaml has 1 error.",
    ]


def test_a_project_without_case_config_gets_the_built_in_one() -> None:
    config = load("projects:\n  - {name: default, prefix: INC}\n")
    project = config.projects[0]
    assert [(t.name, t.default, t.enabled) for t in project.case_types] == [("General", True, True)]
    assert [(p.name, p.default, p.page_assignee) for p in project.case_priorities] == [
        ("Low", True, False),
        ("Medium", False, False),
        ("High", False, False),
        ("Critical", False, True),
        ("Optional", False, False),
    ]
    assert [s.name for s in project.case_severities] == list(CASE_SEVERITIES)
    assert [r.name for r in config.case_resolution_reasons] == list(RESOLUTION_REASONS)
    assert project.signals == []


async def test_the_seeded_defaults_include_cases(sessions: SessionFactory) -> None:
    assert await seed_defaults_if_empty(sessions) is True
    async with sessions() as session:
        types = (await session.exec(select(CaseType))).all()
        assert [(t.name, t.is_default, t.active, t.oncall_service_id, t.incident_type_id) for t in types] == [
            ("General", True, True, None, None)
        ]
        priorities = (await session.exec(select(CasePriority).order_by(col(CasePriority.view_order)))).all()
        assert [(p.name, p.is_default, p.page_assignee, p.delayed_message_warning) for p in priorities] == [
            ("Low", True, False, True),
            ("Medium", False, False, True),
            ("High", False, False, True),
            ("Critical", False, True, False),
            ("Optional", False, False, True),
        ]
        reasons = (await session.exec(select(CaseResolutionReason))).all()
        assert sorted(r.name for r in reasons) == sorted(RESOLUTION_REASONS)
    # Already there: nothing to add.
    assert await seed_case_defaults_if_missing(sessions) is False


async def test_a_database_configured_before_cases_gets_the_built_in_case_config(
    sessions: SessionFactory,
) -> None:
    two = "projects:\n  - {name: One, prefix: ONE}\n  - {name: Two, prefix: TWO}\n"
    async with sessions() as session:
        await apply(session, load(two))
        await session.commit()
    # What such a database looks like: every case table empty except project Two's severities.
    async with sessions() as session:
        two_id = (await session.exec(select(Project.id).where(Project.name == "Two"))).one()
        for model in (CaseType, CasePriority, CaseResolutionReason):
            await session.exec(delete(model))  # type: ignore[call-overload]
        await session.exec(delete(CaseSeverity).where(col(CaseSeverity.project_id) != two_id))  # type: ignore[call-overload]
        await session.exec(delete(CaseSeverity).where(CaseSeverity.name != "High"))  # type: ignore[call-overload]
        await session.commit()

    assert await seed_case_defaults_if_missing(sessions) is True
    async with sessions() as session:
        projects = {p.id: p.name for p in (await session.exec(select(Project))).all()}
        types = (await session.exec(select(CaseType))).all()
        assert sorted((projects[t.project_id], t.name, t.is_default) for t in types) == [
            ("One", "General", True),
            ("Two", "General", True),
        ]
        priorities = (await session.exec(select(CasePriority))).all()
        assert len(priorities) == 2 * len(CASE_PRIORITIES)
        severities = (await session.exec(select(CaseSeverity))).all()
        # Project Two had configured severities: they are left as they are.
        assert sorted((projects[s.project_id], s.name) for s in severities) == sorted(
            [("One", name) for name in CASE_SEVERITIES] + [("Two", "High")]
        )
        reasons = (await session.exec(select(CaseResolutionReason))).all()
        assert len(reasons) == len(RESOLUTION_REASONS)
    assert await seed_case_defaults_if_missing(sessions) is False
