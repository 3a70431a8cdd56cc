"""/api/tags: the tags items carry, with how many items carry each."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.services import tags
from app.web.api import bp
from app.web.api import serializers as out
from app.web.api.auth import require_scope
from app.web.api.bodies import json_body


@bp.get("/tags")
@require_scope("tags:read")
def list_tags() -> ResponseReturnValue:
    return jsonify([out.tag(tag, uses) for tag, uses in tags.list_tags()])


@bp.post("/tags")
@require_scope("tags:write")
def create_tag() -> ResponseReturnValue:
    return jsonify(out.tag(tags.create(json_body()))), 201


@bp.get("/tags/<id:tag_id>")
@require_scope("tags:read")
def get_tag(tag_id: int) -> ResponseReturnValue:
    return jsonify(out.tag(tags.get(tag_id)))


@bp.put("/tags/<id:tag_id>")
@require_scope("tags:write")
def update_tag(tag_id: int) -> ResponseReturnValue:
    return jsonify(out.tag(tags.update(tag_id, json_body())))


@bp.delete("/tags/<id:tag_id>")
@require_scope("tags:write")
def delete_tag(tag_id: int) -> ResponseReturnValue:
    tags.delete(tag_id)
    return jsonify(success=True)
