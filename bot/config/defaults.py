"""The built-in configuration that lets the bot work before anyone writes a config file."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.config.apply import apply, apply_case_defaults
from bot.config.schema import (
    IncidentTypeConfig,
    PriorityConfig,
    ProjectConfig,
    SeverityConfig,
    WorkspaceConfig,
    builtin_roles,
)
from storage.db import SessionFactory
from storage.models import Project

logger = logging.getLogger(__name__)

DEFAULT_PROJECT_NAME = "default"


def default_config() -> WorkspaceConfig:
    """One project, "default" (prefix INC), with Dispatch's priorities, severities and roles.

    Priorities follow Dispatch's reminder hours (tactical 12/6/2, executive never/12/6); unlike
    Dispatch, Medium is the default and High pages the commander. The project's case types,
    priorities and severities, and the resolution reasons, are the schema's built-ins.
    """
    return WorkspaceConfig(
        roles=builtin_roles(),
        projects=[
            ProjectConfig(
                name=DEFAULT_PROJECT_NAME,
                prefix="INC",
                description="The project incidents go to until a config file defines others.",
                default=True,
                incident_types=[
                    IncidentTypeConfig(
                        name="General",
                        default=True,
                        description="Anything that is not covered by a more specific type.",
                    ),
                    IncidentTypeConfig(
                        name="Service Outage",
                        description="A service is down or degraded for its users.",
                    ),
                    IncidentTypeConfig(
                        name="Security Incident",
                        description="A suspected or confirmed compromise of systems or data.",
                    ),
                    IncidentTypeConfig(
                        name="Simulation",
                        exclude_from_metrics=True,
                        description="A game day or drill; kept out of the metrics.",
                    ),
                ],
                severities=[
                    SeverityConfig(
                        name="Undetermined",
                        view_order=1,
                        color="#9e9e9e",
                        default=True,
                        allowed_for_stable_incidents=False,
                        description="The impact has not been assessed yet.",
                    ),
                    SeverityConfig(
                        name="Low",
                        view_order=2,
                        color="#8bc34a",
                        description="Little or no impact on users or the business.",
                    ),
                    SeverityConfig(
                        name="Medium",
                        view_order=3,
                        color="#ff9800",
                        description="Noticeable impact on some users or a part of the business.",
                    ),
                    SeverityConfig(
                        name="High",
                        view_order=4,
                        color="#e53935",
                        description="Severe impact on many users or the business.",
                    ),
                ],
                priorities=[
                    PriorityConfig(
                        name="Low",
                        view_order=1,
                        color="#8bc34a",
                        tactical_report_reminder_hours=12,
                        executive_report_reminder_hours=None,
                        description="Can wait for working hours; no executive reports.",
                    ),
                    PriorityConfig(
                        name="Medium",
                        view_order=2,
                        color="#ff9800",
                        default=True,
                        tactical_report_reminder_hours=6,
                        executive_report_reminder_hours=12,
                        description="Needs attention today.",
                    ),
                    PriorityConfig(
                        name="High",
                        view_order=3,
                        color="#e53935",
                        page_commander=True,
                        tactical_report_reminder_hours=2,
                        executive_report_reminder_hours=6,
                        description="Needs attention now; the incident commander is paged.",
                    ),
                ],
            )
        ],
    )


async def seed_defaults_if_empty(sessions: SessionFactory, config: WorkspaceConfig | None = None) -> bool:
    """Apply `config` (default: `default_config()`) when the database has no project; True when it did.

    Safe when several replicas start at once: the loser of the race hits the unique project name,
    rolls back and reports False.
    """
    async with sessions() as session:
        if (await session.exec(select(Project.id).limit(1))).first() is not None:
            return False
        try:
            await apply(session, config or default_config())
            await session.commit()
        except IntegrityError:
            await session.rollback()
            logger.info("another process seeded the default configuration first")
            return False
    logger.info("seeded the %s configuration", "given" if config else "built-in default")
    return True


async def seed_case_defaults_if_missing(sessions: SessionFactory) -> bool:
    """Give a database configured before cases existed the built-in case configuration; True when it did.

    Like `seed_defaults_if_empty`, the loser of a race between replicas rolls back and reports False.
    """
    async with sessions() as session:
        try:
            changes = await apply_case_defaults(session)
            await session.commit()
        except IntegrityError:
            await session.rollback()
            logger.info("another process added the built-in case configuration first")
            return False
    if changes:
        logger.info("added the built-in case configuration: %s", changes.summary(applied=True))
    return bool(changes)
