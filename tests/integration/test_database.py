"""The schema the migrations build is the schema the models describe, and SQLite is tuned
for concurrent writers."""

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db
from app.models import Group, Setting


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_datetimes_come_back_aware_utc(app):
    with app.app_context():
        db.session.add(Group(name="g", created_at=datetime(2026, 3, 29, 1, 30, tzinfo=UTC)))
        db.session.commit()
        db.session.expire_all()
        stored = db.session.execute(sa.select(Group.created_at)).scalar_one()
        assert stored == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
        assert stored.tzinfo is not None


def test_sqlite_stores_datetimes_as_sqlalchemy_text_in_time_order(app):
    """The fused SQLite conversion writes exactly DATETIME's text (which queries written
    against it compare as text), from any zone, and reads it back aware."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite stores datetimes as text")
        plain = sa.DateTime().dialect_impl(db.engine.dialect).bind_processor(db.engine.dialect)
        moments = [
            datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
            datetime(2026, 3, 29, 1, 0, 0, 1, tzinfo=UTC),
            datetime(2026, 3, 29, 3, 59, 59, 999999, tzinfo=timezone(timedelta(hours=3))),
            datetime(987, 1, 2, 3, 4, 5, tzinfo=UTC),
        ]
        for n, moment in enumerate(moments):
            db.session.add(Group(name=f"g{n}", created_at=moment))
        db.session.commit()
        with db.engine.connect() as conn:
            texts = conn.exec_driver_sql("SELECT created_at FROM groups ORDER BY name").scalars()
            assert list(texts) == [plain(m.astimezone(UTC).replace(tzinfo=None)) for m in moments]
            order = conn.exec_driver_sql("SELECT name FROM groups ORDER BY created_at").scalars()
            assert list(order) == ["g3", "g2", "g0", "g1"]
        db.session.expire_all()
        stored = db.session.scalars(sa.select(Group.created_at).order_by(Group.name)).all()
        assert stored == moments
        assert {value.tzinfo for value in stored} == {UTC}
        # A row written by other means, with an offset of its own, is read in UTC too.
        db.session.execute(
            sa.text("UPDATE groups SET created_at = '2026-03-29 03:00:00+02:00' WHERE name = 'g0'")
        )
        db.session.commit()
        stored = db.session.scalars(sa.select(Group.created_at).where(Group.name == "g0")).one()
        assert stored == moments[0] and stored.tzinfo is UTC


def test_naive_datetimes_are_refused(app):
    with app.app_context():
        db.session.add(Group(name="naive", created_at=datetime(2026, 1, 1)))
        with pytest.raises(sa.exc.StatementError):
            db.session.commit()
        db.session.rollback()


def test_sqlite_runs_in_wal_with_foreign_keys(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_concurrent_read_then_write_transactions_never_see_locked(app):
    """Each thread reads, then writes, in one transaction: the pattern that makes deferred
    SQLite transactions fail with "database is locked"."""
    errors = []

    def writer(n):
        with app.app_context():
            try:
                for i in range(15):
                    db.session.execute(sa.select(sa.func.count(Setting.key))).scalar()
                    db.session.add(Setting(key=f"t{n}.{i}", value=i))
                    db.session.commit()
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count(Setting.key))).scalar() == 90
