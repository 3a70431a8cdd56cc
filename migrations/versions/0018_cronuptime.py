"""stable uuids, names taken from the URL, interval cron jobs

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 16:40:00.000000

Monitors, cron jobs and incidents get a uuid of their own (CronUptime clients address items
by one; the native API accepts it beside the integer id); every existing row gets a fresh
one. Monitors and cron jobs remember whether their name was taken from their URL (a client
that gave none reads it back as none). A cron job runs on either a cron expression or an
interval in seconds.

"""

import uuid

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_TABLES = ("monitors", "cron_jobs", "incidents")


def upgrade():
    connection = op.get_bind()
    for name in _TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("uuid", sa.String(length=36), nullable=True))
        table = sa.table(name, sa.column("id"), sa.column("uuid"))
        for (row_id,) in connection.execute(sa.select(table.c.id)).fetchall():
            connection.execute(
                table.update().where(table.c.id == row_id).values(uuid=str(uuid.uuid4()))
            )
        with op.batch_alter_table(name) as batch:
            batch.alter_column("uuid", existing_type=sa.String(length=36), nullable=False)
            batch.create_unique_constraint(op.f(f"uq_{name}_uuid"), ["uuid"])
    for name in ("monitors", "cron_jobs"):
        with op.batch_alter_table(name) as batch:
            batch.add_column(
                sa.Column("name_from_url", sa.Boolean(), nullable=False, server_default=sa.false())
            )
    with op.batch_alter_table("cron_jobs") as batch:
        batch.add_column(sa.Column("interval_sec", sa.Integer(), nullable=True))
        batch.alter_column("cron_expr", existing_type=sa.String(length=120), nullable=True)


def downgrade():
    connection = op.get_bind()
    jobs = sa.table("cron_jobs", sa.column("cron_expr"))
    # An interval job has no expression to go back to: it becomes a daily job, better than
    # a row the old code cannot read.
    connection.execute(
        jobs.update().where(jobs.c.cron_expr.is_(None)).values(cron_expr="0 0 * * *")
    )
    with op.batch_alter_table("cron_jobs") as batch:
        batch.alter_column("cron_expr", existing_type=sa.String(length=120), nullable=False)
        batch.drop_column("interval_sec")
    for name in ("monitors", "cron_jobs"):
        with op.batch_alter_table(name) as batch:
            batch.drop_column("name_from_url")
    for name in _TABLES:
        with op.batch_alter_table(name) as batch:
            batch.drop_constraint(op.f(f"uq_{name}_uuid"), type_="unique")
            batch.drop_column("uuid")
