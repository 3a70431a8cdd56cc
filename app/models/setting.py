"""Key/value settings changed at run time (history retention, status page, SMTP…)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow


class Setting(Model):
    __tablename__ = "settings"

    key: so.Mapped[str] = so.mapped_column(sa.String(100), primary_key=True)
    value: so.Mapped[Any] = so.mapped_column(sa.JSON)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
