"""Bulk actions through the service, POST /api/bulk and `upcron bulk`: every action on a mix
of monitors, heartbeats and cron jobs, unknown ids and bad input changing nothing, one
transaction, and the scopes each request needs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.engine import scheduler as sched
from app.extensions import db, redis_client
from app.models import CronJob, Incident, MaintenanceWindow, Monitor
from app.models.types import utcnow
from app.services import bulk, channels, cron_jobs, incidents, maintenance, monitors, tags
from app.services.errors import ValidationError
from tests.conftest import run_cli


@pytest.fixture
def items(app):
    """Two uptime monitors (one paused), a heartbeat and two cron jobs (one disabled)."""
    with app.app_context():
        shop = monitors.create({"name": "Shop", "url": "https://shop.example.com/"})
        api = monitors.create({"name": "API", "url": "https://api.example.com/", "paused": True})
        beat = monitors.create({"kind": "heartbeat", "name": "Backup", "period_sec": 3600})
        nightly = cron_jobs.create(
            {"name": "Nightly", "url": "https://ops.example.com/n", "cron_expr": "0 2 * * *"}
        )
        weekly = cron_jobs.create(
            {"name": "Weekly", "url": "https://ops.example.com/w", "cron_expr": "0 3 * * 0",
             "enabled": False}
        )  # fmt: skip
        return {
            "shop": shop.id,
            "api": api.id,
            "beat": beat.id,
            "nightly": nightly.id,
            "weekly": weekly.id,
        }


def state(app) -> dict:
    """Every item as (paused or disabled, tag names, channel ids), by name."""
    with app.app_context():
        db.session.remove()
        rows = {}
        for m in db.session.execute(sa.select(Monitor)).scalars():
            rows[m.name] = (m.paused, sorted(t.name for t in m.tags), [c.id for c in m.channels])
        for j in db.session.execute(sa.select(CronJob)).scalars():
            rows[j.name] = (
                not j.enabled,
                sorted(t.name for t in j.tags),
                [c.id for c in j.channels],
            )
        return rows


def due(app, member: str) -> bool:
    with app.app_context():
        return redis_client.conn.zscore(sched.KEY_DUE, member) is not None


def run(app, data):
    with app.app_context():
        return bulk.run(data)


# --- the service ---------------------------------------------------------------------------


def test_pause_and_resume_a_mix_say_what_changed(app, items):
    with app.app_context():
        incidents.open_incident(monitor_id=items["shop"], title="down", cause="x", now=utcnow())
        incidents.open_incident(cron_job_id=items["nightly"], title="x", cause="x", now=utcnow())
        db.session.commit()
    assert due(app, f"m:{items['shop']}") and due(app, f"c:{items['nightly']}")
    everything = {
        "action": "pause",
        "monitor_ids": [items["shop"], items["api"], items["beat"]],
        "cron_job_ids": [items["nightly"], items["weekly"]],
    }
    result = run(app, everything)
    assert result.changed == {"monitor_ids": [items["shop"], items["beat"]],
                              "cron_job_ids": [items["nightly"]]}  # fmt: skip
    assert result.unchanged == {"monitor_ids": [items["api"]], "cron_job_ids": [items["weekly"]]}
    assert bulk.describe(result) == "Paused 3 items; 2 were already paused."
    assert all(paused for paused, _, _ in state(app).values())
    # As monitors.pause and cron_jobs.disable do: off the schedule, open incidents resolved.
    assert not due(app, f"m:{items['shop']}") and not due(app, f"c:{items['nightly']}")
    with app.app_context():
        assert (
            db.session.execute(
                sa.select(sa.func.count())
                .select_from(Incident)
                .where(Incident.resolved_at.is_(None))
            ).scalar_one()
            == 0
        )
        assert db.session.get(Monitor, items["beat"]).state == "paused"

    result = run(app, everything | {"action": "resume"})
    assert sorted(result.changed["monitor_ids"]) == sorted(
        [items["shop"], items["api"], items["beat"]]
    )
    assert result.unchanged == {"monitor_ids": [], "cron_job_ids": []}
    assert not any(paused for paused, _, _ in state(app).values())
    assert due(app, f"m:{items['shop']}") and due(app, f"c:{items['weekly']}")
    with app.app_context():
        assert db.session.get(Monitor, items["shop"]).state == "pending"
        assert db.session.get(Monitor, items["beat"]).state == "new"
        assert db.session.get(CronJob, items["weekly"]).consecutive_failures == 0

    only_jobs = run(app, {"action": "pause", "cron_job_ids": [items["weekly"]]})
    assert bulk.describe(only_jobs) == "Disabled 1 cron job."


def test_delete_removes_items_their_history_and_schedule(app, items):
    result = run(
        app,
        {"action": "delete", "monitor_ids": [items["shop"], items["beat"]],
         "cron_job_ids": [items["weekly"]]},
    )  # fmt: skip
    assert result.changed == {"monitor_ids": [items["shop"], items["beat"]],
                              "cron_job_ids": [items["weekly"]]}  # fmt: skip
    assert set(state(app)) == {"API", "Nightly"}
    assert not due(app, f"m:{items['shop']}") and not due(app, f"h:{items['beat']}")
    assert bulk.describe(result, ("monitor", "monitors")) == (
        "Deleted 3 monitors with their history."
    )


def test_tag_and_untag_add_and_remove_only_the_names_given(app, items):
    with app.app_context():
        monitors.update(items["shop"], {"tags": ["prod"]})
    result = run(
        app,
        {"action": "tag", "tags": ["Prod", "db"], "monitor_ids": [items["shop"], items["beat"]],
         "cron_job_ids": [items["nightly"]]},
    )  # fmt: skip
    assert result.changed["monitor_ids"] == [items["shop"], items["beat"]]
    rows = state(app)
    assert rows["Shop"][1] == ["db", "prod"] and rows["Backup"][1] == ["db", "prod"]
    assert rows["Nightly"][1] == ["db", "prod"] and rows["API"][1] == []
    again = run(app, {"action": "tag", "tags": ["db"], "monitor_ids": [items["shop"]]})
    assert again.unchanged["monitor_ids"] == [items["shop"]]
    assert bulk.describe(again) == "Tagged 0 items with db; 1 was already tagged."

    result = run(
        app,
        {"action": "untag", "tags": ["PROD", "nowhere"],
         "monitor_ids": [items["shop"], items["api"]], "cron_job_ids": [items["nightly"]]},
    )  # fmt: skip
    assert result.changed == {"monitor_ids": [items["shop"]], "cron_job_ids": [items["nightly"]]}
    assert result.unchanged == {"monitor_ids": [items["api"]], "cron_job_ids": []}
    rows = state(app)
    assert rows["Shop"][1] == ["db"] and rows["Nightly"][1] == ["db"]
    with app.app_context():  # untagging never makes a tag
        assert "nowhere" not in {tag.name for tag, _ in tags.list_tags()}


def test_set_channels_replaces_them(app, items):
    with app.app_context():
        ops = channels.create({"name": "Ops", "kind": "email", "addresses": "ops@example.com"}).id
        dev = channels.create({"name": "Dev", "kind": "email", "addresses": "dev@example.com"}).id
        monitors.update(items["shop"], {"channels": [ops]})
    data = {"action": "set_channels", "channel_ids": [dev, ops],
            "monitor_ids": [items["shop"]], "cron_job_ids": [items["nightly"]]}  # fmt: skip
    result = run(app, data)
    assert result.changed["monitor_ids"] == [items["shop"]]
    assert sorted(state(app)["Shop"][2]) == sorted([ops, dev])
    assert run(app, data).unchanged["cron_job_ids"] == [items["nightly"]]
    cleared = run(app, data | {"channel_ids": []})
    assert cleared.changed["cron_job_ids"] == [items["nightly"]]
    assert state(app)["Nightly"][2] == [] and state(app)["Shop"][2] == []


def test_maintenance_covers_exactly_the_items_from_now(app, items):
    result = run(
        app,
        {"action": "maintenance", "minutes": "30", "monitor_ids": [items["beat"]],
         "cron_job_ids": [items["nightly"]]},
    )  # fmt: skip
    with app.app_context():
        window = db.session.get(MaintenanceWindow, result.window_id)
        assert window.title == "Maintenance of 2 items"
        assert (window.ends_at - window.starts_at).total_seconds() == 30 * 60
        covered = maintenance.covered()
        assert set(covered.monitors) == {items["beat"]}
        assert set(covered.cron_jobs) == {items["nightly"]}
    assert bulk.describe(result) == "Started 30 minutes of maintenance on 2 items."
    one = run(app, {"action": "maintenance", "minutes": 5, "monitor_ids": [items["shop"]]})
    with app.app_context():
        assert db.session.get(MaintenanceWindow, one.window_id).title == "Maintenance of Shop"


def errors(app, data) -> dict[str, str]:
    with app.app_context(), pytest.raises(ValidationError) as info:
        bulk.run(data)
    return info.value.fields


def test_bad_requests_name_every_problem_and_change_nothing(app, items):
    before = state(app)
    found = errors(app, {"action": "pause", "monitor_ids": [items["shop"], 99999],
                         "cron_job_ids": [88888, items["nightly"]]})  # fmt: skip
    assert found == {"monitor_ids": "No monitor or heartbeat with id 99999.",
                     "cron_job_ids": "No cron job with id 88888."}  # fmt: skip
    assert errors(app, {"action": "explode", "monitor_ids": [items["shop"]]}) == {
        "action": f"Choose one of {', '.join(bulk.ACTIONS)}."
    }
    assert "action" in errors(app, {"monitor_ids": [items["shop"]]})
    assert errors(app, {"action": "pause"}) == {"monitor_ids": bulk.NOTHING_CHOSEN}
    assert errors(app, {"action": "tag", "monitor_ids": [items["shop"]]}) == {
        "tags": "Enter at least one tag name."
    }
    assert errors(app, {"action": "tag", "tags": [], "monitor_ids": [items["shop"]]})
    assert errors(app, {"action": "maintenance", "minutes": 0, "monitor_ids": [items["shop"]]})
    assert errors(app, {"action": "pause", "minutes": 5, "monitor_ids": [items["shop"]]}) == {
        "minutes": "Not used by the pause action."
    }
    assert "channel_ids" in errors(
        app, {"action": "set_channels", "channel_ids": [424242], "monitor_ids": [items["shop"]]}
    )
    too_many = list(range(1, bulk.IDS_MAX + 2))
    assert "at most" in errors(app, {"action": "pause", "monitor_ids": too_many})["monitor_ids"]
    assert errors(app, {"action": "pause", "monitor_ids": "1,2"})
    assert errors(app, {"action": "pause", "monitor_ids": [True, 2**40]})
    with app.app_context(), pytest.raises(ValidationError):
        bulk.run(["pause"])
    assert state(app) == before


def test_a_failure_half_way_leaves_every_item_as_it_was(app, items):
    """One transaction: the third item cannot take another tag, so the first two keep theirs
    unchanged too."""
    with app.app_context():
        full = [f"t{n}" for n in range(tags.PER_ITEM_MAX)]
        cron_jobs.update(items["nightly"], {"tags": full})
    before = state(app)
    with app.app_context():
        with pytest.raises(ValidationError) as info:
            bulk.run(
                {"action": "tag", "tags": ["extra"],
                 "monitor_ids": [items["shop"], items["beat"]], "cron_job_ids": [items["nightly"]]}
            )  # fmt: skip
        db.session.commit()  # whatever the caller commits next must not save half of it
    assert info.value.fields == {"tags": f"Nightly would carry more than {tags.PER_ITEM_MAX} tags."}
    assert state(app) == before
    with app.app_context():  # nor was the new tag kept
        assert "extra" not in {tag.name for tag, _ in tags.list_tags()}


# --- the API -------------------------------------------------------------------------------


def test_api_applies_and_answers_with_the_ids(api, app, items):
    key = api.key("monitors:write", "cron-jobs:write")
    response = api.post(
        "/api/bulk",
        key,
        json={"action": "pause", "monitor_ids": [items["shop"], items["api"]],
              "cron_job_ids": [items["nightly"]]},
    )  # fmt: skip
    assert response.status_code == 200, response.json
    assert response.json == {
        "action": "pause",
        "changed": {"monitor_ids": [items["shop"]], "cron_job_ids": [items["nightly"]]},
        "unchanged": {"monitor_ids": [items["api"]], "cron_job_ids": []},
    }
    window = api.post(
        "/api/bulk",
        api.key("monitors:write", "maintenance:write"),
        json={"action": "maintenance", "minutes": 10, "monitor_ids": [items["beat"]]},
    )
    assert window.status_code == 200 and isinstance(window.json["window_id"], int)
    response = api.post(
        "/api/bulk", key, json={"action": "pause", "monitor_ids": [items["beat"], 424242]}
    )
    assert response.status_code == 422
    assert response.json["fields"] == {"monitor_ids": "No monitor or heartbeat with id 424242."}
    assert not state(app)["Backup"][0]


def test_api_needs_the_scope_of_each_kind_of_item(api, app, items):
    monitors_only = api.key("monitors:write")
    jobs_only = api.key("cron-jobs:write")
    mixed = {"action": "pause", "monitor_ids": [items["shop"]], "cron_job_ids": [items["nightly"]]}
    for key, missing in ((monitors_only, "cron-jobs:write"), (jobs_only, "monitors:write")):
        response = api.post("/api/bulk", key, json=mixed)
        assert response.status_code == 403
        assert response.json == {"error": f"Insufficient permissions. Required scope: {missing}"}
    assert api.post("/api/bulk", jobs_only, json=mixed | {"monitor_ids": []}).status_code == 200
    maintenance_body = {"action": "maintenance", "minutes": 5, "monitor_ids": [items["shop"]]}
    response = api.post("/api/bulk", monitors_only, json=maintenance_body)
    assert response.json["error"].endswith("maintenance:write")
    assert api.post("/api/bulk", api.key("monitors:read"), json=mixed).status_code == 403
    assert api.post("/api/bulk", json=mixed).status_code == 401
    assert not state(app)["Shop"][0]


@pytest.mark.parametrize(
    "body, status",
    [
        (b"", 400),
        (b"{", 400),
        (b"[1, 2]", 422),
        (b'"pause"', 422),
        (b'{"action": "pause\\u0000", "monitor_ids": [1]}', 422),
        (b'{"action": "pause", "monitor_ids": ["\\ud800"]}', 422),
        (b'{"action": "tag", "tags": ["a\\u0000"], "monitor_ids": [1]}', 422),
        (b'{"action": "pause", "monitor_ids": [1e400]}', 422),
        (b'{"action": "pause", "monitor_ids": {"a": 1}}', 422),
        (b'{"action": "pause", "\\u0000": 1, "monitor_ids": [1]}', 422),
        (b'{"action": "pause", "monitor_ids": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400),
        (b'{"action": "pause", "monitor_ids": [' + b"1," * 200_000 + b"1]}", 422),
    ],
)
def test_api_refuses_hostile_bodies_with_json(api, app, items, body, status):
    before = state(app)
    response = api.call(
        "POST", "/api/bulk", api.key("*"), data=body, content_type="application/json"
    )
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert "error" in response.json
    assert state(app) == before


def test_the_cli_prints_what_changed(app, items):
    result = run_cli(
        app, "bulk", "pause", "--monitor", str(items["shop"]), "--monitor", str(items["api"]),
        "--cron-job", str(items["nightly"]),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Paused 2 items; 1 was already paused." in result.output
    assert f"Changed monitors: {items['shop']}" in result.output
    assert f"Unchanged monitors: {items['api']}" in result.output
    assert state(app)["Nightly"][0]

    result = run_cli(app, "bulk", "tag", "--tag", "prod", "--tag", "db", "--cron-job",
                     str(items["weekly"]))  # fmt: skip
    assert result.exit_code == 0 and "Tagged 1 cron job with prod, db." in result.output

    result = run_cli(app, "bulk", "maintenance", "--minutes", "15", "--monitor", str(items["beat"]))
    assert result.exit_code == 0 and "Maintenance window: " in result.output

    result = run_cli(app, "bulk", "pause", "--monitor", "424242")
    assert result.exit_code == 1
    assert "--monitor: No monitor or heartbeat with id 424242." in result.output
    result = run_cli(app, "bulk", "tag", "--monitor", str(items["shop"]))
    assert result.exit_code == 1 and "--tag: Enter at least one tag name." in result.output
    assert run_cli(app, "bulk", "explode").exit_code == 2
