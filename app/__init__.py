"""Upcron: uptime monitors, HTTP cron jobs and heartbeat monitoring in one server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app import config as config_module
from app import logs
from app.config import PROJECT_ROOT

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict | None = None, web: bool = True, migrations: bool = True) -> Flask:
    """Build the Flask app: settings, extensions, blueprints and CLI commands — nothing else.

    What a process does not use it leaves out, since each import stays in its memory for as
    long as it runs (bench/memory.py): ``web``, the pages and the API, which the worker and
    the scheduler never serve (some 15 MiB each); ``migrations``, Flask-Migrate with its
    `upcron db` commands, which the web, worker and scheduler processes never run (Alembic is
    some 11 MiB of every process that imports it).
    """
    # Here rather than at the top: gunicorn's master and `upcron up` import this package
    # (app.config, app.logs) but never build the app.
    from flask import Flask

    settings = config_module.load()
    settings.update(config or {})
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_DIR"],
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=None,  # served by app.web.assets under content-hashed names
    )
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # tokens live as long as the session that signs them
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.config.update(settings)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A database server can drop idle connections; a SQLite file cannot, and testing
        # each checkout with a query would cost every ping one more statement for nothing.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    app.jinja_env.add_extension("jinja2.ext.do")
    logs.configure(app.config["LOG_LEVEL"])

    from app import extensions, models  # noqa: F401  (models register their tables)

    extensions.db.init_app(app)
    if migrations:
        from flask_migrate import Migrate

        Migrate(
            app, extensions.db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True
        )
    extensions.csrf.init_app(app)
    extensions.htmx.init_app(app)
    extensions.redis_client.init_app(app)
    extensions.login_manager.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            extensions.configure_sqlite(extensions.db.engine)

    if web:
        from app.web import register

        register(app)
    return app
