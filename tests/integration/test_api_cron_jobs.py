"""/api/cron-jobs: the documented create body verbatim, updates, manual runs through a real
worker, executions with their response, and coming run times."""

from __future__ import annotations

import pytest
from rq import SimpleWorker

from app.engine import queues
from app.extensions import redis_client
from tests.targets import TargetServer


@pytest.fixture
def key(api):
    return api.key("cron-jobs:*")


def test_documented_create_body_works_verbatim(api, key):
    response = api.post(
        "/api/cron-jobs",
        key,
        data="""{
    "name": "Daily Backup",
    "url": "https://api.example.com/backup",
    "method": "POST",
    "cron_expr": "0 2 * * *",
    "timeout_ms": 30000
  }""",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.json
    job = response.json
    assert job["name"] == "Daily Backup" and job["method"] == "POST"
    assert job["cron_expr"] == "0 2 * * *" and job["timeout_ms"] == 30000
    assert job["enabled"] is True and job["timezone"] == "UTC"
    runs = api.get(f"/api/cron-jobs/{job['id']}/next-runs?count=3", key).json["next_runs"]
    assert len(runs) == 3 and all(run.endswith("T02:00:00Z") for run in runs)


def test_cron_rules_are_the_services(api, key):
    response = api.post(
        "/api/cron-jobs",
        key,
        json={"name": "Never", "url": "https://e.com/", "cron_expr": "0 0 31 2 *", "x": 1},
    )
    assert response.status_code == 422
    assert set(response.json["fields"]) == {"cron_expr", "x"}
    missing = api.post("/api/cron-jobs", key, json={"name": "No schedule"})
    assert set(missing.json["fields"]) == {"url", "cron_expr"}


def test_put_is_partial_and_disabling_empties_next_runs(api, key, seeded):
    path = f"/api/cron-jobs/{seeded['cron_job_id']}"
    response = api.put(path, key, json={"enabled": False, "timezone": "Europe/Berlin"})
    assert response.status_code == 200
    assert response.json["enabled"] is False and response.json["timezone"] == "Europe/Berlin"
    assert response.json["url"] == "https://ops.example.com/backup"
    assert api.get(f"{path}/next-runs", key).json == {"next_runs": []}
    too_many = api.get(f"{path}/next-runs?count=21", key)
    assert too_many.status_code == 422 and "count" in too_many.json["fields"]


def test_run_now_executes_through_a_worker(api, key, app):
    with TargetServer() as target:
        url = target.route("/job", body="done")
        job = api.post(
            "/api/cron-jobs",
            key,
            json={"name": "Ping", "url": url, "cron_expr": "0 0 1 1 *", "save_responses": True},
        ).json
        response = api.post(f"/api/cron-jobs/{job['id']}/run", key)
        assert response.status_code == 202
        assert response.json["status"] == "queued" and response.json["cron_job_id"] == job["id"]
        with app.app_context():
            worker = SimpleWorker(
                [queues.queue(name) for name in queues.ALL], connection=redis_client.conn
            )
            worker.work(burst=True, with_scheduler=False)
        assert len(target.requests) == 1

    executions = api.get(f"/api/cron-jobs/{job['id']}/executions", key)
    assert executions.headers["X-Total-Count"] == "1"
    [execution] = executions.json
    assert execution["trigger"] == "manual" and execution["outcome"] == "ok"
    assert "response_body" not in execution
    detail = api.get(f"/api/cron-jobs/{job['id']}/executions/{execution['id']}", key).json
    assert detail["response_body"] == "done" and detail["status_code"] == 200
    assert detail["timings"]["total_us"] > 0
    assert any(name.lower() == "content-length" for name in detail["response_headers"])


def test_seeded_execution_detail_and_404s(api, key, seeded):
    job_id, execution_id = seeded["cron_job_id"], seeded["execution_id"]
    detail = api.get(f"/api/cron-jobs/{job_id}/executions/{execution_id}", key).json
    assert detail["response_headers"] == {"Content-Type": "text/plain"}
    assert detail["timings"] == {
        "dns_us": 300,
        "connect_us": 900,
        "tls_us": None,
        "first_byte_us": 30000,
        "total_us": 42000,
    }
    missing = api.get(f"/api/cron-jobs/{job_id}/executions/999", key)
    assert missing.status_code == 404 and missing.json == {"error": "Execution not found"}
    assert api.get("/api/cron-jobs/999", key).json == {"error": "Cron job not found"}
    assert api.post("/api/cron-jobs/999/run", key).status_code == 404
    assert api.get("/api/cron-jobs/999/executions", key).status_code == 404


def test_delete_and_list(api, key, seeded):
    listed = api.get("/api/cron-jobs", key)
    assert listed.headers["X-Total-Count"] == "1" and listed.json[0]["name"] == "Backup"
    assert api.get("/api/cron-jobs?enabled=false", key).json == []
    assert api.get("/api/cron-jobs?enabled=maybe", key).status_code == 422
    assert api.delete(f"/api/cron-jobs/{seeded['cron_job_id']}", key).json == {"success": True}
    assert api.get("/api/cron-jobs", key).json == []
