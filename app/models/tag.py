"""Tags: labels (name and colour) on monitors, heartbeats and cron jobs, many per item, beside
their one group. Maintenance windows may cover a tag."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import Model, db
from app.models.types import UTCDateTime, utcnow


def _link(name: str, column: str, parent: str) -> sa.Table:
    """An item–tag link table; the index on tag_id serves ``?tag=`` filters."""
    return sa.Table(
        name,
        db.metadata,
        sa.Column(column, sa.ForeignKey(f"{parent}.id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "tag_id", sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
        ),
    )


# Monitors include heartbeats (one table holds both).
monitor_tags = _link("monitor_tags", "monitor_id", "monitors")
cron_job_tags = _link("cron_job_tags", "cron_job_id", "cron_jobs")
maintenance_tags = _link("maintenance_tags", "window_id", "maintenance_windows")


class Tag(Model):
    __tablename__ = "tags"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # Unique regardless of case (services/tags.py looks them up by lower(name)).
    name: so.Mapped[str] = so.mapped_column(sa.String(50), unique=True)
    colour: so.Mapped[str] = so.mapped_column(sa.String(7))  # "#rrggbb"
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
