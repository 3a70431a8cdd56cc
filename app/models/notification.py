"""The notification log: one row per alert and channel, and one row per attempt to send it.

A log row is created in the transaction that records the state change it announces, under an
idempotency key unique per (transition, channel): the same transition processed twice finds
its row already there, so exactly one alert goes out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow

# Waiting for its first or next attempt, not before next_attempt_at.
STATUS_PENDING = "pending"
# An attempt holds the row; next_attempt_at is when that claim lapses (the worker died).
STATUS_SENDING = "sending"
STATUS_SENT = "sent"
# Given up: every attempt failed, or the failure was one that retrying cannot change.
STATUS_FAILED = "failed"
# The channel was disabled or deleted before the alert could be sent.
STATUS_CANCELLED = "cancelled"
STATUSES = (STATUS_PENDING, STATUS_SENDING, STATUS_SENT, STATUS_FAILED, STATUS_CANCELLED)


class NotificationLog(Model):
    __tablename__ = "notification_log"
    __table_args__ = (
        # The delivery log, newest first.
        sa.Index("ix_notification_log_created_at", "created_at"),
        # The upkeep job's look for unfinished rows whose job was lost.
        sa.Index("ix_notification_log_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: so.Mapped[int] = so.mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    # SHA-256 of (subject, event, transition, channel): one alert per transition and channel.
    key: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    # The delivery log of one channel.
    channel_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("notification_channels.id", ondelete="SET NULL"), index=True
    )
    # Copies, so the log still reads well after the channel is renamed or deleted.
    channel_name: so.Mapped[str] = so.mapped_column(sa.String(100))
    channel_kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    # monitor, cron_job or channel (a test message); no foreign key: the log outlives them.
    subject_type: so.Mapped[str] = so.mapped_column(sa.String(16))
    subject_id: so.Mapped[int | None] = so.mapped_column()
    event: so.Mapped[str] = so.mapped_column(sa.String(40))  # monitor.down, incident.updated…
    # What the alert says, fixed when it is created, so every retry sends the same message.
    payload: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default=STATUS_PENDING)
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    attempt_log: so.Mapped[list[NotificationAttempt]] = so.relationship(
        order_by="NotificationAttempt.number",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class NotificationAttempt(Model):
    __tablename__ = "notification_attempts"

    id: so.Mapped[int] = so.mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    log_id: so.Mapped[int] = so.mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        sa.ForeignKey("notification_log.id", ondelete="CASCADE"),
        index=True,
    )
    number: so.Mapped[int] = so.mapped_column()  # 1 for the first attempt
    started_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    duration_ms: so.Mapped[int] = so.mapped_column()
    ok: so.Mapped[bool] = so.mapped_column()
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)
