"""monitors: kind dns (record_type, resolver, expected_values)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 12:00:00.000000

A dns monitor keeps the name it asks for in host, the column tcp monitors connect to. The
new columns are empty for every existing monitor.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("record_type", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("resolver", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("expected_values", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("expected_values")
        batch.drop_column("resolver")
        batch.drop_column("record_type")
