"""HTTP cron jobs: a URL we call on a cron schedule or every so many seconds, logging every
execution."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import Model, db
from app.models.types import UTCDateTime, new_uuid, utcnow

if TYPE_CHECKING:
    from app.models.channel import NotificationChannel
    from app.models.group import Group
    from app.models.tag import Tag


cron_job_channels = sa.Table(
    "cron_job_channels",
    db.metadata,
    sa.Column("cron_job_id", sa.ForeignKey("cron_jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "channel_id",
        sa.ForeignKey("notification_channels.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


class CronJob(Model):
    __tablename__ = "cron_jobs"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), unique=True, default=new_uuid)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    # Given no name, a job is named after its URL (and follows it); see Monitor.
    name_from_url: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    slug: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    group_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("groups.id", ondelete="SET NULL"), index=True
    )
    public: so.Mapped[bool] = so.mapped_column(default=False)
    position: so.Mapped[int] = so.mapped_column(default=0)

    url: so.Mapped[str] = so.mapped_column(sa.Text)
    method: so.Mapped[str] = so.mapped_column(sa.String(10), default="GET")
    headers: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    body: so.Mapped[str | None] = so.mapped_column(sa.Text)
    auth_username: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    auth_password: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    # The schedule: a cron expression read in ``timezone``, or else an interval in seconds
    # counted from the job's last run (its creation before the first); exactly one is set.
    cron_expr: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    interval_sec: so.Mapped[int | None] = so.mapped_column()
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="UTC")
    timeout_ms: so.Mapped[int] = so.mapped_column(default=30000)
    expected_status: so.Mapped[str] = so.mapped_column(sa.String(200), default="200-299")
    redirect_success: so.Mapped[bool] = so.mapped_column(default=False)
    enabled: so.Mapped[bool] = so.mapped_column(default=True)
    expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    save_responses: so.Mapped[bool] = so.mapped_column(default=False)
    auto_disable_after: so.Mapped[int] = so.mapped_column(default=15)
    disabled_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)

    # TLS (https URLs), as for monitors: tls_verify False accepts any certificate; the latest
    # certificate seen is kept; tls_expiry_warn_days (0 = off) announces an expiring one.
    tls_verify: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    tls_expiry_warn_days: so.Mapped[int] = so.mapped_column(default=14, server_default="14")
    tls_expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    tls_subject: so.Mapped[str | None] = so.mapped_column(sa.Text)
    tls_issuer: so.Mapped[str | None] = so.mapped_column(sa.Text)
    tls_sans: so.Mapped[list[str] | None] = so.mapped_column(sa.JSON)
    tls_fingerprint: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    notify_on_failure: so.Mapped[bool] = so.mapped_column(default=True)
    notify_failure_after: so.Mapped[int] = so.mapped_column(default=1)
    notify_on_recovery: so.Mapped[bool] = so.mapped_column(default=True)
    notify_on_disable: so.Mapped[bool] = so.mapped_column(default=True)

    consecutive_failures: so.Mapped[int] = so.mapped_column(default=0)
    last_run_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_outcome: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    last_duration_ms: so.Mapped[int | None] = so.mapped_column()
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    group: so.Mapped[Group | None] = so.relationship(lazy="joined")
    channels: so.Mapped[list[NotificationChannel]] = so.relationship(secondary=cron_job_channels)
    tags: so.Mapped[list[Tag]] = so.relationship(secondary="cron_job_tags", order_by="Tag.name")
