"""WSGI entry point: ``gunicorn wsgi:app``."""

import sys

from app import create_app
from app.config import ConfigError

try:
    app = create_app(migrations=False)
except ConfigError as exc:
    sys.exit(f"upcron: {exc}")
