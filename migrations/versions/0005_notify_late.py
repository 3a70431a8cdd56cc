"""heartbeats: alert on late

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:20:00.000000

Whether a heartbeat's "late" (past its expected time, inside its grace period) is announced
to its channels, as "down" and "up" always are. On by default, as before.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(
            sa.Column("notify_late", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("notify_late")
