"""Uptime Kuma's push URLs, /api/push/<token>: what its push monitors' scripts send (the curl
line its dashboard shows, with the host swapped), its answers, the push token every
heartbeat has, and what a push does to the heartbeat as the native API sees it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Monitor, Ping
from app.services import monitors
from app.web.compat.uptime_kuma import NOT_FOUND
from tests.integration.conftest import Api

NOT_FOUND_ANSWER = {"ok": False, "msg": NOT_FOUND}


@pytest.fixture
def api(app):
    return Api(app)


def heartbeat(app, **data) -> Monitor:
    with app.app_context():
        return monitors.create({"kind": "heartbeat", "name": "Backup", "period_sec": 3600} | data)


def pings_of(app, monitor_id: int) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Ping.kind, Ping.body, Ping.duration_ms, Ping.method)
            .where(Ping.monitor_id == monitor_id)
            .order_by(Ping.id)
        )
        return [tuple(row) for row in rows]


def state_of(app, monitor_id: int) -> tuple:
    with app.app_context():
        monitor = db.session.get(Monitor, monitor_id)
        return monitor.state, monitor.last_duration_ms, monitor.last_error


def test_every_heartbeat_has_a_push_token_that_the_api_shows_to_writers(app, api):
    made = api.post(
        "/api/monitors",
        api.key("*"),
        json={"type": "heartbeat", "name": "Backup", "period_sec": 3600},
    ).json
    assert len(made["push_token"]) == 32 and made["push_token"].isalnum()
    assert made["push_url"] == f"{app.config['BASE_URL']}/api/push/{made['push_token']}"
    reader = api.get(f"/api/monitors/{made['id']}", api.key("monitors:read")).json
    assert "push_token" not in reader and "push_url" not in reader
    uptime = api.post(
        "/api/monitors", api.key("*"), json={"name": "a", "url": "https://a.example.com/"}
    )
    assert "push_token" not in uptime.json


def test_the_dashboards_curl_line_pushes_up_and_down_with_message_and_run_time(app, client):
    beat = heartbeat(app)
    token = beat.push_token
    # What Uptime Kuma's push monitor page shows, host swapped.
    up = client.get(f"/api/push/{token}?status=up&msg=OK&ping=")
    assert (up.status_code, up.json) == (200, {"ok": True})
    assert state_of(app, beat.id) == ("up", None, None)

    down = client.post(f"/api/push/{token}?status=down&msg=disk%20full&ping=1234.6")
    assert down.json == {"ok": True}
    state, duration, error = state_of(app, beat.id)
    assert (state, duration) == ("down", 1235) and "failure" in error
    assert client.get(f"/api/push/{token}").json == {"ok": True}  # up, msg "OK"
    assert client.get(f"/api/push/{token}?status=nonsense&ping=12ms").json == {"ok": True}
    assert pings_of(app, beat.id) == [
        ("success", "OK", None, "GET"),
        ("fail", "disk full", 1235, "POST"),
        ("success", "OK", None, "GET"),
        ("fail", "OK", 12, "GET"),  # anything but "up" is down; ping read as parseFloat
    ]


def test_unknown_paused_or_out_of_range_answers_404_as_uptime_kuma_does(app, client):
    beat = heartbeat(app)
    for path in (
        "/api/push/unknown",
        "/api/push/" + "x" * 33,
        "/api/push/%F0%9F%92%A5",
    ):
        answer = client.get(path)
        assert (answer.status_code, answer.json) == (404, NOT_FOUND_ANSWER), path
    # NUL never reaches a facade: the app refuses it in any URL, as it does everywhere.
    assert client.get("/api/push/a%00b").status_code == 422
    out_of_range = client.get(f"/api/push/{beat.push_token}?ping=-1")
    assert out_of_range.status_code == 404
    assert out_of_range.json == {
        "ok": False,
        "msg": "Invalid ping value. Must be between 0 and 100000000000 ms.",
    }
    assert client.get(f"/api/push/{beat.push_token}?ping=Infinity").status_code == 404
    with app.app_context():
        monitors.pause(beat.id)
    paused = client.get(f"/api/push/{beat.push_token}")
    assert (paused.status_code, paused.json) == (404, NOT_FOUND_ANSWER)
    assert pings_of(app, beat.id) == []  # nothing was recorded


def test_hostile_messages_are_kept_safely(app, client):
    beat = heartbeat(app)
    # NUL is refused in any query string before it reaches a route, as everywhere.
    refused = client.get(f"/api/push/{beat.push_token}", query_string={"msg": "nul\x00byte"})
    assert refused.status_code == 422
    # A lone surrogate as a client would send it (its UTF-8-like bytes), and a huge message.
    for query in ("msg=%ED%A0%80", "msg=" + "x" * 200_000):
        answer = client.get(f"/api/push/{beat.push_token}?{query}")
        assert answer.status_code == 200, query[:10]
    bodies = [body for _, body, _, _ in pings_of(app, beat.id)]
    assert len(bodies) == 2 and len(bodies[1]) <= 100 * 1024


def test_an_imported_token_is_kept_taken_ones_are_refused_and_regenerating_replaces_it(app, api):
    key = api.key("*")
    body = {
        "type": "heartbeat",
        "name": "Imported",
        "period_sec": 60,
        "push_token": "kumaToken_0123456789",
    }
    made = api.post("/api/monitors", key, json=body)
    assert made.status_code == 201 and made.json["push_token"] == "kumaToken_0123456789"
    twin = api.post("/api/monitors", key, json=body | {"name": "Twin"})
    assert twin.status_code == 422
    assert twin.json["fields"] == {"push_token": "Another heartbeat has this push token."}
    bad = api.post("/api/monitors", key, json=body | {"push_token": "a/b"})
    assert "push_token" in bad.json["fields"]
    uptime = api.post(
        "/api/monitors", key, json={"name": "a", "url": "https://a.example.com/", "push_token": "x"}
    )
    assert uptime.json["fields"] == {"push_token": "Only heartbeat monitors use this field."}
    assert api.client.get("/api/push/kumaToken_0123456789").json == {"ok": True}

    renewed = api.post(f"/api/monitors/{made.json['id']}/regenerate-code", key).json
    assert renewed["push_token"] != "kumaToken_0123456789"
    assert api.client.get("/api/push/kumaToken_0123456789").status_code == 404
    assert api.client.get(f"/api/push/{renewed['push_token']}").json == {"ok": True}


def test_the_detail_page_shows_the_push_url(app, logged_in):
    beat = heartbeat(app)
    page = logged_in.get(f"/heartbeats/{beat.id}").get_data(as_text=True)
    assert f"/api/push/{beat.push_token}" in page and "Uptime Kuma push URL" in page


def test_push_before_setup(app, client):
    beat = heartbeat(app)  # no admin exists yet
    assert client.get(f"/api/push/{beat.push_token}").json == {"ok": True}


def test_the_migration_gives_existing_heartbeats_a_token(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        beat = monitors.create({"kind": "heartbeat", "name": "Old", "period_sec": 3600})
        db.session.remove()
        downgrade(revision="0015")  # before this migration
        upgrade()
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        token = monitors.get(beat.id).push_token
        assert len(token) == 32 and token.isalnum() and token != beat.push_token
