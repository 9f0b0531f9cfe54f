"""The plugin registry: built-in and entry-point plugins, project sets, and `dispatch-bot plugins list`."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.config import config_group
from bot.cli.main import main
from bot.settings import Settings
from plugins.interfaces import OnCallPlugin
from plugins.registry import Catalog, PluginProvider, build_project_plugins
from plugins.ticket import BuiltinTicket

SECRETS = {"PAGERDUTY_API_KEY": "k", "PAGERDUTY_API_FROM_EMAIL": "bot@example.com"}


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution registering a status-page plugin through the entry point group."""
    (tmp_path / "acme_status.py").write_text(
        textwrap.dedent("""\
            from plugins.registry import PluginSpec

            class Status:
                def __init__(self, options):
                    self.options = options
                async def run(self, workflow_id, params):
                    raise NotImplementedError
                async def get_instance(self, workflow_id, instance_id):
                    raise NotImplementedError

            def plugins():
                return [
                    PluginSpec("acme-status", ("workflow",), lambda setup: Status(setup.options), "Acme"),
                    PluginSpec("pagerduty", ("oncall",), lambda setup: None),
                    PluginSpec("acme-bad", ("pager",), lambda setup: None),
                ]
        """)
    )
    info = tmp_path / "acme_status-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-status\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[dispatch_bot.plugins]\nacme = acme_status:plugins\nbroken = acme_status:missing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("acme_status", None)


def test_entry_point_plugins_join_the_built_in_ones(third_party: Path) -> None:
    catalog = Catalog.discover()
    assert {"pagerduty", "builtin-ticket", "acme-status"} <= set(catalog.specs)
    assert catalog.specs["acme-status"].source == "acme-status"
    assert catalog.specs["pagerduty"].source == "built-in"
    problems = "\n".join(catalog.problems)
    assert "'pagerduty' from acme-status ignored: built-in already has that name" in problems
    assert "'acme-bad' (acme-status) names unknown role(s) ['pager']" in problems
    assert "entry point 'broken' (acme-status) failed to load" in problems

    built = build_project_plugins(
        catalog, "Ops", {"workflow": {"plugin": "acme-status", "options": {"page": "ops"}}}, {}
    )
    assert built.get("workflow").options == {"page": "ops"}  # type: ignore[union-attr]


def test_a_project_gets_what_it_chose_and_hears_why_not() -> None:
    catalog = Catalog.discover()
    choices = {
        "oncall": {"plugin": "pagerduty"},
        "ticket": {"plugin": "builtin-ticket"},
        "storage": {"plugin": "google-drive"},
        "contact": {"plugin": "pagerduty"},
    }
    built = build_project_plugins(catalog, "Default", choices, SECRETS)
    assert isinstance(built.oncall, OnCallPlugin)
    assert isinstance(built.ticket, BuiltinTicket)
    assert built.problems == {
        "storage": "GOOGLE_DOMAIN, GOOGLE_SERVICE_ACCOUNT_CLIENT_EMAIL, "
        "GOOGLE_SERVICE_ACCOUNT_DELEGATED_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY are not set; set them "
        "in the environment (or .env) of the bot",
        "contact": "plugin 'pagerduty' serves oncall, not contact",
    }
    without_key = build_project_plugins(catalog, "Default", {"oncall": {"plugin": "pagerduty"}}, {})
    assert without_key.oncall is None
    assert "PAGERDUTY_API_KEY is not set" in without_key.problems["oncall"]
    nothing = build_project_plugins(catalog, "Default", {}, SECRETS)
    assert nothing.instances == {} and nothing.problems == {}


def test_the_provider_builds_once_per_choice() -> None:
    provider = PluginProvider(SECRETS)
    choices = {"oncall": {"plugin": "pagerduty", "options": {"sleep_seconds": 1}}}
    first = provider.for_project("Default", choices)
    assert provider.for_project("Default", dict(choices)) is first
    changed = provider.for_project("Default", {"oncall": {"plugin": "pagerduty"}})
    assert changed is not first and changed.oncall is not first.oncall


async def test_the_built_in_ticket_is_the_incident_name() -> None:
    ticket = await BuiltinTicket().create("INC-12", "Checkout down", "Outage", "High", "alice", "bob")
    assert (ticket.id, ticket.weblink) == ("INC-12", None)


CONFIG = textwrap.dedent("""\
    projects:
      - name: Payments
        prefix: PAY
        plugins:
          oncall: {plugin: pagerduty}
          ticket: {plugin: jira, options: {project_key: PAY}}
      - name: Quiet
        prefix: QT
""")


def test_plugins_list_shows_installed_and_enabled(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    runner = CliRunner()
    applied = runner.invoke(config_group, ["apply", str(path)], obj=Settings(database_url=database_url))
    assert applied.exit_code == 0, applied.output

    env = {
        "DATABASE_URL": database_url,
        "PAGERDUTY_API_KEY": "k",
        "PAGERDUTY_API_FROM_EMAIL": "bot@example.com",
    }
    result = runner.invoke(main, ["plugins", "list"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Installed:"
    assert any(line.split()[:3] == ["pagerduty", "oncall", "built-in"] for line in lines)
    assert any(line.split()[:3] == ["builtin-ticket", "ticket", "built-in"] for line in lines)
    for name, role in [
        ("google-drive", "storage"),
        ("google-docs", "document"),
        ("google-groups", "participant_group"),
        ("google-gmail", "email"),
        ("google-calendar", "conference"),
    ]:
        assert any(line.split()[:3] == [name, role, "built-in"] for line in lines), name
    enabled = lines[lines.index("Enabled:") + 1 :]
    assert enabled == [
        "  Payments:",
        "    oncall            pagerduty        ready",
        "    ticket            jira             ✗ JIRA_API_URL is not set; set it to the site, https://<you>.atlassian.net",
        "  Quiet: none",
    ]

    no_key = runner.invoke(main, ["plugins", "list"], env={**env, "PAGERDUTY_API_KEY": ""})
    assert "    oncall            pagerduty        ✗ PAGERDUTY_API_KEY is not set" in no_key.stdout
