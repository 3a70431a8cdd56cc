"""Compatibility facade: the cron_job_org dialect."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("compat_cron_job_org", __name__, url_prefix="/compat/cron-job-org")
