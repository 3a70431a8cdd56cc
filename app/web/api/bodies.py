"""Reading JSON request bodies with a clear 4xx for every way they can be wrong."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from app.web import decoding

NOT_JSON_TYPE = "Send the body as JSON with Content-Type: application/json."
EMPTY = "This request needs a JSON object in its body."


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def json_body(any_content_type: bool = False) -> Any:
    """The request's JSON value: 400 when empty or malformed, 415 for another content type,
    413 above 1 MiB (MAX_CONTENT_LENGTH, raised while reading). The app's error handler
    renders each as ``{"error": …}``; text no database can store is a 422
    (``app.web.decoding``).

    ``any_content_type``: read the body as JSON whatever its declared type, for dialects
    whose servers never looked at it (``curl -d`` sends form encoding). Only for requests
    authenticated by a header, which a cross-site form cannot send.
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadRequest(EMPTY)
    if not any_content_type and not _is_json(request.mimetype):
        raise UnsupportedMediaType(NOT_JSON_TYPE)
    try:
        return decoding.loads(raw)
    except ValueError as exc:
        # Also bad UTF-8 and a pathological nesting depth (decoding.loads).
        detail = str(exc) if isinstance(exc, json.JSONDecodeError) else "unreadable"
        raise BadRequest(f"The body is not valid JSON ({detail}).") from None
