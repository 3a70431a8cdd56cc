"""tags on monitors, heartbeats and cron jobs, and maintenance windows that cover a tag

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 16:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_LINKS = (
    ("monitor_tags", "monitor_id", "monitors"),
    ("cron_job_tags", "cron_job_id", "cron_jobs"),
    ("maintenance_tags", "window_id", "maintenance_windows"),
)


def upgrade():
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("colour", sa.String(length=7), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
    )
    for name, column, parent in _LINKS:
        op.create_table(
            name,
            sa.Column(column, sa.Integer(), nullable=False),
            sa.Column("tag_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint([column], [f"{parent}.id"], ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint(column, "tag_id"),
        )
        op.create_index(f"ix_{name}_tag_id", name, ["tag_id"])


def downgrade():
    for name, _column, _parent in reversed(_LINKS):
        op.drop_index(f"ix_{name}_tag_id", name)
        op.drop_table(name)
    op.drop_table("tags")
