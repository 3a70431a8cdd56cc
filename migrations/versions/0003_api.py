"""api: incident timeline entries written by an API key

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-26 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("incident_updates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("api_key_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_incident_updates_api_key_id_api_keys"),
            "api_keys",
            ["api_key_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("incident_updates", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_incident_updates_api_key_id_api_keys"), type_="foreignkey"
        )
        batch_op.drop_column("api_key_id")
