"""Every API route under the auth matrix, the browser-session rule, rate limits and quotas.

The routes come from the app's URL map, so a route added later is covered without touching
this file; the scope each needs comes from its ``@require_scope``.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from app.extensions import db, redis_client
from app.models import ApiKey
from app.services import api_keys, monitors
from tests.conftest import ADMIN_PASSWORD
from tests.integration.conftest import Api


def api_routes(app) -> list[tuple[str, str, str]]:
    """(method, rule, scope) for every route under /api that needs a key."""
    routes = []
    for rule in app.url_map.iter_rules():
        # The public status JSON (/api/status…) belongs to the status page, not this API.
        if not rule.rule.startswith("/api/") or not rule.endpoint.startswith("api."):
            continue
        scope = app.view_functions[rule.endpoint].required_scope
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if scope is not None:
                routes.append((method, rule.rule, scope))
    return sorted(routes)


def fill(rule: str, ids: dict[str, int]) -> str:
    return re.sub(r"<\w+:(\w+)>", lambda m: str(ids[m.group(1)]), rule)


def wrong_scope_for(scope: str) -> str:
    """A real scope that is not ``scope`` and does not grant it."""
    return "system:read" if not scope.startswith("system:") else "monitors:read"


def test_every_route_enforces_keys_scopes_and_allowlists(app, api, seeded):
    routes = api_routes(app)
    assert len(routes) == 56
    now = datetime.now(UTC)
    for method, rule, scope in routes:
        path = fill(rule, seeded)
        body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        resource = scope.split(":")[0]

        def status(key=None, headers=None):
            return api.call(method, path, key, headers=headers, **body).status_code

        where = f"{method} {rule}"
        response = api.call(method, path, **body)
        assert response.status_code == 401, where
        assert response.json["error"].startswith("Missing API key"), where
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert status("upk_" + "x" * 43) == 401, where
        assert status("not-even-a-key") == 401, where

        revoked_id, revoked = api.create_key(scope)
        with app.app_context():
            api_keys.revoke(revoked_id)
        assert status(revoked) == 401, where

        expired_id, expired = api.create_key(scope, expires_at=now + timedelta(hours=1))
        with app.app_context():
            db.session.get(ApiKey, expired_id).expires_at = now - timedelta(seconds=1)
            db.session.commit()
        assert status(expired) == 401, where

        response = api.call(method, path, api.key(wrong_scope_for(scope)), **body)
        assert response.status_code == 403, where
        assert response.json == {"error": f"Insufficient permissions. Required scope: {scope}"}

        outside = api.key("*", allowed_networks=["192.0.2.0/24"])
        response = api.call(method, path, outside, **body)
        assert response.status_code == 403, where
        assert response.json == {"error": "This API key may not be used from your address."}

        for granted in (f"{resource}:*", "*"):
            assert status(api.key(granted)) not in (401, 403), f"{where} with {granted}"
        # A key acts only on keys within its own scopes; the seeded one holds api-keys:read.
        within = ("api-keys:read",) if resource == "api-keys" else ()
        inside = api.key(scope, *within, allowed_networks=["127.0.0.0/8", "::1"])
        assert status(headers={"X-Api-Key": inside}) not in (401, 403), where


def test_keys_are_accepted_in_either_header(api):
    key = api.key("monitors:read")
    assert api.get("/api/monitors", headers={"X-Api-Key": key}).status_code == 200
    assert api.get("/api/monitors", headers={"Authorization": f"bearer {key}"}).status_code == 200
    response = api.get("/api/monitors", headers={"Authorization": f"Basic {key}"})
    assert response.status_code == 401


def test_a_signed_in_admin_may_read_but_not_write_with_the_session(app, logged_in, api):
    with app.app_context():
        code = monitors.create({"kind": "heartbeat", "name": "Backup", "period_sec": 3600}).code
    api.client = logged_in
    # The session reads as every scope does: a heartbeat's ping code is shown.
    response = api.get("/api/monitors")
    assert response.status_code == 200
    assert [m["code"] for m in response.json] == [code]
    assert api.get("/api/system/redis").json["ok"] is True
    response = api.post("/api/monitors", json={"name": "x", "url": "https://example.com/"})
    assert response.status_code == 401
    assert response.json["error"].startswith("Changes through the API need an API key")
    # With a key the same session may write: the key decides, not the cookie.
    response = api.post(
        "/api/monitors", api.key("monitors:write"), json={"name": "x", "url": "https://e.com/"}
    )
    assert response.status_code == 201


def test_setup_status_and_the_reference_need_no_key(api, app):
    assert api.get("/api/setup/status").json == {"completed": False}
    assert api.get("/api/openapi.json").status_code == 200
    assert api.get("/api/docs").status_code == 200


def test_rate_limit_refuses_with_429_and_headers(api):
    key = api.key("monitors:read", rate_limit_per_sec=3)
    responses = [api.get("/api/monitors", key) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    first, last = responses[0], responses[-1]
    assert first.headers["X-RateLimit-Limit"] == "3"
    assert first.headers["X-RateLimit-Remaining"] == "2"
    assert first.headers["X-RateLimit-Reset"] == "1"
    assert last.json == {"error": "Rate limit exceeded: this key may make 3 requests per second."}
    assert last.headers["Retry-After"] == "1"
    assert last.headers["X-RateLimit-Remaining"] == "0"
    # Other keys have their own windows.
    assert api.get("/api/monitors", api.key("monitors:read")).status_code == 200


def test_rate_limit_window_reopens(api, app):
    key = api.key("monitors:read", rate_limit_per_sec=1)
    assert api.get("/api/monitors", key).status_code == 200
    assert api.get("/api/monitors", key).status_code == 429
    with app.app_context():
        for name in redis_client.conn.scan_iter("upcron:ratelimit:*:sec"):
            redis_client.conn.pexpire(name, 1)
    time.sleep(0.01)
    assert api.get("/api/monitors", key).status_code == 200


def test_daily_quota_counts_allowed_requests_until_used_up(api):
    key = api.key("monitors:read", daily_quota=2)
    ok = api.get("/api/monitors", key)
    assert ok.headers["X-Quota-Limit"] == "2" and ok.headers["X-Quota-Remaining"] == "1"
    assert 0 < int(ok.headers["X-Quota-Reset"]) <= 86400
    assert api.get("/api/monitors", key).status_code == 200
    refused = api.get("/api/monitors", key)
    assert refused.status_code == 429
    assert refused.json["error"].startswith("Daily quota exceeded: this key may make 2 requests")
    assert refused.headers["Retry-After"] == refused.headers["X-Quota-Reset"]
    assert refused.headers["X-Quota-Remaining"] == "0"


def test_without_redis_keys_still_work_unlimited(make_app, api):
    key = api.key("monitors:read", rate_limit_per_sec=1)
    down = Api(make_app(REDIS_URL="unix:///nonexistent/redis.sock"))
    responses = [down.get("/api/monitors", key) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "X-RateLimit-Limit" not in responses[0].headers


def test_refused_keys_are_not_counted_as_used(api, app):
    key_id, key = api.create_key("monitors:read", allowed_networks=["192.0.2.1"])
    assert api.get("/api/monitors", key).status_code == 403
    with app.app_context():
        row = db.session.get(ApiKey, key_id)
        assert row.use_count == 0 and row.last_used_at is None


def test_login_credentials_are_not_api_keys(api, admin):
    response = api.get("/api/monitors", headers={"X-Api-Key": ADMIN_PASSWORD})
    assert response.status_code == 401
    assert response.json == {"error": "Invalid API key."}
