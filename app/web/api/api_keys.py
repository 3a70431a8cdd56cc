"""/api/api-keys: list, read, create (the secret is in the creation response only), change
and revoke. A key acts only on keys whose scopes are within its own (``api_keys.get``); the
list shows the others without their prefix, a piece of their secret."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.models.types import utcnow
from app.services import api_keys
from app.web.api import bp
from app.web.api import serializers as out
from app.web.api.auth import principal, require_scope
from app.web.api.bodies import json_body


def _acting() -> tuple[str, ...] | None:
    """The scopes the caller acts with; None for an admin's browser session (every key)."""
    return None if principal().api_key is None else principal().scopes


@bp.get("/api-keys")
@require_scope("api-keys:read")
def list_api_keys() -> ResponseReturnValue:
    page = api_keys.list_keys(request.args.get("page", 1), request.args.get("per_page", 50))
    now, acting = utcnow(), _acting()
    return out.page_response(
        page, [out.api_key(k, now, show_prefix=api_keys.within(acting, k)) for k in page.items]
    )


@bp.get("/api-keys/<id:key_id>")
@require_scope("api-keys:read")
def get_api_key(key_id: int) -> ResponseReturnValue:
    return jsonify(out.api_key(api_keys.get(key_id, _acting()), utcnow()))


@bp.post("/api-keys")
@require_scope("api-keys:write")
def create_api_key() -> ResponseReturnValue:
    # Writes always come with a key (never a session): it can grant only what it holds.
    key, secret = api_keys.create(json_body(), granted_by=principal().scopes)
    return jsonify({**out.api_key(key, utcnow()), "key": secret}), 201


@bp.put("/api-keys/<id:key_id>")
@require_scope("api-keys:write")
def update_api_key(key_id: int) -> ResponseReturnValue:
    key = api_keys.update(key_id, json_body(), acting=_acting())
    return jsonify(out.api_key(key, utcnow()))


@bp.delete("/api-keys/<id:key_id>")
@require_scope("api-keys:write")
def revoke_api_key(key_id: int) -> ResponseReturnValue:
    return jsonify(out.api_key(api_keys.revoke(key_id, acting=_acting()), utcnow()))
