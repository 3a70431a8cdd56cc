"""/api/export, /api/import and /api/export.schema.json: the whole configuration as one
document. Scopes ``settings:read`` (export) and ``settings:write`` (import, and an export
with secrets); the schema is public, like the API's own reference."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

from app.services import config
from app.services.errors import Forbidden, ValidationError
from app.web.api import bp
from app.web.api.auth import principal, public, require_scope

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def _flag(name: str) -> bool:
    return request.args.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@bp.get("/export")
@require_scope("settings:read")
def export() -> ResponseReturnValue:
    fmt = request.args.get("format", "json")
    if fmt not in config.FORMATS:
        raise ValidationError({"format": f"Choose one of {', '.join(config.FORMATS)}."})
    with_secrets = _flag("with_secrets")
    if with_secrets and not principal().can("settings:write"):
        raise Forbidden("Exporting secrets needs the settings:write scope.")
    text = config.dump(config.export_document(with_secrets), fmt)
    mimetype = "application/yaml" if fmt == "yaml" else "application/json"
    return Response(text, mimetype=mimetype)


@bp.get("/export.schema.json")
@public
def export_schema() -> ResponseReturnValue:
    return jsonify(config.schema())


@bp.post("/import")
@require_scope("settings:write")
def import_document() -> ResponseReturnValue:
    """The body is the file itself: a JSON or YAML document (by Content-Type; JSON unless
    it says YAML), or with ``source`` another tool's export as it was downloaded."""
    request.max_content_length = config.SIZE_MAX
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise BadRequest("Send the document (or the file to convert) as the request body.")
    source = request.args.get("source", "upcron")
    fmt = None
    if source == "upcron":
        fmt = "yaml" if request.mimetype in _YAML_TYPES else "json"
    result = config.import_file(
        raw, source=source, fmt=fmt, prune=_flag("prune"), dry_run=_flag("dry_run")
    )
    return jsonify(result)
