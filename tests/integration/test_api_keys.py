"""API keys: secrets shown once and stored hashed, scopes, authentication, use counting, the
key routes and the create-api-key command."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db, redis_client
from app.models import ApiKey
from app.services import api_keys
from app.services.errors import AuthenticationFailed, Forbidden, ValidationError
from tests.conftest import post_form, run_cli

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def test_secret_is_shown_once_and_stored_as_a_salted_hmac(ctx):
    key, secret = api_keys.create({"name": "deploy", "scopes": ["monitors:read"]})
    assert re.fullmatch(r"upk_[A-Za-z0-9_-]{43}", secret)
    assert key.prefix == secret[:12]
    stored = db.session.execute(sa.select(ApiKey.key_hash)).scalar_one()
    assert secret not in stored and secret[12:] not in stored
    scheme, salt, digest = stored.split("$")
    assert scheme == "hmac-sha256" and len(salt) == 32 and len(digest) == 64
    _, other = api_keys.create({"name": "other", "scopes": ["monitors:read"]})
    assert other != secret


def test_create_refuses_unknown_scopes_and_bad_fields(ctx):
    with pytest.raises(ValidationError) as exc:
        api_keys.create(
            {
                "name": "",
                "scopes": ["monitors:read", "monitors:delete"],
                "allowed_networks": ["10.0.0.0/8", "not-a-network"],
                "rate_limit_per_sec": 0,
                "daily_quota": -1,
                "expires_at": "2020-01-01T00:00:00Z",
                "color": "blue",
            }
        )
    fields = exc.value.fields
    assert "monitors:delete" in fields["scopes"]
    assert "not-a-network" in fields["allowed_networks"]
    assert set(fields) == {
        "name",
        "scopes",
        "allowed_networks",
        "rate_limit_per_sec",
        "daily_quota",
        "expires_at",
        "color",
    }
    assert fields["color"] == "Unknown field."
    with pytest.raises(ValidationError) as exc:
        api_keys.create({"name": "empty", "scopes": []})
    assert exc.value.fields == {"scopes": "Give the key at least one scope."}
    assert db.session.execute(sa.select(sa.func.count()).select_from(ApiKey)).scalar() == 0


@pytest.mark.parametrize(
    ("granted", "required", "allowed"),
    [
        (["monitors:read"], "monitors:read", True),
        (["monitors:read"], "monitors:write", False),
        (["monitors:*"], "monitors:write", True),
        (["monitors:*"], "cron-jobs:read", False),
        (["*"], "system:read", True),
        (["cron-jobs:read", "incidents:*"], "incidents:write", True),
        ([], "monitors:read", False),
        # "monitors" must not match "monitors-archive:*"-style neighbours by prefix alone.
        (["api-keys:*"], "api-keys:read", True),
        (["settings:*"], "settings-extra:read", False),
    ],
)
def test_scope_matching(granted, required, allowed):
    assert api_keys.has_scope(granted, required) is allowed


def test_authenticate_finds_the_key_and_refuses_the_rest(ctx):
    key, secret = api_keys.create({"name": "ci", "scopes": ["*"]})
    assert api_keys.authenticate(secret, "127.0.0.1").id == key.id
    for wrong in ("", "upk_", secret[:-1] + ("A" if secret[-1] != "A" else "B"), "hck_x" * 10):
        with pytest.raises(AuthenticationFailed, match="Invalid API key."):
            api_keys.authenticate(wrong, "127.0.0.1")
    api_keys.revoke(key.id)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        api_keys.authenticate(secret, "127.0.0.1")


def test_a_key_must_expire_after_the_moment_it_is_made(ctx):
    with pytest.raises(ValidationError) as exc:
        api_keys.create(
            {"name": "now", "scopes": ["*"], "expires_at": "2026-03-28T12:00:00Z"}, now=NOW
        )
    assert exc.value.fields == {"expires_at": "Choose a moment in the future, or leave it empty."}
    key, _ = api_keys.create(
        {"name": "soon", "scopes": ["*"], "expires_at": "2026-03-28T12:00:01Z"}, now=NOW
    )
    assert key.expires_at == NOW + timedelta(seconds=1)


def test_expired_keys_are_refused(ctx):
    key, secret = api_keys.create(
        {"name": "temp", "scopes": ["*"], "expires_at": "2026-03-28T13:00:00Z"}, now=NOW
    )
    assert api_keys.authenticate(secret, "127.0.0.1", now=NOW).id == key.id
    with pytest.raises(AuthenticationFailed, match="expired"):
        api_keys.authenticate(secret, "127.0.0.1", now=NOW + timedelta(hours=1))


def test_allowlist_accepts_only_listed_networks(ctx):
    _, secret = api_keys.create(
        {"name": "lan", "scopes": ["*"], "allowed_networks": ["10.1.0.0/16", "::1"]}
    )
    assert api_keys.authenticate(secret, "10.1.200.3")
    assert api_keys.authenticate(secret, "::1")
    for address in ("10.2.0.1", "127.0.0.1", "garbage"):
        with pytest.raises(Forbidden, match="may not be used from your address"):
            api_keys.authenticate(secret, address)


def test_uses_are_counted_in_redis_and_written_once_a_minute(ctx):
    key, secret = api_keys.create({"name": "busy", "scopes": ["*"]})
    for _ in range(5):
        api_keys.authenticate(secret, "127.0.0.1", now=NOW)
    row = db.session.get(ApiKey, key.id)
    db.session.refresh(row)
    # The first use wrote to SQL; the next four wait in Redis for the next window.
    assert row.use_count == 1 and row.last_used_at == NOW
    redis_client.conn.delete(f"upcron:apikey:{key.id}:flushed")
    later = NOW + timedelta(minutes=2)
    api_keys.authenticate(secret, "127.0.0.1", now=later)
    db.session.refresh(row)
    assert row.use_count == 6 and row.last_used_at == later


def test_the_list_shows_every_use_so_far(ctx):
    key, secret = api_keys.create({"name": "busy", "scopes": ["*"]})
    for minute in range(4):
        api_keys.authenticate(secret, "127.0.0.1", now=NOW + timedelta(seconds=minute))
    listed = api_keys.list_keys().items[0]
    # Three uses were waiting in Redis for the next window: the list writes them first.
    assert listed.use_count == 4 and listed.last_used_at == NOW + timedelta(seconds=3)
    assert api_keys.list_keys().items[0].use_count == 4  # taken once, not added twice
    api_keys.authenticate(secret, "127.0.0.1", now=NOW + timedelta(seconds=9))
    assert api_keys.get(key.id).use_count == 5


def test_the_keys_page_shows_current_use_counts(client, logged_in):
    with client.application.app_context():
        key, secret = api_keys.create({"name": "busy", "scopes": ["*"]})
    for _ in range(3):
        assert client.get("/api/monitors", headers={"X-Api-Key": secret}).status_code == 200
    assert "3 uses" in client.get("/api-keys/").get_data(as_text=True)


def test_a_key_grants_only_scopes_it_holds(ctx):
    with pytest.raises(ValidationError) as exc:
        api_keys.create(
            {"name": "x", "scopes": ["monitors:read", "settings:write"]},
            granted_by=["api-keys:write", "monitors:*"],
        )
    assert "settings:write" in exc.value.fields["scopes"]
    with pytest.raises(ValidationError):
        api_keys.create(
            {"name": "x", "scopes": ["monitors:*"]},
            granted_by=["api-keys:write", "monitors:read", "monitors:write"],
        )
    key, _ = api_keys.create(
        {"name": "x", "scopes": ["monitors:read", "monitors:*"]}, granted_by=["monitors:*"]
    )
    assert key.scopes == ["monitors:read", "monitors:*"]


def test_revoke_keeps_the_first_time(ctx):
    key, _ = api_keys.create({"name": "x", "scopes": ["*"]})
    first = api_keys.revoke(key.id, now=NOW).revoked_at
    assert api_keys.revoke(key.id, now=NOW + timedelta(days=1)).revoked_at == first == NOW


# --- routes --------------------------------------------------------------------------------


def test_create_list_and_revoke_through_the_api(api):
    admin_key = api.key("api-keys:*", "monitors:read")
    response = api.post(
        "/api/api-keys",
        admin_key,
        json={
            "name": "reader",
            "scopes": ["monitors:read"],
            "allowed_networks": ["127.0.0.0/8"],
            "daily_quota": 1000,
            "expires_at": "2099-01-01T00:00:00Z",
        },
    )
    assert response.status_code == 201, response.json
    created = response.json
    secret = created["key"]
    assert secret.startswith("upk_") and created["prefix"] == secret[:12]
    assert created["status"] == "active" and created["rate_limit_per_sec"] == 10
    assert created["expires_at"] == "2099-01-01T00:00:00Z"
    assert api.get("/api/monitors", secret).status_code == 200

    listed = api.get("/api/api-keys", admin_key)
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "2"
    assert all("key" not in item and "key_hash" not in item for item in listed.json)
    reader = next(item for item in listed.json if item["id"] == created["id"])
    assert reader["use_count"] == 1 and reader["last_used_at"] is not None

    revoked = api.delete(f"/api/api-keys/{created['id']}", admin_key)
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    response = api.get("/api/monitors", secret)
    assert response.status_code == 401
    assert response.json == {"error": "This API key has been revoked."}
    assert api.delete("/api/api-keys/999", admin_key).json == {"error": "API key not found"}


def test_api_refuses_escalation_through_key_creation(api):
    narrow = api.key("api-keys:write")
    response = api.post("/api/api-keys", narrow, json={"name": "root", "scopes": ["*"]})
    assert response.status_code == 422
    assert response.json["fields"]["scopes"].startswith("This key cannot grant *")


def test_a_key_cannot_read_change_or_revoke_a_key_beyond_its_scopes(api, app):
    root_id, root = api.create_key("*")
    narrow = api.key("api-keys:write", "monitors:read")
    path = f"/api/api-keys/{root_id}"
    lacking = {"error": "Insufficient permissions. Required scope: *"}
    for method, body in (("DELETE", None), ("PUT", {"name": "mine now"}), ("PUT", {})):
        response = api.call(method, path, narrow, json=body)
        assert response.status_code == 403, (method, body)
        assert response.json == lacking
    reader = api.key("api-keys:read")
    response = api.get(path, reader)
    assert response.status_code == 403
    assert response.json == {"error": "Insufficient permissions. Required scope: *"}
    # The list shows the key, but not its prefix (a piece of its secret).
    listed = {k["id"]: k for k in api.get("/api/api-keys?per_page=100", reader).json}
    assert listed[root_id]["prefix"] is None and listed[root_id]["name"] == "test key"
    assert root[:12] not in api.get("/api/api-keys?per_page=100", reader).get_data(as_text=True)
    # Every scope it lacks is named, a wildcard counting only under the same wildcard or *.
    other_id, _ = api.create_key("monitors:*", "cron-jobs:write", "api-keys:write")
    response = api.delete(f"/api/api-keys/{other_id}", narrow)
    assert response.json == {
        "error": "Insufficient permissions. Required scope: monitors:*, cron-jobs:write"
    }
    # The root key still works and is unchanged.
    assert api.get(path, root).json["status"] == "active"
    assert api.get(path, root).json["name"] == "test key"


def test_a_key_manages_keys_within_its_scopes(api):
    manager_id, manager = api.create_key("api-keys:*", "monitors:*")
    sub_id, sub = api.create_key("monitors:read", "api-keys:read")
    path = f"/api/api-keys/{sub_id}"
    shown = api.get(path, manager).json
    assert shown["prefix"] == sub[:12] and shown["scopes"] == ["monitors:read", "api-keys:read"]
    changed = api.put(
        path,
        manager,
        json={"name": "ci", "scopes": ["monitors:*"], "rate_limit_per_sec": 5, "daily_quota": 9},
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["name"] == "ci" and changed.json["scopes"] == ["monitors:*"]
    assert (changed.json["rate_limit_per_sec"], changed.json["daily_quota"]) == (5, 9)
    # New scopes must be ones the manager could grant, as on create.
    response = api.put(path, manager, json={"scopes": ["cron-jobs:read"]})
    assert response.status_code == 422
    assert "cannot grant cron-jobs:read" in response.json["fields"]["scopes"]
    response = api.put(path, manager, json={"expires_at": "2020-01-01T00:00:00Z", "x": 1})
    assert response.status_code == 422 and set(response.json["fields"]) == {"expires_at", "x"}
    # A key may revoke itself and keys within its scopes; the list shows their prefixes.
    listed = api.get("/api/api-keys", manager).json
    assert {k["id"]: k["prefix"] for k in listed}[sub_id] == sub[:12]
    assert api.delete(path, manager).json["status"] == "revoked"
    assert api.get("/api/monitors", sub).status_code == 401
    assert api.delete(f"/api/api-keys/{manager_id}", manager).json["status"] == "revoked"


def test_an_admin_session_reads_every_key_and_the_dashboard_revokes_any(logged_in, api, app):
    root_id, root = api.create_key("*")
    api.client = logged_in
    assert api.get(f"/api/api-keys/{root_id}").json["prefix"] == root[:12]
    listed = api.get("/api/api-keys").json
    assert {k["id"]: k["prefix"] for k in listed}[root_id] == root[:12]
    response = post_form(logged_in, f"/api-keys/{root_id}/revoke", {}, form_path="/api-keys/")
    assert response.status_code in (302, 303)
    with app.app_context():
        assert db.session.get(ApiKey, root_id).revoked_at is not None


# --- command line --------------------------------------------------------------------------


def test_create_api_key_command_prints_a_working_key(app, api):
    result = run_cli(
        app, "create-api-key", "--name", "bootstrap", "--scopes", "monitors:read, cron-jobs:*"
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert re.fullmatch(r"upk_[A-Za-z0-9_-]{43}", secret)
    assert "not shown again" in result.stderr and secret not in result.stderr
    assert api.get("/api/cron-jobs", secret).status_code == 200
    response = api.get("/api/incidents", secret)
    assert response.json == {"error": "Insufficient permissions. Required scope: incidents:read"}


def test_create_api_key_command_names_bad_options(app):
    result = run_cli(
        app, "create-api-key", "--name", "x", "--scopes", "monitors:rule", "--daily-quota", "0"
    )
    assert result.exit_code == 1
    assert "--scopes: Unknown scope 'monitors:rule'" in result.output
    assert "--daily-quota:" in result.output


def test_create_api_key_command_imports_a_cronuptime_token(app, api):
    token = "0123456789abcdef" * 4  # CronUptime's format: 32 random bytes as lowercase hex
    args = ("create-api-key", "--name", "cronuptime", "--scopes", "monitors:*")
    result = run_cli(app, *args, "--secret", token)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == token
    assert api.get("/api/monitors", token).status_code == 200
    facade = app.test_client().get(
        "/compat/cronuptime/api/monitors", headers={"Authorization": f"Bearer {token}"}
    )
    assert facade.status_code == 200 and facade.get_json() == []
    # The same token twice, or one of another format, is refused; nothing is written.
    for secret in (token, token.upper(), token[:-1], "upk_" + token):
        result = run_cli(
            app, "create-api-key", "--name", "again", "--scopes", "*", "--secret", secret
        )
        assert result.exit_code == 1 and "--secret:" in result.output
    with app.app_context():
        assert db.session.query(ApiKey).count() == 1
