"""Incidents: opened when a monitor goes down or a cron job fails, with a timeline."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import Model
from app.models.types import UTCDateTime, new_uuid, utcnow

if TYPE_CHECKING:
    from app.models.api_key import ApiKey
    from app.models.cron_job import CronJob
    from app.models.monitor import Monitor
    from app.models.user import User


STATUS_OPEN = "open"
STATUS_RESOLVED = "resolved"


class Incident(Model):
    __tablename__ = "incidents"
    __table_args__ = (
        # "Open incidents" and "resolved in the last 14 days" on the dashboard and status page.
        sa.Index("ix_incidents_status_started_at", "status", "started_at"),
        sa.CheckConstraint("(monitor_id IS NULL) <> (cron_job_id IS NULL)", name="one_subject"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), unique=True, default=new_uuid)
    monitor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("monitors.id", ondelete="CASCADE"), index=True
    )
    cron_job_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("cron_jobs.id", ondelete="CASCADE"), index=True
    )
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    cause: so.Mapped[str | None] = so.mapped_column(sa.Text)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default=STATUS_OPEN)
    started_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    resolved_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    monitor: so.Mapped[Monitor | None] = so.relationship()
    cron_job: so.Mapped[CronJob | None] = so.relationship()
    updates: so.Mapped[list[IncidentUpdate]] = so.relationship(
        order_by="IncidentUpdate.created_at",
        cascade="all, delete-orphan",
        back_populates="incident",
    )


class IncidentUpdate(Model):
    __tablename__ = "incident_updates"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    incident_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    # started, comment, resolved, reopened
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), default="comment")
    message: so.Mapped[str] = so.mapped_column(sa.Text)
    # Who wrote the entry: an admin, an API key, or neither (the engine).
    author_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    api_key_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    incident: so.Mapped[Incident] = so.relationship(back_populates="updates")
    author: so.Mapped[User | None] = so.relationship()
    api_key: so.Mapped[ApiKey | None] = so.relationship()
