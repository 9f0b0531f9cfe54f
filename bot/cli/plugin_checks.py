"""Whether each project's chosen plugins can work: built with credentials, and answering where the
vendor has a cheap check. Used by `dispatch-bot doctor` and /readyz (where a dead plugin degrades the
bot but never makes it unready)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

from bot.runtime.bot_context import BotContext
from plugins.errors import PluginError
from storage.workspace import enabled_projects


@dataclass(frozen=True)
class PluginCheck:
    project: str
    role: str
    plugin: str
    ok: bool
    detail: str

    @property
    def name(self) -> str:
        return f"plugin {self.plugin} ({self.role}, {self.project})"


async def check_plugins(ctx: BotContext, timeout: float = 10) -> list[PluginCheck]:
    """One check per configured plugin of every enabled project, the live ones concurrently."""
    async with ctx.sessions() as session:
        projects = [project for project in await enabled_projects(session) if project.plugins]
    pending: list[Awaitable[PluginCheck]] = []
    for project in projects:
        plugins = ctx.plugins_for(project)
        for role, name in plugins.names.items():
            if role in plugins.problems:
                pending.append(_done(PluginCheck(project.name, role, name, False, plugins.problems[role])))
            else:
                pending.append(_live(project.name, role, name, plugins.get(role), timeout))
    return list(await asyncio.gather(*pending))


async def _done(check: PluginCheck) -> PluginCheck:
    return check


async def _live(project: str, role: str, name: str, instance: object, timeout: float) -> PluginCheck:
    check = getattr(instance, "check", None)
    if check is None:
        return PluginCheck(project, role, name, True, "configured (no live check for this plugin)")
    try:
        said = await asyncio.wait_for(cast(Callable[[], Awaitable[str]], check)(), timeout)
    except TimeoutError:
        return PluginCheck(project, role, name, False, f"no answer within {timeout:g} seconds")
    except PluginError as error:
        return PluginCheck(project, role, name, False, str(error))
    except Exception as error:
        return PluginCheck(project, role, name, False, f"{type(error).__name__}: {error}")
    return PluginCheck(project, role, name, True, f"credentials present; live check ok ({said})")
