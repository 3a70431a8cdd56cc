"""heartbeats' Uptime Kuma push tokens

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 16:30:00.000000

Every existing heartbeat gets a fresh random token, as a new one does.

"""

import secrets
import string

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_ALPHABET = string.ascii_letters + string.digits


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("push_token", sa.String(length=32), nullable=True))
        batch.create_unique_constraint(op.f("uq_monitors_push_token"), ["push_token"])
    monitors = sa.table("monitors", sa.column("id"), sa.column("kind"), sa.column("push_token"))
    connection = op.get_bind()
    ids = connection.execute(sa.select(monitors.c.id).where(monitors.c.kind == "heartbeat"))
    for (monitor_id,) in ids.fetchall():
        token = "".join(secrets.choice(_ALPHABET) for _ in range(32))
        connection.execute(
            monitors.update().where(monitors.c.id == monitor_id).values(push_token=token)
        )


def downgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.drop_constraint(op.f("uq_monitors_push_token"), type_="unique")
        batch.drop_column("push_token")
