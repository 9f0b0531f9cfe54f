"""resolution required, after-hours and thread hints

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:38:24.070708
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults fill the rows already there: existing priorities warn, nothing was said yet.
    with op.batch_alter_table("incident_priority", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("delayed_message_warning", sa.Boolean(), nullable=False, server_default=sa.true())
        )

    with op.batch_alter_table("incident_type", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resolution_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("thread_reminded", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("after_hours_warned", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("after_hours_warned")
        batch_op.drop_column("thread_reminded")

    with op.batch_alter_table("incident_type", schema=None) as batch_op:
        batch_op.drop_column("resolution_required")

    with op.batch_alter_table("incident_priority", schema=None) as batch_op:
        batch_op.drop_column("delayed_message_warning")
