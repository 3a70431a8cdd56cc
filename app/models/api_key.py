"""API keys: a random secret shown once, kept as a keyed hash behind a visible prefix."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow


class ApiKey(Model):
    __tablename__ = "api_keys"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    # The first characters of the secret: how a request finds its key, and what the
    # dashboard shows. Unique so the lookup is one indexed read.
    prefix: so.Mapped[str] = so.mapped_column(sa.String(16), unique=True)
    key_hash: so.Mapped[str] = so.mapped_column(sa.String(128))
    scopes: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    allowed_networks: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    rate_limit_per_sec: so.Mapped[int] = so.mapped_column(default=10)
    daily_quota: so.Mapped[int | None] = so.mapped_column()
    expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    use_count: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
