"""monitors: the degraded state (degraded_after_ms and its alert toggles)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 13:20:00.000000

A monitor is degraded when it answers with a warning: slower than degraded_after_ms, or a
TLS certificate that expires soon. Existing monitors keep degraded_after_ms empty (never
slow), announce certificate warnings and not slowness; check results keep their warning.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("degraded_after_ms", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                "notify_degraded_slow", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(
            sa.Column(
                "notify_degraded_certificate",
                sa.Boolean(),
                nullable=False,
                server_default=sa.true(),
            )
        )
        batch.add_column(
            sa.Column("consecutive_warnings", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("consecutive_clean", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("last_warning", sa.Text(), nullable=True))
        batch.add_column(sa.Column("degraded_kind", sa.String(length=16), nullable=True))
    with op.batch_alter_table("check_results") as batch:
        batch.add_column(sa.Column("warning", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("check_results") as batch:
        batch.drop_column("warning")
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("degraded_kind")
        batch.drop_column("last_warning")
        batch.drop_column("consecutive_clean")
        batch.drop_column("consecutive_warnings")
        batch.drop_column("notify_degraded_certificate")
        batch.drop_column("notify_degraded_slow")
        batch.drop_column("degraded_after_ms")
