"""HTTP surfaces, thin: parse input, call a service, render or serialise."""

from __future__ import annotations

from flask import Flask

from app.engine import state
from app.services import beats, reasons
from app.web import (
    api,
    api_keys,
    assets,
    auth,
    bulk,
    charts,
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
    metrics,
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
    # What every list and detail page draws the same way: beat bars, sparklines, durations.
    app.add_template_global(charts.beat_bar, "beat_bar")
    app.add_template_global(charts.sparkline, "sparkline")
    app.add_template_filter(charts.ms, "ms")
    app.jinja_env.globals["beat_limit"] = beats.LIMIT
    # Outcomes in words, the same on every page (the API and notifications use them too).
    app.add_template_global(reasons.outcome, "outcome_words")
    app.add_template_global(reasons.of_check, "check_reason")
    app.add_template_global(reasons.of_execution, "run_reason")
    app.add_template_global(reasons.of_cron_job, "cron_reason")
    # An item's health, decided once for every page, list, status page and facade.
    app.add_template_global(state.health, "health")
    app.add_template_filter(charts.localised_times, "times")
    decoding.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
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
