"""outbox: recorded effects (effect, replacing scheduled_action) and process heartbeats (bot_process)

Pending timers are carried over into `effect`; finished ones (kept only for inspection) are not.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 12:55:02.221329
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import storage.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_process",
        sa.Column("instance", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("hostname", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("instance", name=op.f("pk_bot_process")),
    )
    with op.batch_alter_table("bot_process", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_process_heartbeat_at"), ["heartbeat_at"], unique=False)

    op.create_table(
        "effect",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("due_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("claimed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("done_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_effect_incident_id_incident"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_effect")),
        sa.UniqueConstraint("key", name=op.f("uq_effect_key")),
    )
    with op.batch_alter_table("effect", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_effect_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_effect_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_effect_status"), ["status"], unique=False)

    op.execute(
        "INSERT INTO effect (kind, key, incident_id, due_at, payload, status, attempts, last_error, result, "
        "created_at) SELECT kind, key, incident_id, due_at, payload, status, attempts, last_error, '{}', "
        "created_at FROM scheduled_action WHERE status = 'pending'"
    )
    with op.batch_alter_table("scheduled_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduled_action_due_at"))
        batch_op.drop_index(batch_op.f("ix_scheduled_action_incident_id"))
        batch_op.drop_index(batch_op.f("ix_scheduled_action_status"))

    op.drop_table("scheduled_action")
    with op.batch_alter_table("flow_step", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("flow_step", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")

    op.create_table(
        "scheduled_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("due_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("claimed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("done_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_scheduled_action_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_action")),
        sa.UniqueConstraint("key", name=op.f("uq_scheduled_action_key")),
    )
    with op.batch_alter_table("scheduled_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scheduled_action_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_scheduled_action_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_scheduled_action_due_at"), ["due_at"], unique=False)

    op.execute(
        "INSERT INTO scheduled_action (kind, key, incident_id, due_at, payload, status, attempts, last_error, "
        "created_at) SELECT kind, key, incident_id, due_at, payload, status, attempts, last_error, created_at "
        "FROM effect WHERE status = 'pending'"
    )
    with op.batch_alter_table("effect", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_effect_status"))
        batch_op.drop_index(batch_op.f("ix_effect_incident_id"))
        batch_op.drop_index(batch_op.f("ix_effect_due_at"))

    op.drop_table("effect")
    with op.batch_alter_table("bot_process", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_process_heartbeat_at"))

    op.drop_table("bot_process")
