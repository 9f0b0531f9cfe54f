"""knowledge: definitions and what each incident was told

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 14:08:14.915315
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import storage.types

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "definition",
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("term", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column(
            "synonyms",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("link", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_definition_project_id_project"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definition")),
        sa.UniqueConstraint("project_id", "term", name=op.f("uq_definition_project_id_term")),
    )
    with op.batch_alter_table("definition", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_definition_project_id"), ["project_id"], unique=False)

    op.create_table(
        "incident_memory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("effect_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_incident_memory_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_memory")),
        sa.UniqueConstraint(
            "incident_id", "kind", "name", name=op.f("uq_incident_memory_incident_id_kind_name")
        ),
    )
    with op.batch_alter_table("incident_memory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_memory_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incident_memory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_memory_incident_id"))

    op.drop_table("incident_memory")
    with op.batch_alter_table("definition", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_definition_project_id"))

    op.drop_table("definition")
