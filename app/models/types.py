"""Column types shared by every model."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa


def utcnow() -> datetime:
    """The current time as an aware UTC datetime: the only kind of datetime Upcron stores."""
    return datetime.now(UTC)


def new_uuid() -> str:
    """A fresh random uuid as text: the stable public id of a monitor, cron job or incident
    (what CronUptime clients address them by; the native API accepts it beside the id)."""
    return str(uuid.uuid4())


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Stores aware datetimes as UTC and always gives back aware UTC datetimes.

    SQLite has no time zones and would hand back naive values; refusing naive input keeps
    local wall times from ever reaching the database.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = _as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # On SQLite, each of the two steps above and DATETIME's conversion to and from text are
    # fused into one: every row read or written converts its datetimes, a ping about eight.

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value):
            # DATETIME's text, "2026-01-31 23:59:59.000001" (always six digits of
            # microseconds, so text order is time order), is isoformat's less "+00:00".
            return None if value is None else _as_utc(value).isoformat(" ", "microseconds")[:-6]

        return process

    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value):
            if value is None:
                return None
            try:
                return datetime.fromisoformat(value + "+00:00")
            except ValueError:  # text written elsewhere, with an offset of its own
                return datetime.fromisoformat(value).astimezone(UTC)

        return process
