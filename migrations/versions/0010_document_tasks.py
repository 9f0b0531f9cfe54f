"""tasks kept in a document too: the comment id, its last seen resolved state, its link

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:24:22.257642
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("external_resolved", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("weblink", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("weblink")
        batch_op.drop_column("external_resolved")
        batch_op.drop_column("external_id")
