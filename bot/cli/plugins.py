"""`dispatch-bot plugins list`: which plugins are installed, and which serve each project's roles."""

from __future__ import annotations

from typing import Any

import click
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.config import _settings, _with_database
from plugins.registry import Catalog, PluginProvider
from storage.models import Project


@click.group("plugins")
def plugins_group() -> None:
    """Integrations: what is installed and what each project uses."""


@plugins_group.command("list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """List installed plugins, then each project's choices and whether they can run here."""
    catalog = Catalog.discover()
    click.echo("Installed:")
    width = max(len(name) for name in catalog.specs)
    roles_width = max(10, *(len(", ".join(spec.roles)) for spec in catalog.specs.values()))
    for name in sorted(catalog.specs):
        spec = catalog.specs[name]
        roles = ", ".join(spec.roles)
        click.echo(f"  {name:<{width}}  {roles:<{roles_width}}  {spec.source:<10}  {spec.description}")
    for problem in catalog.problems:
        click.echo(f"  ✗ {problem}")

    async def choices(session: AsyncSession) -> list[tuple[str, dict[str, Any]]]:
        rows = await session.exec(select(Project).where(col(Project.enabled)).order_by(col(Project.id)))
        return [(project.name, dict(project.plugins)) for project in rows]

    projects = _with_database(ctx, choices)
    provider = PluginProvider(_settings(ctx).plugin_secrets(), catalog)
    click.echo("Enabled:")
    if not projects:
        click.echo("  no projects yet; run `dispatch-bot config apply FILE`")
    for project, chosen in projects:
        if not chosen:
            click.echo(f"  {project}: none")
            continue
        built = provider.for_project(project, chosen)
        click.echo(f"  {project}:")
        for role in sorted(chosen):
            state = "ready" if role in built.instances else f"✗ {built.problems[role]}"
            click.echo(f"    {role:<17} {built.names[role]:<16} {state}")
