"""Compatibility facade: the cronhub dialect."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("compat_cronhub", __name__, url_prefix="/compat/cronhub")
