"""`config validate`: every problem in the file is reported with its path and line, and the exit code is 1."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli.config import config_group
from bot.config.checks import check_workspace
from bot.config.defaults import default_config
from bot.config.loader import parse_config
from bot.settings import Settings

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "config.yaml"


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the `occurrence`-th line containing `needle`."""
    hits = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def validate(tmp_path: Path, text: str) -> Result:
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        # A relative path, so the errors read exactly as a user running it next to the file sees them.
        patch.chdir(tmp_path)
        return CliRunner().invoke(config_group, ["validate", "config.yaml"], obj=Settings())


def test_the_example_file_is_valid() -> None:
    result = CliRunner().invoke(config_group, ["validate", str(EXAMPLE)], obj=Settings())
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"✓ {EXAMPLE} is valid: 2 projects, 6 roles, 7 incident types")
    assert "⚠" not in result.output  # every plugin it names is installed


def test_a_plugin_that_is_not_installed_is_a_warning_that_names_the_choices(tmp_path: Path) -> None:
    result = validate(
        tmp_path,
        "projects:\n  - name: Default\n    prefix: INC\n    plugins:\n      email: {plugin: gmail}\n"
        "      ticket: {plugin: google-drive}\n",
    )
    assert result.exit_code == 0, result.output
    email = "⚠ projects[0].plugins.email: plugin 'gmail' is not installed here"
    assert f"{email} (installed for email: google-gmail)" in result.output
    assert "⚠ projects[0].plugins.ticket: plugin 'google-drive' serves storage, not ticket" in result.output
    assert "✓ config.yaml is valid" in result.output


def test_the_built_in_defaults_pass_the_cross_checks() -> None:
    assert check_workspace(default_config()) == []


def test_wrong_types_and_unknown_keys_name_path_and_line(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        projects:
          - name: default
            prefix: INC
            send_daily_reports: maybe
            priorities:
              - name: Low
              - name: High
                tactical_report_reminder_hours: lots
                colour: "#ff0000"
    """)
    result = validate(tmp_path, text)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"config.yaml:{line_of(text, 'maybe')}: projects[0].send_daily_reports: "
        "Input should be a valid boolean, unable to interpret input",
        f"config.yaml:{line_of(text, 'lots')}: projects[0].priorities[1].tactical_report_reminder_hours: "
        "Input should be a valid integer, unable to parse string as an integer",
        f"config.yaml:{line_of(text, 'colour')}: projects[0].priorities[1].colour: "
        "unknown key 'colour' (did you mean 'color'?)",
        "✗ config.yaml has 3 errors.",
    ]


def test_duplicate_names_are_caught_case_insensitively(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        projects:
          - name: default
            prefix: INC
            priorities:
              - name: High
              - name: Low
              - name: high
          - name: Default
            prefix: inc2
    """)
    result = validate(tmp_path, text)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert (
        f"config.yaml:{line_of(text, 'name: high')}: projects[0].priorities[2].name: "
        "duplicate priority name 'high' (also at priorities[0])"
    ) in errors
    assert (
        f"config.yaml:{line_of(text, 'name: Default')}: projects[1].name: "
        "duplicate project name 'Default' (also at projects[0])"
    ) in errors
    # The bad prefix does not hide the duplicate: all errors come out in one run.
    assert any("projects[1].prefix: prefix 'inc2' must be 1-20 upper-case letters" in e for e in errors)


def test_bad_references_in_filters_and_role_policies(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        projects:
          - name: default
            prefix: INC
            incident_types: [{name: Service Outage}]
            priorities: [{name: High}]
            tag_types:
              - name: Component
                tags: [{name: postgres}]
            services:
              - name: SRE
                external_id: P123
            role_policies:
              - name: commander
                role: Commander
                incident_priorities: [Urgent]
                service: DBA
            notifications:
              - name: sec-alerts
                target: "#security"
                filters:
                  any:
                    - type: [Service Outage, Securty Incident]
                    - tags: [postgress]
                    - not: {severity: [High]}
    """)
    result = validate(tmp_path, text)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    filters = "projects[0].notifications[0].filters"
    policy = "projects[0].role_policies[0]"
    assert errors[:-1] == [
        f"config.yaml:{line_of(text, 'role: Commander')}: {policy}.role: unknown role 'Commander' "
        "(known: Incident Commander, Scribe, Liaison, Reporter, Participant, Observer)",
        f"config.yaml:{line_of(text, 'Urgent')}: {policy}.incident_priorities[0]: unknown priority 'Urgent' "
        "(known: High)",
        f"config.yaml:{line_of(text, 'service: DBA')}: {policy}.service: unknown on-call service 'DBA' "
        "(known: SRE)",
        f"config.yaml:{line_of(text, 'Securty')}: {filters}.any[0].type[1]: unknown incident type "
        "'Securty Incident' (known: Service Outage)",
        f"config.yaml:{line_of(text, 'postgress')}: {filters}.any[1].tags[0]: unknown tag 'postgress' "
        "(known: postgres)",
        f"config.yaml:{line_of(text, 'severity: [High]')}: {filters}.any[2].not.severity[0]: "
        "unknown severity 'High' (none are defined)",
    ]
    assert errors[-1] == "✗ config.yaml has 6 errors."


def test_more_than_one_default_and_template_references(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        projects:
          - name: default
            prefix: INC
            default: true
            incident_types:
              - {name: General, default: true, review_template: Review}
              - {name: Outage, default: true, incident_template: Runbook}
            documents:
              - {name: Runbook, weblink: "https://wiki.example.com/rb"}
          - name: other
            prefix: OTH
            default: true
    """)
    errors = validate(tmp_path, text).stderr.splitlines()
    assert errors[:-1] == [
        f"config.yaml:{line_of(text, 'Review')}: projects[0].incident_types[0].review_template: "
        "unknown review_template document 'Review' (none are defined)",
        f"config.yaml:{line_of(text, 'name: Outage')}: projects[0].incident_types[1].default: "
        "only one incident type can be the default; 'General' (incident_types[0]) already is",
        f"config.yaml:{line_of(text, 'name: Outage')}: projects[0].incident_types[1].incident_template: "
        "document 'Runbook' has kind runbook, not incident_template",
        f"config.yaml:{line_of(text, 'default: true', 4)}: projects[1].default: only one project can be the "
        "default; 'default' (projects[0]) already is",
    ]


@pytest.mark.parametrize(
    ("snippet", "path", "message"),
    [
        ("timezone: Mars/Olympus_Mons", "projects[0].timezone", "unknown time zone 'Mars/Olympus_Mons'"),
        ("daily_report_time: '25:00'", "projects[0].daily_report_time", "'25:00' is not a time of day"),
        ("channel_name_pattern: 'Inc {number}'", "projects[0].channel_name_pattern", "lower-case letters"),
        (
            "incident_name_pattern: '{prefix}-{id}'",
            "projects[0].incident_name_pattern",
            "unknown placeholder {id}",
        ),
        ("owner_email: nobody", "projects[0].owner_email", "'nobody' is not an e-mail address"),
        (
            "notifications: [{name: watchers, kind: email, target: watchers@example.com}]",
            "projects[0].notifications[0].kind",
            "an e-mail notification needs an email plugin",
        ),
        (
            "plugins: {tickets: {plugin: jira}}",
            "projects[0].plugins.tickets",
            "unknown key 'tickets' (did you mean 'ticket'?)",
        ),
    ],
)
def test_project_fields_are_checked(tmp_path: Path, snippet: str, path: str, message: str) -> None:
    text = f"projects:\n  - name: default\n    prefix: INC\n    {snippet}\n"
    errors = validate(tmp_path, text).stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith(f"config.yaml:4: {path}: ")
    assert message in errors[0]


def test_a_clock_time_is_not_read_as_a_base_60_number() -> None:
    result = parse_config("projects:\n  - {name: default, prefix: INC, daily_report_time: 18:30}\n")
    assert result.ok, result.rendered_errors()
    assert result.config is not None
    assert result.config.projects[0].daily_report_time == "18:30"


def test_roles_default_to_dispatch_roles_and_cannot_drop_built_ins() -> None:
    result = parse_config("projects:\n  - {name: default, prefix: INC}\n")
    assert result.config is not None
    assert [(r.name, r.cost_multiplier, r.single_holder) for r in result.config.roles] == [
        ("Incident Commander", 1.0, True),
        ("Scribe", 0.75, True),
        ("Liaison", 0.75, True),
        ("Reporter", 0.5, False),
        ("Participant", 0.5, False),
        ("Observer", 0.0, False),
    ]
    result = parse_config(
        "roles:\n  - {name: Incident Commander, single_holder: true}\n"
        "projects:\n  - {name: default, prefix: INC}\n",
        source="c.yaml",
    )
    assert result.rendered_errors() == [
        "c.yaml:1: roles: missing built-in roles 'Scribe', 'Liaison', 'Reporter', 'Participant', 'Observer': "
        "the bot needs Incident Commander, Scribe, Liaison, Reporter, Participant, Observer; list them all, "
        "or leave roles: out to get the defaults"
    ]


def test_yaml_syntax_errors_report_their_line(tmp_path: Path) -> None:
    result = validate(tmp_path, "projects:\n  - name: default\n    prefix: [INC\n")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith("config.yaml:4: YAML syntax error: expected ',' or ']'")


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    text = "projects:\n  - name: default\n    prefix: INC\n    prefix: OPS\n"
    result = validate(tmp_path, text)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "config.yaml:4: projects[0].prefix: duplicate key 'prefix' (first at line 3)"
    )


def test_merge_keys_may_be_overridden_without_a_duplicate_error() -> None:
    text = textwrap.dedent("""\
        projects:
          - name: default
            prefix: INC
            priorities:
              - &base {name: Low, tactical_report_reminder_hours: 12, view_order: 1}
              - <<: *base
                name: High
                view_order: 2
    """)
    result = parse_config(text)
    assert result.ok, result.rendered_errors()
    assert result.config is not None
    assert [(p.name, p.view_order) for p in result.config.projects[0].priorities] == [("Low", 1), ("High", 2)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "config.yaml:1: the file is empty; it needs at least a projects: list"),
        ("- a\n- b\n", "config.yaml:1: the file must be a mapping with a projects: list"),
        (
            "projects: []\n",
            "config.yaml:1: projects: List should have at least 1 item after validation, not 0",
        ),
    ],
)
def test_a_file_without_projects_is_refused(tmp_path: Path, text: str, message: str) -> None:
    assert validate(tmp_path, text).stderr.splitlines()[0] == message


def test_a_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(config_group, ["validate", str(tmp_path / "nope.yaml")], obj=Settings())
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{tmp_path / 'nope.yaml'}: cannot read the file:")


def test_the_file_defaults_to_dispatch_config(tmp_path: Path) -> None:
    result = CliRunner().invoke(config_group, ["validate"], obj=Settings(dispatch_config=EXAMPLE))
    assert result.exit_code == 0
    result = CliRunner().invoke(config_group, ["validate"], obj=Settings(dispatch_config=None))
    assert result.exit_code == 2
    assert "set DISPATCH_CONFIG" in result.output


BANG = 'term: "!!"'


def test_a_definition_without_text_or_letters_names_path_and_line(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        projects:
          - name: default
            prefix: INC
            definitions:
              - term: SLO
                text: What we promise.
              - term: "!!"
                text: Nothing.
              - term: slo
                synonyms: [objective]
                text: Again.
              - term: RTO
    """)
    result = validate(tmp_path, text)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert (
        f"config.yaml:{line_of(text, BANG)}: projects[0].definitions[1].term: "
        "'!!' has no letters or digits to match"
    ) in errors
    assert (
        f"config.yaml:{line_of(text, 'term: RTO')}: projects[0].definitions[3].text: "
        "missing required key 'text'"
    ) in errors
