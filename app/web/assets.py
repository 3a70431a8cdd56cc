"""Static files under content-hashed names, cached by browsers for a year.

``url_for("static", filename="app.css")`` builds ``/static/app.1a2b3c4d5e6f.css``: the name
changes whenever the content does, so the answer can be ``immutable`` and a page costs no
revalidation of its stylesheet and scripts. The plain name still answers (with ``no-cache``),
for links kept from before a change. Hashes follow the file's modification time, so an
edited file gets a new name without a restart.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, send_from_directory
from werkzeug.security import safe_join

from app.config import PROJECT_ROOT

STATIC = str(PROJECT_ROOT / "static")
IMMUTABLE = "public, max-age=31536000, immutable"
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<suffix>\.[A-Za-z0-9]+)$")
# filename -> (modification time, digest); a handful of files, computed on first use.
_digests: dict[str, tuple[int, str]] = {}


def init_app(app: Flask) -> None:
    """Serve static/ as the ``static`` endpoint with hashed names (the app is created
    without Flask's own static route)."""
    app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=serve)
    app.url_defaults(_hashed_name)


def _digest(filename: str) -> str | None:
    path = safe_join(STATIC, filename)
    if path is None:
        return None
    try:
        modified = os.stat(path).st_mtime_ns
    except OSError:
        return None
    known = _digests.get(filename)
    if known is None or known[0] != modified:
        known = (modified, hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12])
        _digests[filename] = known
    return known[1]


def _hashed_name(endpoint: str, values: dict[str, Any]) -> None:
    if endpoint != "static" or "filename" not in values:
        return
    filename = values["filename"]
    digest = _digest(filename)
    if digest:
        stem, dot, suffix = filename.rpartition(".")
        values["filename"] = f"{stem}.{digest}.{suffix}" if dot else f"{filename}.{digest}"


def serve(filename: str) -> Response:
    """A static file by its hashed name (cached for a year) or its plain one (revalidated).
    A hashed name whose digest is not the file's current one gets the current file, not
    cached, so a stale page still finds its stylesheet."""
    match = _HASHED.match(filename)
    if match:
        plain = match["stem"] + match["suffix"]
        if _digest(plain) is not None:
            response = send_from_directory(STATIC, plain, max_age=0)
            if _digest(plain) == match["digest"]:
                response.headers["Cache-Control"] = IMMUTABLE
            else:
                response.headers["Cache-Control"] = "no-cache"
            return response
    if _digest(filename) is None:
        abort(404)
    response = send_from_directory(STATIC, filename, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
