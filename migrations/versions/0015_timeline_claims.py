"""timeline: reaction captures in progress (timeline_claim), so a removal on any replica wins

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 12:02:17.634601
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "timeline_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_timeline_claim_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline_claim")),
    )
    with op.batch_alter_table("timeline_claim", schema=None) as batch_op:
        batch_op.create_index("ix_timeline_claim_incident_key", ["incident_id", "dedupe_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("timeline_claim", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_claim_incident_key")

    op.drop_table("timeline_claim")
