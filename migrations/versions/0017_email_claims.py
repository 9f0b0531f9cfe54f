"""email: the process sending an e-mail (sent_email.claimed_by)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 13:49:53.970661
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sent_email", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("sent_email", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
