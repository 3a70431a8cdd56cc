"""Notification channels: where alerts about state changes are sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow

KIND_EMAIL = "email"
KIND_WEBHOOK = "webhook"
KIND_APPRISE = "apprise"
KINDS = (KIND_EMAIL, KIND_WEBHOOK, KIND_APPRISE)


class NotificationChannel(Model):
    __tablename__ = "notification_channels"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    # Kind-specific settings (addresses, URL, headers, signing secret).
    config: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    enabled: so.Mapped[bool] = so.mapped_column(default=True)
    is_default: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
