"""incident type resolution required

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-01 21:36:28.939840
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing types need no resolution to close, as before.
    with op.batch_alter_table("incident_type", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resolution_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("incident_type", schema=None) as batch_op:
        batch_op.drop_column("resolution_required")
