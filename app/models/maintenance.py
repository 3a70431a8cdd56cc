"""Maintenance windows: planned periods during which chosen items are checked but never
alert, neither open incidents nor send notifications."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import Model, db
from app.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from app.models.cron_job import CronJob
    from app.models.group import Group
    from app.models.monitor import Monitor
    from app.models.tag import Tag


# What a window covers. Monitors include heartbeats (one table holds both). A group covers
# the items in it when the window is evaluated, so an item added to the group later is
# covered too; so does a tag (its table is maintenance_tags, in app/models/tag.py).
maintenance_monitors = sa.Table(
    "maintenance_monitors",
    db.metadata,
    sa.Column(
        "window_id", sa.ForeignKey("maintenance_windows.id", ondelete="CASCADE"), primary_key=True
    ),
    # Which windows cover a monitor: the item's detail page.
    sa.Column(
        "monitor_id", sa.ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)
maintenance_cron_jobs = sa.Table(
    "maintenance_cron_jobs",
    db.metadata,
    sa.Column(
        "window_id", sa.ForeignKey("maintenance_windows.id", ondelete="CASCADE"), primary_key=True
    ),
    # Which windows cover a cron job: the item's detail page.
    sa.Column(
        "cron_job_id",
        sa.ForeignKey("cron_jobs.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)
maintenance_groups = sa.Table(
    "maintenance_groups",
    db.metadata,
    sa.Column(
        "window_id", sa.ForeignKey("maintenance_windows.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("group_id", sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)


class MaintenanceWindow(Model):
    """One-off (``starts_at`` to ``ends_at``) or recurring (each ``cron_expr`` instant in
    ``timezone``, for ``duration_min`` minutes); the other pair of columns is empty."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (
        # The active and upcoming one-off windows: every batch of checks asks for them.
        sa.Index("ix_maintenance_windows_ends_at", "ends_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    message: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    starts_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    ends_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    cron_expr: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    duration_min: so.Mapped[int | None] = so.mapped_column()
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="UTC")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    monitors: so.Mapped[list[Monitor]] = so.relationship(
        secondary=maintenance_monitors, order_by="Monitor.name"
    )
    cron_jobs: so.Mapped[list[CronJob]] = so.relationship(
        secondary=maintenance_cron_jobs, order_by="CronJob.name"
    )
    groups: so.Mapped[list[Group]] = so.relationship(
        secondary=maintenance_groups, order_by="Group.name"
    )
    tags: so.Mapped[list[Tag]] = so.relationship(secondary="maintenance_tags", order_by="Tag.name")

    @property
    def recurring(self) -> bool:
        return self.cron_expr is not None
