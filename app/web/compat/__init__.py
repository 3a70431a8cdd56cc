"""Compatibility facades: other services' API dialects, each under its own prefix.

A facade translates only (auth dialect, parsing, field names, enums, envelopes, errors, limits);
every rule and state change goes through the same services as the native API.
"""

from __future__ import annotations

from flask import Flask

from app.extensions import csrf
from app.web.compat import (
    cron_job_org,
    cronhub,
    cronuptime,
    healthchecks,
    openuptimes,
    setcronjob,
    uptime_kuma,
)


def register(app: Flask) -> None:
    facades = (
        cronhub,
        cron_job_org,
        setcronjob,
        openuptimes,
        uptime_kuma,
        healthchecks,
        cronuptime,
    )
    for facade in facades:
        # Keys arrive in headers, query or body, never in the session cookie: nothing to forge.
        csrf.exempt(facade.bp)
        app.register_blueprint(facade.bp)
