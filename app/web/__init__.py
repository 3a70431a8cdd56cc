"""HTTP surfaces, thin: parse input, call a service, render or serialise."""

from __future__ import annotations

from flask import Flask

from app.web import api, auth, dashboard, errors, health, notifications, ping, security, status


def register(app: Flask) -> None:
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(ping.bp)
    app.register_blueprint(status.bp)
