"""Key/value settings changed at run time; each value is stored as JSON."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.extensions import db, dialect_insert
from app.models import Setting
from app.models.types import utcnow


def get(key: str, default: Any = None) -> Any:
    setting = db.session.get(Setting, key)
    return default if setting is None else setting.value


def put(key: str, value: Any) -> None:
    put_many({key: value})


def put_many(values: dict[str, Any]) -> None:
    """Upsert several settings in one commit."""
    stage(values)
    db.session.commit()


def stage(values: dict[str, Any]) -> None:
    """Upsert settings in the caller's transaction.

    An INSERT … ON CONFLICT rather than read-then-write: two processes saving the same new
    key at once would otherwise collide on the primary key.
    """
    now = utcnow()
    for key, value in values.items():
        statement = dialect_insert(Setting).values(key=key, value=value, updated_at=now)
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=[Setting.key],
                set_={"value": statement.excluded["value"], "updated_at": now},
            )
        )


def delete(key: str) -> None:
    db.session.execute(sa.delete(Setting).where(Setting.key == key))
    db.session.commit()
