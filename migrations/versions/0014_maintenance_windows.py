"""maintenance windows, their targets, and results marked as made under maintenance

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 13:30:00.000000

Existing results and rollups were made outside any window: the new columns default to
false and 0.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _target(name: str, column: str, parent: str, index: bool) -> None:
    op.create_table(
        name,
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column(column, sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["window_id"], ["maintenance_windows.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint([column], [f"{parent}.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("window_id", column),
    )
    if index:
        op.create_index(f"ix_{name}_{column}", name, [column])


def upgrade():
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cron_expr", sa.String(length=120), nullable=True),
        sa.Column("duration_min", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_maintenance_windows_ends_at", "maintenance_windows", ["ends_at"])
    _target("maintenance_monitors", "monitor_id", "monitors", index=True)
    _target("maintenance_cron_jobs", "cron_job_id", "cron_jobs", index=True)
    _target("maintenance_groups", "group_id", "groups", index=False)
    for table in ("check_results", "cron_executions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("maintenance", sa.Boolean(), nullable=False, server_default=sa.false())
            )
    with op.batch_alter_table("daily_rollups") as batch:
        batch.add_column(
            sa.Column("maintenance_checks", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade():
    with op.batch_alter_table("daily_rollups") as batch:
        batch.drop_column("maintenance_checks")
    for table in ("cron_executions", "check_results"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("maintenance")
    op.drop_table("maintenance_groups")
    op.drop_index("ix_maintenance_cron_jobs_cron_job_id", "maintenance_cron_jobs")
    op.drop_table("maintenance_cron_jobs")
    op.drop_index("ix_maintenance_monitors_monitor_id", "maintenance_monitors")
    op.drop_table("maintenance_monitors")
    op.drop_index("ix_maintenance_windows_ends_at", "maintenance_windows")
    op.drop_table("maintenance_windows")
