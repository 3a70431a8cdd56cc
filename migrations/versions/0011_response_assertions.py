"""monitors: response assertions of http and keyword monitors

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 13:30:00.000000

A list of {source, path, op, value}, all of which must hold; empty for every existing
monitor, which therefore checks exactly as before.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("assertions", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("assertions")
