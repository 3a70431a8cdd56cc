"""pings and heartbeats: run ids pairing a start ping with the ping that ends its run

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 16:30:00.000000

pings.rid is the run id a ping came with (?rid=<uuid>), monitors.last_start_rid the run id
of the start ping of the run in progress; both empty for pings without one.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pings") as batch:
        batch.add_column(sa.Column("rid", sa.String(36), nullable=True))
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("last_start_rid", sa.String(36), nullable=True))


def downgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("last_start_rid")
    with op.batch_alter_table("pings") as batch:
        batch.drop_column("rid")
