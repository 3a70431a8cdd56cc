"""heartbeats: a bound on recent pings that spares most pings the rate limit's count

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 19:00:00.000000

rate_count is at least the number of the heartbeat's pings stored since rate_since
(app.services.pings._check_rate). Existing heartbeats start without a bound: their next ping
counts the last minute and sets one.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("rate_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rate_count", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("rate_count")
        batch.drop_column("rate_since")
