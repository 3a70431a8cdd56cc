"""Compatibility facade: the openuptimes dialect."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("compat_openuptimes", __name__, url_prefix="/compat/openuptimes")
