"""The README's settings table lists every setting, as the environment spells it, with its default."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings

from bot.settings import Settings
from plugins.registry import builtin_plugins

README = Path(__file__).resolve().parent.parent / "README.md"
ENV_NAME = re.compile(r"`([A-Z][A-Z0-9_]*)`")
NO_DEFAULT = "—"


def settings_rows() -> list[tuple[list[str], str]]:
    """(variables, default cell) of each row of the table under "## Settings"."""
    section = README.read_text(encoding="utf-8").split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or cells[0] in {"variable", "---"}:
            continue
        assert len(cells) == 3 and cells[2], f"a row needs a variable, a default and a meaning: {line}"
        rows.append((ENV_NAME.findall(cells[0]), cells[1]))
    return rows


def env_names(model: type[BaseSettings]) -> dict[str, str]:
    """Field name by the environment variable that sets it (an alias, else the prefix and the name)."""
    prefix = model.model_config.get("env_prefix", "")
    names = {}
    for name, info in model.model_fields.items():
        alias = info.validation_alias or info.alias
        names[(alias if isinstance(alias, str) else prefix + name).upper()] = name
    return names


def as_documented(value: Any) -> str | None:
    """A default as the table writes it: `true`, `10`, `{}`; None for no default."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def documented_defaults() -> dict[str, str | None]:
    defaults: dict[str, str | None] = {}
    for names, cell in settings_rows():
        values = [None] * len(names) if cell.startswith(NO_DEFAULT) else re.findall(r"`([^`]*)`", cell)
        if len(values) == 1:
            values *= len(names)
        assert len(values) == len(names), f"one default per variable, or one for all: {names} {cell}"
        defaults.update(zip(names, values, strict=True))
    return defaults


def test_the_readme_lists_every_setting_and_nothing_else() -> None:
    documented = [name for names, _ in settings_rows() for name in names]
    settings = env_names(Settings)
    assert len(documented) == len(set(documented)), "a variable is listed twice"
    assert sorted(set(settings) - set(documented)) == [], "settings missing from the README table"
    assert sorted(set(documented) - set(settings)) == [], "README rows for settings that do not exist"


def test_the_readme_gives_each_setting_its_default() -> None:
    documented = documented_defaults()
    for env_name, field in env_names(Settings).items():
        default = Settings.model_fields[field].get_default(call_default_factory=True)
        assert documented[env_name] == as_documented(default), env_name


def test_every_secret_a_plugin_reads_is_a_setting() -> None:
    """Plugins get their credentials from the settings, so one they name but the model lacks never arrives."""
    settings = env_names(Settings)
    wanted = {secret for spec in builtin_plugins() for secret in spec.secrets}
    assert sorted(wanted - set(settings)) == []
