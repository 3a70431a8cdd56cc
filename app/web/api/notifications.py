"""/api/notification-channels and /api/notifications/log: where alerts go, a test send, and
what was delivered. Scopes ``settings:read`` and ``settings:write``."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.services import channels, notifications
from app.web.api import bp
from app.web.api import serializers as out
from app.web.api.auth import require_scope
from app.web.api.bodies import json_body


@bp.get("/notification-channels")
@require_scope("settings:read")
def list_channels() -> ResponseReturnValue:
    args = request.args
    page = channels.page_of_channels(page=args.get("page", 1), per_page=args.get("per_page", 50))
    return out.page_response(page, [out.channel(c) for c in page.items])


@bp.post("/notification-channels")
@require_scope("settings:write")
def create_channel() -> ResponseReturnValue:
    return jsonify(out.channel(channels.create(json_body()))), 201


@bp.get("/notification-channels/<id:channel_id>")
@require_scope("settings:read")
def get_channel(channel_id: int) -> ResponseReturnValue:
    return jsonify(out.channel(channels.get(channel_id)))


@bp.put("/notification-channels/<id:channel_id>")
@require_scope("settings:write")
def update_channel(channel_id: int) -> ResponseReturnValue:
    return jsonify(out.channel(channels.update(channel_id, json_body())))


@bp.delete("/notification-channels/<id:channel_id>")
@require_scope("settings:write")
def delete_channel(channel_id: int) -> ResponseReturnValue:
    channels.delete(channel_id)
    return jsonify(success=True)


@bp.post("/notification-channels/<id:channel_id>/test")
@require_scope("settings:write")
def test_channel(channel_id: int) -> ResponseReturnValue:
    """Send a test now and answer its outcome; a failed send is a result, not an error."""
    return jsonify(channels.send_test(channel_id))


@bp.get("/notifications/log")
@require_scope("settings:read")
def notification_log() -> ResponseReturnValue:
    args = request.args
    page = notifications.list_log(
        status=args.get("status"),
        channel_id=args.get("channel_id"),
        event=args.get("event"),
        page=args.get("page", 1),
        per_page=args.get("per_page", 50),
    )
    return out.page_response(page, [out.notification(row) for row in page.items])
