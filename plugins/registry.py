"""Which plugins exist (built in, or installed through the `dispatch_bot.plugins` entry point group)
and the plugin set each project gets from its config choices and the process's credentials.

A third-party package registers in its pyproject.toml:

    [project.entry-points."dispatch_bot.plugins"]
    statuspage = "acme_statuspage:PLUGIN"      # a PluginSpec, or a callable returning one or a list

Nothing here is required: a project with no choices gets an empty set and the bot works as without
plugins. A choice that cannot be served (unknown name, missing credential) is reported, not raised.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, TypeVar, cast

from plugins.errors import PluginConfigError
from plugins.interfaces import ROLE_INTERFACES, OnCallPlugin, TicketPlugin
from plugins.setup import PluginSetup, SharedResources

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "dispatch_bot.plugins"
BUILT_IN = "built-in"

T = TypeVar("T")


@dataclass(frozen=True)
class PluginSpec:
    """One implementation: its name in the config file, the roles it serves, and how to build it."""

    name: str
    roles: tuple[str, ...]
    build: Callable[[PluginSetup], object]
    description: str = ""
    secrets: tuple[str, ...] = ()
    source: str = BUILT_IN
    # The vendor's name as people read it ("Jira"), empty for plugins with no external system.
    label: str = ""


def _pagerduty(setup: PluginSetup) -> object:
    # Imported on use: pdpyras (and requests) are only loaded where PagerDuty is configured.
    from plugins.pagerduty.oncall import PagerDutyOnCall

    return PagerDutyOnCall.from_setup(setup)


def _builtin_ticket(setup: PluginSetup) -> object:
    from plugins.ticket import BuiltinTicket

    return BuiltinTicket()


def _google(kind: str) -> Callable[[PluginSetup], object]:
    def build(setup: PluginSetup) -> object:
        # Imported on use: googleapiclient is only loaded where a Google plugin is configured.
        from plugins.google import plugin_for

        return plugin_for(kind, setup)

    return build


GOOGLE_SECRETS = (
    "GOOGLE_DOMAIN",
    "GOOGLE_SERVICE_ACCOUNT_CLIENT_EMAIL",
    "GOOGLE_SERVICE_ACCOUNT_DELEGATED_ACCOUNT",
    "GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY",
    "GOOGLE_API_URL",
    "GOOGLE_TOKEN_URI",
)
GOOGLE_PLUGINS = (
    (
        "google-drive",
        "storage",
        "Google Drive: the incident's folder in a shared drive, shared with participants.",
    ),
    (
        "google-docs",
        "document",
        "Google Docs: the incident document copied from a template, variables filled.",
    ),
    ("google-groups", "participant_group", "Google Groups: the tactical and notifications groups."),
    ("google-gmail", "email", "Gmail: HTML e-mail with a plain-text part, sent as the delegated account."),
    ("google-calendar", "conference", "Google Calendar: an event with a Meet link as the conference."),
    ("google-tasks", "task", "Google Docs comments assigned to someone, as the incident's tasks."),
)


def _jira(setup: PluginSetup) -> object:
    from plugins.jira.tickets import JiraTickets

    return JiraTickets.from_setup(setup)


def _webhook(setup: PluginSetup) -> object:
    from plugins.workflow.webhook import WebhookWorkflow

    return WebhookWorkflow.from_setup(setup)


def builtin_plugins() -> list[PluginSpec]:
    google = [
        PluginSpec(name=name, roles=(role,), build=_google(name), description=text, secrets=GOOGLE_SECRETS)
        for name, role, text in GOOGLE_PLUGINS
    ]
    return [
        *google,
        PluginSpec(
            name="pagerduty",
            roles=("oncall",),
            build=_pagerduty,
            description="PagerDuty: the current on-call of a service, and paging it.",
            secrets=("PAGERDUTY_API_KEY", "PAGERDUTY_API_FROM_EMAIL", "PAGERDUTY_API_URL"),
            label="PagerDuty",
        ),
        PluginSpec(
            name="jira",
            roles=("ticket",),
            build=_jira,
            description="Jira Cloud: an issue per incident, kept in step with its title and status.",
            secrets=("JIRA_API_URL", "JIRA_USERNAME", "JIRA_API_TOKEN"),
            label="Jira",
        ),
        PluginSpec(
            name="webhook",
            roles=("workflow",),
            build=_webhook,
            description="A workflow started with an HTTP POST to its URL and followed by polling it.",
            secrets=("WEBHOOK_TOKEN", "WEBHOOK_STATUS_ORIGINS"),
            label="the workflow",
        ),
        PluginSpec(
            name="builtin-ticket",
            roles=("ticket",),
            build=_builtin_ticket,
            description="A ticket numbered like the incident, kept by the bot (no external system).",
        ),
    ]


@dataclass
class Catalog:
    """Every plugin this installation can use, by name; `problems` lists entry points that failed."""

    specs: dict[str, PluginSpec] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def discover(cls, group: str = ENTRY_POINT_GROUP) -> Catalog:
        """The built-in plugins plus those installed packages register under `group`."""
        catalog = cls()
        for spec in builtin_plugins():
            catalog.add(spec)
        for entry in entry_points(group=group):
            source = entry.dist.name if entry.dist is not None else entry.value
            try:
                loaded = entry.load()
                found = loaded() if callable(loaded) and not isinstance(loaded, PluginSpec) else loaded
                specs = [found] if isinstance(found, PluginSpec) else list(cast(Iterable[Any], found))
            except Exception as error:
                catalog.problems.append(f"entry point {entry.name!r} ({source}) failed to load: {error}")
                continue
            for spec in specs:
                if not isinstance(spec, PluginSpec):
                    catalog.problems.append(
                        f"entry point {entry.name!r} ({source}) gave {type(spec).__name__}, not a PluginSpec"
                    )
                    continue
                catalog.add(
                    PluginSpec(
                        spec.name, spec.roles, spec.build, spec.description, spec.secrets, source, spec.label
                    )
                )
        return catalog

    def add(self, spec: PluginSpec) -> None:
        unknown = [role for role in spec.roles if role not in ROLE_INTERFACES]
        if unknown:
            self.problems.append(f"plugin {spec.name!r} ({spec.source}) names unknown role(s) {unknown}")
            return
        if spec.name in self.specs:
            taken = self.specs[spec.name].source
            self.problems.append(
                f"plugin {spec.name!r} from {spec.source} ignored: {taken} already has that name"
            )
            return
        self.specs[spec.name] = spec

    def get(self, name: str) -> PluginSpec | None:
        return self.specs.get(name)


@dataclass
class ProjectPlugins:
    """The plugins serving one project, by role; `problems` says why a chosen role has none."""

    project: str
    instances: dict[str, object] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    def get(self, role: str) -> object | None:
        return self.instances.get(role)

    @property
    def oncall(self) -> OnCallPlugin | None:
        return cast(OnCallPlugin | None, self.instances.get("oncall"))

    @property
    def ticket(self) -> TicketPlugin | None:
        return cast(TicketPlugin | None, self.instances.get("ticket"))


def build_project_plugins(
    catalog: Catalog,
    project: str,
    choices: Mapping[str, Any],
    secrets: Mapping[str, str],
    shared: SharedResources | None = None,
) -> ProjectPlugins:
    """Build what `choices` ({role: {plugin, options}}, as the config file writes it) asks for."""
    shared = shared if shared is not None else SharedResources()
    result = ProjectPlugins(project)
    for role, choice in choices.items():
        name = str((choice or {}).get("plugin") or "")
        options = dict((choice or {}).get("options") or {})
        result.names[role] = name
        spec = catalog.get(name)
        if spec is None:
            result.problems[role] = f"plugin {name!r} is not installed"
            continue
        result.labels[role] = spec.label
        if role not in spec.roles:
            result.problems[role] = f"plugin {name!r} serves {', '.join(spec.roles)}, not {role}"
            continue
        try:
            instance = spec.build(PluginSetup(project, role, options, secrets, shared))
        except PluginConfigError as error:
            result.problems[role] = str(error)
            continue
        except Exception as error:
            logger.exception("plugin %s for %s of project %s failed to build", name, role, project)
            result.problems[role] = f"plugin {name!r} failed to start: {type(error).__name__}: {error}"
            continue
        if not isinstance(instance, ROLE_INTERFACES[role]):
            result.problems[role] = f"plugin {name!r} does not implement the {role} interface"
            continue
        result.instances[role] = instance
    for role, problem in result.problems.items():
        logger.warning("project %s: no %s plugin: %s", project, role, problem)
    return result


class PluginProvider:
    """Builds each project's plugin set once per distinct set of choices and reuses it."""

    def __init__(self, secrets: Mapping[str, str], catalog: Catalog | None = None) -> None:
        self.secrets = dict(secrets)
        self._catalog = catalog
        self._built: dict[tuple[str, str], ProjectPlugins] = {}
        self._shared = SharedResources()

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog.discover()
        return self._catalog

    def for_project(self, project: str, choices: Mapping[str, Any]) -> ProjectPlugins:
        key = (project, json.dumps(choices, sort_keys=True, default=str))
        built = self._built.get(key)
        if built is None:
            built = build_project_plugins(self.catalog, project, choices, self.secrets, self._shared)
            self._built[key] = built
        return built

    def close(self) -> None:
        """Close what the built plugins hold (thread pools, connections); a later use builds afresh."""
        self._built.clear()
        self._shared.close()
