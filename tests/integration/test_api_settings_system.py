"""/api/settings/history, /api/history and /api/system with real RQ workers and scheduler."""

from __future__ import annotations

import sqlalchemy as sa
from rq import SimpleWorker

from app.engine import queues
from app.engine.scheduler import Scheduler
from app.extensions import db, redis_client
from app.models import CheckResult, CronExecution
from app.tasks import jobs
from tests.integration.conftest import Api


def test_retention_get_and_partial_put(api):
    key = api.key("settings:*")
    assert api.get("/api/settings/history", key).json == {
        "ttl_seconds": 30 * 86400,
        "unlimited": False,
    }
    response = api.put("/api/settings/history", key, json={"ttl_seconds": 7 * 86400})
    assert response.json == {"ttl_seconds": 604800, "unlimited": False}
    response = api.put("/api/settings/history", key, json={"unlimited": True})
    assert response.json == {"ttl_seconds": 604800, "unlimited": True}
    bad = api.put("/api/settings/history", key, json={"ttl_seconds": 60, "keep": "forever"})
    assert bad.status_code == 422 and set(bad.json["fields"]) == {"ttl_seconds", "keep"}
    assert api.get("/api/settings/history", key).json["ttl_seconds"] == 604800
    reader = api.key("settings:read")
    response = api.put("/api/settings/history", reader, json={"unlimited": False})
    assert response.json == {"error": "Insufficient permissions. Required scope: settings:write"}


def test_delete_history_clears_raw_rows(api, seeded, app):
    response = api.delete("/api/history", api.key("settings:write"))
    assert response.status_code == 200
    assert response.json["success"] is True
    assert response.json["deleted"]["check_results"] == 1
    assert response.json["deleted"]["cron_executions"] == 1
    with app.app_context():
        for model in (CheckResult, CronExecution):
            assert db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar() == 0
    # Monitors and jobs stay.
    assert len(api.get("/api/monitors", api.key("*")).json) == 1


def test_system_reports_workers_queues_scheduler_and_stores(api, app, seeded):
    key = api.key("system:read")
    with app.app_context():
        scheduler = Scheduler(conn=redis_client.conn)
        assert scheduler.hold_lock()
        scheduler.tick()
        worker = SimpleWorker(
            [queues.queue(name) for name in queues.ALL],
            connection=redis_client.conn,
            name="api-test-worker",
        )
        worker.register_birth()
        try:
            report = api.get("/api/system", key)
        finally:
            worker.register_death()
            scheduler.release()
    assert report.status_code == 200
    body = report.json
    assert body["database"] == "ok" and body["redis"]["ok"] is True
    [listed] = [w for w in body["workers"] if w["name"] == "api-test-worker"]
    assert listed["queues"] == list(queues.ALL) and listed["current_job"] is None
    assert listed["state"] in ("started", "idle", "?") and listed["pid"]
    assert set(body["queues"]) == set(queues.ALL)
    assert body["queues"]["checks"]["queued"] >= 1  # the tick dispatched the seeded monitor
    assert body["scheduler"]["leader"] and body["scheduler"]["last_tick"].endswith("Z")


def test_system_shows_a_busy_workers_current_job(api, app):
    key = api.key("system:read")
    with app.app_context():
        queue = queues.queue(queues.MAINTENANCE)
        job = queue.enqueue(jobs.prune_history)  # never run: the worker only claims it
        worker = SimpleWorker([queue], connection=redis_client.conn, name="busy-worker")
        worker.register_birth()
        worker.set_current_job_id(job.id)
        worker.set_state("busy")
        try:
            body = api.get("/api/system", key).json
        finally:
            worker.register_death()
    [busy] = [w for w in body["workers"] if w["name"] == "busy-worker"]
    assert busy["state"] == "busy" and busy["current_job"] == {"id": job.id}


def test_system_with_redis_down_is_a_report_not_an_error(make_app, api):
    key = api.key("system:read")
    down = Api(make_app(REDIS_URL="unix:///nonexistent/redis.sock"))
    response = down.get("/api/system", key)
    assert response.status_code == 200
    body = response.json
    assert body["redis"]["ok"] is False and body["database"] == "ok"
    assert body["workers"] == [] and body["scheduler"] is None
    redis_check = down.get("/api/system/redis", key)
    assert redis_check.status_code == 503 and redis_check.json["ok"] is False


def test_status_page_settings_round_trip(api, seeded):
    key = api.key("settings:*")
    before = api.get("/api/settings/status-page", key)
    assert before.status_code == 200
    assert before.json["title"] == "Service status"
    item = next(i for i in before.json["items"] if i["type"] == "monitor")
    assert item["public"] is False
    changed = api.put(
        "/api/settings/status-page",
        key,
        json={
            "title": "Acme status",
            "items": [{"type": "monitor", "id": item["id"], "public": True}],
        },
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["title"] == "Acme status"
    assert (
        next(i for i in changed.json["items"] if i["id"] == item["id"] and i["type"] == "monitor")[
            "public"
        ]
        is True
    )
    bad = api.put("/api/settings/status-page", key, json={"logo_url": "javascript:alert(1)"})
    assert bad.status_code == 422 and "logo_url" in bad.json["fields"]
    assert api.get("/api/settings/status-page", key).json["title"] == "Acme status"
