"""Compatibility facade: the setcronjob dialect."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("compat_setcronjob", __name__, url_prefix="/compat/setcronjob")
