"""monitors: kind tcp (host, port, tls)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 11:20:00.000000

Existing monitors keep their URL; the new columns are empty for them and tls is false.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("host", sa.String(length=253), nullable=True))
        batch.add_column(sa.Column("port", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("tls", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("tls")
        batch.drop_column("port")
        batch.drop_column("host")
