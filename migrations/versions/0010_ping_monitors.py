"""monitors: kind ping (packets, max_loss_pct); check results: echoes and round trips

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 13:30:00.000000

A ping monitor keeps its host in host, as tcp and dns monitors do. Its check results record
the echo requests sent and answered and the round trips (min, avg, max) of those answered;
the new columns are empty for every existing monitor and result.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_RESULT_COLUMNS = ("packets_sent", "packets_received", "rtt_min_us", "rtt_avg_us", "rtt_max_us")


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("packets", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("max_loss_pct", sa.Integer(), nullable=True))
    with op.batch_alter_table("check_results") as batch:
        for name in _RESULT_COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("check_results") as batch:
        for name in reversed(_RESULT_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("max_loss_pct")
        batch.drop_column("packets")
