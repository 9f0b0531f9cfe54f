"""What a sandbox starts with: its people and channels, its clock, and the configuration it applies."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config.defaults import DEFAULT_PROJECT_NAME, default_config
from bot.config.schema import NotificationConfig, WorkspaceConfig
from bot.sandbox.slack import FakeSlack
from plugins.registry import Catalog, PluginProvider, builtin_plugins

NOTIFICATION_CHANNEL = "incidents"


@dataclass(frozen=True)
class Person:
    name: str
    real_name: str
    tz: str
    title: str

    @property
    def email(self) -> str:
        return f"{self.name}@example.com"


# Four time zones far enough apart that someone is always outside working hours.
PEOPLE = (
    Person("alice", "Alice Martin", "Europe/London", "Site reliability engineer"),
    Person("bob", "Bob Okafor", "America/New_York", "Backend engineer"),
    Person("carol", "Carol Tanaka", "Asia/Tokyo", "Support lead"),
    Person("dave", "Dave Singh", "Australia/Sydney", "Engineering manager"),
)


@dataclass
class SandboxClock:
    """The time the bot and the workspace see: the wall clock, moved forward by `:time`."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def timestamp(self) -> float:
        return self.now().timestamp()

    def advance(self, delta: timedelta) -> None:
        if delta <= timedelta(0):
            raise ValueError("the sandbox clock only moves forward")
        self.offset += delta


_DURATION_PART = re.compile(r"(\d+)\s*(d|h|m|min|s)")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "min": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """`+2h`, `90m`, `1d`, `1h30m` → a timedelta; ValueError for anything else."""
    spec = text.strip().removeprefix("+").replace(" ", "")
    if not spec or _DURATION_PART.sub("", spec):
        raise ValueError(f"{text!r} is not a duration: write e.g. +2h, +30m, +1d or +1h30m")
    delta = timedelta()
    for amount, unit in _DURATION_PART.findall(spec):
        delta += timedelta(**{_UNITS[unit]: int(amount)})
    return delta


@dataclass
class Prepared:
    """The configuration the sandbox applies, and what it had to change or add to make it work here."""

    config: WorkspaceConfig
    notes: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    contacts: dict[str, str] = field(default_factory=dict)
    """E-mail → name of the people the config engages, added to the workspace."""


def local_plugin_names() -> set[str]:
    """Plugins with no external system to reach: the only ones a sandbox runs."""
    return {spec.name for spec in builtin_plugins() if not spec.secrets and not spec.label}


def local_plugins() -> PluginProvider:
    """A provider that knows only the local plugins and holds no credential."""
    catalog = Catalog()
    for spec in builtin_plugins():
        if spec.name in local_plugin_names():
            catalog.add(spec)
    return PluginProvider({}, catalog=catalog)


def prepare_config(config: WorkspaceConfig | None) -> Prepared:
    """`config` (or the built-in defaults with #incidents as a notification target), with every plugin
    that would reach a vendor turned off, and the channels and people it names listed for the workspace."""
    if config is None:
        config = default_config()
        for project in config.projects:
            if project.name == DEFAULT_PROJECT_NAME:
                project.notifications.append(
                    NotificationConfig(
                        name="incidents",
                        description="Every incident, announced as it is declared and updated.",
                        target=f"#{NOTIFICATION_CHANNEL}",
                    )
                )
    else:
        config = config.model_copy(deep=True)
    prepared = Prepared(config)
    local = local_plugin_names()
    known = {person.email for person in PEOPLE}
    for project in config.projects:
        for role, choice in list(project.plugins.items()):
            if choice.plugin not in local:
                del project.plugins[role]
                prepared.notes.append(
                    f"project {project.name}: the {role} plugin {choice.plugin!r} is off in the sandbox "
                    "(nothing leaves this machine)"
                )
        for target in project.notifications:
            if target.kind != "conversation":
                continue
            if re.fullmatch(r"[CG][A-Z0-9]{8,}", target.target):
                prepared.notes.append(
                    f"project {project.name}: notification {target.name!r} names channel id "
                    f"{target.target}, which the sandbox cannot make; name the channel instead"
                )
            elif target.target not in prepared.channels and target.target != "general":
                prepared.channels.append(target.target)
        for individual in project.individuals:
            if individual.email not in known:
                prepared.contacts[individual.email] = individual.name or individual.email.split("@")[0]
    if NOTIFICATION_CHANNEL not in prepared.channels:
        prepared.channels.insert(0, NOTIFICATION_CHANNEL)
    return prepared


def _offset(tz: str, at: datetime) -> int:
    delta = at.astimezone(ZoneInfo(tz)).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def populate(fake: FakeSlack, prepared: Prepared, at: datetime) -> dict[str, str]:
    """Add the people, #general and the config's channels (everyone and the bot in them); returns
    user id by name, the config's contacts included."""
    ids: dict[str, str] = {}
    for person in PEOPLE:
        ids[person.name] = fake.add_user(
            person.name,
            email=person.email,
            real_name=person.real_name,
            tz=person.tz,
            tz_offset=_offset(person.tz, at),
            title=person.title,
        )
    for email, name in prepared.contacts.items():
        handle = re.sub(r"[^a-z0-9._-]", "", name.lower().replace(" ", ".")) or email.split("@")[0]
        while handle in ids:
            handle += "1"
        ids[handle] = fake.add_user(handle, email=email, real_name=name)
    everyone = [*ids.values(), fake.bot_user_id]
    fake.add_channel(
        "general", members=everyone, is_general=True, purpose="Everyone, for anything.", creator=ids["alice"]
    )
    for name in prepared.channels:
        fake.add_channel(name, members=everyone, creator=ids["alice"])
    return ids
