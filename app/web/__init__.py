"""HTTP surfaces, thin: parse input, call a service, render or serialise."""

from __future__ import annotations

from flask import Flask

from app.web import (
    api,
    api_keys,
    assets,
    auth,
    bulk,
    compat,
    configuration,
    cron_jobs,
    dashboard,
    decoding,
    errors,
    health,
    heartbeats,
    incidents,
    maintenance,
    monitors,
    notifications,
    ping,
    security,
    settings,
    status,
    system,
    tags,
)


def register(app: Flask) -> None:
    assets.init_app(app)
    decoding.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(monitors.bp)
    app.register_blueprint(cron_jobs.bp)
    app.register_blueprint(heartbeats.bp)
    app.register_blueprint(bulk.bp)
    app.register_blueprint(incidents.bp)
    app.register_blueprint(maintenance.bp)
    app.register_blueprint(api_keys.bp)
    app.register_blueprint(settings.bp)
    app.register_blueprint(configuration.bp)
    app.register_blueprint(tags.bp)
    app.register_blueprint(system.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(ping.bp)
    app.register_blueprint(ping.hosted_bp)
    app.register_blueprint(status.bp)
    compat.register(app)
