"""/api/maintenance: create, read, change and delete windows, their status and periods, the
422s that name each bad field, and the scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture
def key(api):
    return api.key("maintenance:*")


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


NOW = datetime.now(UTC).replace(microsecond=0)


def nightly(seeded) -> dict:
    """A valid recurring window over the seeded monitor."""
    return {
        "title": "t",
        "cron_expr": "0 1 * * *",
        "duration_min": 5,
        "monitor_ids": [seeded["monitor_id"]],
    }


def test_crud_with_status_and_periods(api, key, seeded):
    one_off = {
        "title": "Database upgrade",
        "message": "Moving to PostgreSQL 18.",
        "starts_at": iso(NOW + timedelta(hours=1)),
        "ends_at": iso(NOW + timedelta(hours=3)),
        "monitor_ids": [seeded["monitor_id"]],
    }
    created = api.post("/api/maintenance", key, json=one_off)
    assert created.status_code == 201, created.json
    window = created.json
    assert window["kind"] == "one_off" and window["status"] == "scheduled"
    assert window["occurrences"] == [
        {"starts_at": one_off["starts_at"], "ends_at": one_off["ends_at"]}
    ]
    assert (window["monitor_ids"], window["cron_job_ids"], window["group_ids"]) == (
        [seeded["monitor_id"]],
        [],
        [],
    )
    path = f"/api/maintenance/{window['id']}"
    assert api.get(path, key).json == window

    moved = api.put(path, key, json={"starts_at": iso(NOW - timedelta(minutes=5))}).json
    assert moved["status"] == "active" and moved["title"] == "Database upgrade"

    recurring = api.put(
        path,
        key,
        json={
            "starts_at": None,
            "ends_at": None,
            "cron_expr": "0 3 * * 0",
            "duration_min": 90,
            "timezone": "europe/berlin",
            "cron_job_ids": [seeded["cron_job_id"]],
        },
    ).json
    assert recurring["kind"] == "recurring" and recurring["timezone"] == "Europe/Berlin"
    assert len(recurring["occurrences"]) == 5
    first = recurring["occurrences"][0]
    span = datetime.fromisoformat(first["ends_at"]) - datetime.fromisoformat(first["starts_at"])
    assert span == timedelta(minutes=90)
    assert recurring["cron_job_ids"] == [seeded["cron_job_id"]]

    listing = api.get("/api/maintenance?per_page=1", key)
    assert listing.status_code == 200 and listing.headers["X-Total-Count"] == "2"
    assert [w["id"] for w in listing.json] == [seeded["window_id"]]  # starts latest
    assert 'rel="next"' in listing.headers["Link"]

    assert api.delete(path, key).json == {"success": True}
    assert api.get(path, key).status_code == 404
    assert [w["id"] for w in api.get("/api/maintenance", key).json] == [seeded["window_id"]]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"title": "x", "starts_at": iso(NOW + timedelta(hours=2)),
             "ends_at": iso(NOW + timedelta(hours=1)), "monitor_ids": "MID"},
            {"ends_at"},
        ),
        ({"title": "x", "cron_expr": "0 0 31 2 *", "duration_min": 5, "monitor_ids": "MID"},
         {"cron_expr"}),
        ({"title": "x", "cron_expr": "0 1 * * *", "duration_min": 0, "monitor_ids": "MID"},
         {"duration_min"}),
        ({"title": "x", "cron_expr": "0 1 * * *", "duration_min": 5, "timezone": "Mars/Base",
          "monitor_ids": "MID"}, {"timezone"}),
        ({"title": "x", "cron_expr": "0 1 * * *", "duration_min": 5, "monitor_ids": [999999]},
         {"monitor_ids"}),
        ({"title": "x", "cron_expr": "0 1 * * *", "duration_min": 5, "group_ids": [999999],
          "cron_job_ids": ["a"]}, {"group_ids", "cron_job_ids"}),
        ({"title": "x\x00y", "cron_expr": "0 1 * * *", "duration_min": 5,
          "monitor_ids": "MID"}, {"title"}),
        ({"title": "<script>alert(1)</script>" * 10, "message": "m" * 5001,
          "cron_expr": "0 1 * * *", "duration_min": 5, "monitor_ids": "MID"},
         {"title", "message"}),
        ({"title": "   ", "cron_expr": "0 1 * * *", "duration_min": 5, "monitor_ids": "MID"},
         {"title"}),
        ({"title": "x", "cron_expr": "0 1 * * *", "duration_min": 5}, {"targets"}),
        ({"title": "x", "cron_expr": "0 1 * * *", "starts_at": iso(NOW), "duration_min": 5,
          "ends_at": iso(NOW + timedelta(hours=1)), "monitor_ids": "MID"}, {"cron_expr"}),
        ({"title": "x", "cron_expr": "0 1 * * *", "monitor_ids": "MID"}, {"duration_min"}),
        ({"title": "x", "starts_at": "tomorrow", "ends_at": iso(NOW), "monitor_ids": "MID"},
         {"starts_at"}),
        ({"monitor_ids": "MID", "colour": "red"}, {"title", "colour", "starts_at", "ends_at"}),
    ],
)  # fmt: skip
def test_bad_bodies_get_422_naming_each_field(api, key, seeded, body, fields):
    body = {k: [seeded["monitor_id"]] if v == "MID" else v for k, v in body.items()}
    response = api.post("/api/maintenance", key, json=body)
    assert response.status_code == 422, response.json
    assert set(response.json["fields"]) == fields
    # Nothing half-written: only the seeded window is there.
    assert [w["id"] for w in api.get("/api/maintenance", key).json] == [seeded["window_id"]]


def test_an_update_is_checked_as_a_whole(api, key, seeded):
    window = api.post("/api/maintenance", key, json=nightly(seeded)).json
    path = f"/api/maintenance/{window['id']}"
    response = api.put(path, key, json={"monitor_ids": []})
    assert response.status_code == 422 and set(response.json["fields"]) == {"targets"}
    response = api.put(path, key, json={"duration_min": None})
    assert set(response.json["fields"]) == {"duration_min"}
    assert api.get(path, key).json["duration_min"] == 5


def test_scopes(api, seeded):
    read = api.key("maintenance:read")
    other = api.key("monitors:*")
    body = nightly(seeded)
    assert api.get("/api/maintenance", other).status_code == 403
    assert api.get("/api/maintenance", read).status_code == 200
    refused = api.post("/api/maintenance", read, json=body)
    assert refused.status_code == 403
    assert refused.json["error"] == "Insufficient permissions. Required scope: maintenance:write"
    assert api.get("/api/maintenance").status_code == 401
