"""/api/api-keys: list, create (the secret is in the creation response only) and revoke."""

from __future__ import annotations

from flask import jsonify, request

from app.models.types import utcnow
from app.services import api_keys
from app.web.api import bp
from app.web.api import serializers as out
from app.web.api.auth import principal, require_scope
from app.web.api.bodies import json_body


@bp.get("/api-keys")
@require_scope("api-keys:read")
def list_api_keys():
    page = api_keys.list_keys(request.args.get("page", 1), request.args.get("per_page", 50))
    now = utcnow()
    return out.page_response(page, [out.api_key(k, now) for k in page.items])


@bp.post("/api-keys")
@require_scope("api-keys:write")
def create_api_key():
    # Writes always come with a key (never a session): it can grant only what it holds.
    key, secret = api_keys.create(json_body(), granted_by=principal().scopes)
    return jsonify({**out.api_key(key, utcnow()), "key": secret}), 201


@bp.delete("/api-keys/<id:key_id>")
@require_scope("api-keys:write")
def revoke_api_key(key_id: int):
    return jsonify(out.api_key(api_keys.revoke(key_id), utcnow()))
