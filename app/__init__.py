"""Upcron: uptime monitors, HTTP cron jobs and heartbeat monitoring in one server."""

from __future__ import annotations

from flask import Flask

from app import config as config_module
from app import logs
from app.config import PROJECT_ROOT


def create_app(config: dict | None = None) -> Flask:
    """Build the Flask app: settings, extensions, blueprints and CLI commands — nothing else."""
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
    extensions.migrate.init_app(
        app, extensions.db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True
    )
    extensions.csrf.init_app(app)
    extensions.htmx.init_app(app)
    extensions.redis_client.init_app(app)
    extensions.login_manager.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            extensions.configure_sqlite(extensions.db.engine)

    from app.web import register

    register(app)
    return app
