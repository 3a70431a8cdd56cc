"""Flask extensions, created unbound here and bound to an app in ``create_app``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis
import sqlalchemy as sa
from flask import current_app
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import orm as so
from sqlalchemy.dialects import postgresql, sqlite


class Base(so.DeclarativeBase):
    # Stable constraint names, so Alembic can alter constraints on SQLite and PostgreSQL alike.
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


# Rows keep their loaded values after a commit: reading them again would open a new
# transaction, and on SQLite every transaction holds the write lock until it ends.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})

# The base class of our models. At run time it is ``db.Model``: Flask-SQLAlchemy's Model
# (``query``, binds) on a declarative base that shares Base's metadata and registry. mypy
# cannot take an attribute as a base class (python/mypy#8603), so it reads the same class
# spelled out.
if TYPE_CHECKING:
    from flask_sqlalchemy.model import Model as _FlaskModel

    class Model(_FlaskModel, Base):
        __abstract__ = True
else:
    Model = db.Model


def dialect_insert(table, dialect_name: str | None = None):
    """An INSERT that can say ON CONFLICT, for the database in use (PostgreSQL or SQLite);
    ``dialect_name`` for a statement built once per kind of database."""
    name = dialect_name or db.session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)


login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()


class RedisClient:
    """One Redis connection pool per app, shared by web requests, the scheduler and jobs."""

    def init_app(self, app):
        app.extensions["upcron_redis"] = redis.Redis.from_url(
            app.config["REDIS_URL"],
            socket_connect_timeout=2,
            socket_timeout=5,
            health_check_interval=30,
        )

    @property
    def conn(self) -> redis.Redis:
        return current_app.extensions["upcron_redis"]


redis_client = RedisClient()


def configure_sqlite(engine: sa.Engine) -> None:
    """WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE on every SQLite connection.

    pysqlite starts transactions lazily as DEFERRED; two writers that both read first then
    deadlock on the upgrade to a write lock and one fails at once with "database is locked",
    whatever the busy timeout. Taking the write lock at BEGIN makes writers queue instead.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
