"""cases: the case and signal configuration (case_type, case_priority, case_severity,
case_resolution_reason, signal_definition)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 12:57:53.547628
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import storage.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_resolution_reason",
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_resolution_reason")),
        sa.UniqueConstraint("name", name=op.f("uq_case_resolution_reason_name")),
    )
    op.create_table(
        "case_priority",
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("view_order", sa.Integer(), nullable=False),
        sa.Column("page_assignee", sa.Boolean(), nullable=False),
        sa.Column("delayed_message_warning", sa.Boolean(), nullable=False),
        sa.Column("color", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_case_priority_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_priority")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_case_priority_project_id_name")),
    )
    with op.batch_alter_table("case_priority", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_priority_project_id"), ["project_id"], unique=False)

    op.create_table(
        "case_severity",
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("view_order", sa.Integer(), nullable=False),
        sa.Column("color", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_case_severity_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_severity")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_case_severity_project_id_name")),
    )
    with op.batch_alter_table("case_severity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_severity_project_id"), ["project_id"], unique=False)

    op.create_table(
        "case_type",
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("visibility", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("oncall_service_id", sa.Integer(), nullable=True),
        sa.Column("conversation_target", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("incident_type_id", sa.Integer(), nullable=True),
        sa.Column("auto_close", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_type_id"],
            ["incident_type.id"],
            name=op.f("fk_case_type_incident_type_id_incident_type"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["oncall_service_id"],
            ["service.id"],
            name=op.f("fk_case_type_oncall_service_id_service"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_case_type_project_id_project"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_type")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_case_type_project_id_name")),
    )
    with op.batch_alter_table("case_type", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_type_project_id"), ["project_id"], unique=False)

    op.create_table(
        "signal_definition",
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("variant", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("case_type_id", sa.Integer(), nullable=True),
        sa.Column("case_priority_id", sa.Integer(), nullable=True),
        sa.Column("create_case", sa.Boolean(), nullable=False),
        sa.Column("dedupe_window_minutes", sa.Integer(), nullable=False),
        sa.Column("conversation_target", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("match_pattern", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column(
            "entity_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_priority_id"],
            ["case_priority.id"],
            name=op.f("fk_signal_definition_case_priority_id_case_priority"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_type_id"],
            ["case_type.id"],
            name=op.f("fk_signal_definition_case_type_id_case_type"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_signal_definition_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_definition")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_signal_definition_project_id_name")),
    )
    with op.batch_alter_table("signal_definition", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signal_definition_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signal_definition", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signal_definition_project_id"))

    op.drop_table("signal_definition")
    with op.batch_alter_table("case_type", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_type_project_id"))

    op.drop_table("case_type")
    with op.batch_alter_table("case_severity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_severity_project_id"))

    op.drop_table("case_severity")
    with op.batch_alter_table("case_priority", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_priority_project_id"))

    op.drop_table("case_priority")
    op.drop_table("case_resolution_reason")
