"""The cron-job.org facade, from the examples and contract of its REST API documentation.

Each documented request is sent as the docs write it, with https://api.cron-job.org replaced
by the facade's base URL, and the answer is checked against the documented shape.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db, redis_client
from app.models import CronExecution
from app.services import api_keys, cron_jobs, groups, ratelimit
from app.services.errors import ValidationError

BASE = "/compat/cron-job-org"
JSON = {"Content-Type": "application/json"}

JOB_FIELDS = {
    "jobId",
    "enabled",
    "title",
    "saveResponses",
    "url",
    "lastStatus",
    "lastDuration",
    "lastExecution",
    "nextExecution",
    "type",
    "requestTimeout",
    "redirectSuccess",
    "folderId",
    "schedule",
    "requestMethod",
}
SCHEDULE_FIELDS = {"timezone", "expiresAt", "hours", "mdays", "minutes", "months", "wdays"}
HISTORY_FIELDS = {
    "jobLogId",
    "jobId",
    "identifier",
    "date",
    "datePlanned",
    "jitter",
    "url",
    "duration",
    "status",
    "statusText",
    "httpStatus",
    "headers",
    "body",
    "stats",
}
STATS_FIELDS = {"nameLookup", "connect", "appConnect", "preTransfer", "startTransfer", "total"}
# The docs' create example, as its curl command sends it ("enabled" is a string there).
DOCS_CREATE = (
    '{"job":{"url":"https://example.com","enabled":"true","saveResponses":true,'
    '"schedule":{"timezone":"Europe/Berlin","expiresAt":0,"hours":[-1],"mdays":[-1],'
    '"minutes":[-1],"months":[-1],"wdays":[-1]}}}'
)


class Cjo:
    """A client configured like a cron-job.org script: base URL and Bearer key."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def key(self, *scopes: str, **fields) -> str:
        data = {"name": "cron-job.org script", "scopes": list(scopes) or ["cron-jobs:*"]}
        data["rate_limit_per_sec"] = 1000
        with self.app.app_context():
            return api_keys.create({**data, **fields})[1]

    def call(self, method, path, key=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return self.client.open(BASE + path, method=method, headers=headers, **kwargs)

    def reset_limits(self):
        """Forget the per-method windows, as waiting for the next second would."""
        with self.app.app_context():
            conn = redis_client.conn
            for name in conn.scan_iter("upcron:ratelimit:*:cron-job-org:*"):
                conn.delete(name)

    def create(self, key, job: dict) -> int:
        response = self.call("PUT", "/jobs", key, JSON, data=json.dumps({"job": job}))
        self.reset_limits()
        assert response.status_code == 200, response.headers.get("X-Upcron-Error")
        return response.get_json()["jobId"]

    def native(self, path, key):
        return self.client.get(path, headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def cjo(app):
    return Cjo(app)


@pytest.fixture
def key(cjo):
    return cjo.key()


def _bare(response, status):
    assert response.status_code == status
    assert response.get_data() == b""


def _execution(app, job_id, planned: datetime, **fields) -> int:
    with app.app_context():
        row = CronExecution(
            cron_job_id=job_id,
            execution_uid=str(uuid.uuid4()),
            planned_at=planned,
            started_at=planned + timedelta(milliseconds=250),
            jitter_ms=250,
            duration_ms=93,
            outcome="ok",
            status_code=200,
            dns_us=11122,
            connect_us=11342,
            tls_us=52049,
            first_byte_us=93271,
            total_us=93422,
            **fields,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


# --- the documented examples ----------------------------------------------------------------


def test_docs_create_example_creates_the_job(cjo, key):
    response = cjo.call("PUT", "/jobs", key, JSON, data=DOCS_CREATE)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"jobId"} and isinstance(body["jobId"], int)

    native = cjo.native(f"/api/cron-jobs/{body['jobId']}", key).get_json()
    assert native["url"] == "https://example.com"
    assert native["name"] == "https://example.com"  # an untitled job is named after its URL
    assert native["enabled"] is True
    assert native["save_responses"] is True
    assert native["cron_expr"] == "* * * * *"
    assert native["timezone"] == "Europe/Berlin"
    assert native["expires_at"] is None
    # Read back here, the job keeps the title it was given: none.
    details = cjo.call("GET", f"/jobs/{body['jobId']}", key).get_json()["jobDetails"]
    assert details["title"] == "" and details["requestTimeout"] == -1
    cjo.reset_limits()
    cjo.call("PATCH", f"/jobs/{body['jobId']}", key, JSON, data='{"job":{"title":"Named"}}')
    cjo.reset_limits()
    details = cjo.call("GET", f"/jobs/{body['jobId']}", key).get_json()["jobDetails"]
    assert details["title"] == "Named"


def test_docs_python_example_creates_the_job(cjo, key):
    # The docs' Python example: requests.put(ENDPOINT + '/jobs', headers=…, data=json.dumps(…))
    payload = {
        "job": {
            "url": "https://example.com",
            "enabled": True,
            "saveResponses": True,
            "schedule": {
                "timezone": "Europe/Berlin",
                "expiresAt": 0,
                "hours": [-1],
                "mdays": [-1],
                "minutes": [-1],
                "months": [-1],
                "wdays": [-1],
            },
        }
    }
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    response = cjo.client.put(f"{BASE}/jobs", headers=headers, data=json.dumps(payload))
    assert response.status_code == 200
    assert cjo.native(f"/api/cron-jobs/{response.get_json()['jobId']}", key).status_code == 200


def test_docs_list_example_answers_jobs_and_some_failed(cjo, key):
    job_id = cjo.create(
        key,
        {
            "url": "https://example.com/",
            "title": "Example Job",
            "enabled": True,
            "schedule": {"timezone": "Europe/Berlin", "minutes": [0, 15, 30, 45]},
        },
    )
    response = cjo.call("GET", "/jobs", key, JSON)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"jobs", "someFailed"}
    assert body["someFailed"] is False
    [job] = body["jobs"]
    assert JOB_FIELDS <= set(job)
    assert not {"auth", "notification", "extendedData"} & set(job)
    assert job["jobId"] == job_id
    assert job["title"] == "Example Job"
    assert job["lastStatus"] == 0 and job["type"] == 0 and job["folderId"] == 0
    assert job["requestMethod"] == 0
    assert isinstance(job["nextExecution"], int)
    assert job["schedule"] == {
        "timezone": "Europe/Berlin",
        "expiresAt": 0,
        "hours": [-1],
        "mdays": [-1],
        "minutes": [0, 15, 30, 45],
        "months": [-1],
        "wdays": [-1],
    }


def test_docs_details_example_answers_a_detailed_job(cjo, key):
    job_id = cjo.create(key, {"url": "https://example.com/"})
    response = cjo.call("GET", f"/jobs/{job_id}", key, JSON)
    assert response.status_code == 200
    details = response.get_json()["jobDetails"]
    assert JOB_FIELDS | {"auth", "notification", "extendedData"} <= set(details)
    assert SCHEDULE_FIELDS == set(details["schedule"])
    # cron-job.org's defaults for everything the request left out
    assert details["enabled"] is False
    assert details["saveResponses"] is False and details["redirectSuccess"] is False
    assert details["auth"] == {"enable": False, "user": "", "password": ""}
    assert details["notification"] == {
        "onFailure": False,
        "onFailureCount": 1,
        "onSuccess": False,
        "onDisable": False,
        "onSslCertExpiry": False,
        "onSslCertExpirySeconds": 604800,
    }
    assert details["extendedData"] == {"headers": {}, "secretHeadersSet": [], "body": ""}
    assert details["nextExecution"] is None  # disabled: no prediction


def test_docs_update_example_enables_the_job(cjo, key):
    job_id = cjo.create(key, {"url": "https://example.com/"})
    response = cjo.call("PATCH", f"/jobs/{job_id}", key, JSON, data='{"job":{"enabled":true}}')
    assert response.status_code == 200
    assert response.get_json() == {}
    assert cjo.native(f"/api/cron-jobs/{job_id}", key).get_json()["enabled"] is True


def test_docs_delete_example_deletes_the_job(cjo, key):
    job_id = cjo.create(key, {"url": "https://example.com/"})
    response = cjo.call("DELETE", f"/jobs/{job_id}", key, JSON)
    assert response.status_code == 200
    assert response.get_json() == {}
    assert cjo.native(f"/api/cron-jobs/{job_id}", key).status_code == 404
    _bare(cjo.call("GET", f"/jobs/{job_id}", key), 404)


def test_docs_history_example_answers_items_and_predictions(app, cjo, key):
    job_id = cjo.create(
        key, {"url": "https://example.com/", "enabled": True, "schedule": {"minutes": [0, 30]}}
    )
    planned = datetime(2021, 12, 22, 15, 30, tzinfo=UTC)
    log_id = _execution(app, job_id, planned, response_body="secret", response_headers={"A": "b"})
    response = cjo.call("GET", f"/jobs/{job_id}/history", key, JSON)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"history", "predictions"}
    [item] = body["history"]
    assert HISTORY_FIELDS <= set(item)
    assert item["jobLogId"] == log_id
    assert item["identifier"] == f"{job_id}-22-11-{log_id}"  # December is month 11
    assert item["datePlanned"] == int(planned.timestamp())
    assert item["date"] == int(planned.timestamp())  # started 250 ms late, same second
    assert item["jitter"] == 250
    assert item["url"] == "https://example.com/"
    assert (item["status"], item["statusText"], item["httpStatus"]) == (1, "OK", 200)
    assert item["headers"] is None and item["body"] is None  # only in the details
    assert item["stats"] == {
        "nameLookup": 11122,
        "connect": 11342,
        "appConnect": 52049,
        "preTransfer": 52049,
        "startTransfer": 93271,
        "total": 93422,
    }
    predictions = body["predictions"]
    assert len(predictions) == 3
    assert all(
        isinstance(p, int) and datetime.fromtimestamp(p, UTC).minute in (0, 30) for p in predictions
    )
    assert predictions == sorted(predictions)


def test_docs_history_details_example_answers_the_item(app, cjo, key):
    job_id = cjo.create(key, {"url": "https://example.com/", "saveResponses": True})
    planned = datetime(2021, 12, 22, 15, 30, tzinfo=UTC)
    log_id = _execution(
        app,
        job_id,
        planned,
        response_headers={"Content-Type": "text/plain"},
        response_body="done",
    )
    response = cjo.call("GET", f"/jobs/{job_id}/history/{job_id}-22-11-{log_id}", key, JSON)
    assert response.status_code == 200
    item = response.get_json()["jobHistoryDetails"]
    assert HISTORY_FIELDS <= set(item)
    assert item["identifier"] == f"{job_id}-22-11-{log_id}"
    assert item["headers"] == "Content-Type: text/plain\r\n"
    assert item["body"] == "done"


# --- round trips ----------------------------------------------------------------------------


def test_create_get_update_delete_round_trip(cjo, key):
    folder = cjo.call("PUT", "/folders", key, JSON, data='{"folder":{"title":"Nightly"}}')
    folder_id = folder.get_json()["folderId"]
    cjo.reset_limits()
    job = {
        "url": " https://ops.example.com/backup ",
        "title": " Backup ",
        "enabled": True,
        "saveResponses": True,
        "requestTimeout": 60,
        "redirectSuccess": True,
        "folderId": folder_id,
        "requestMethod": 1,
        "schedule": {
            "timezone": "America/New_York",
            "expiresAt": 20991231235900,
            "hours": [2],
            "mdays": [-1],
            "minutes": [30],
            "months": [-1],
            "wdays": [1, 2, 3, 4, 5],
        },
        "auth": {"enable": True, "user": "ops", "password": "s3cret"},
        "notification": {"onFailure": True, "onFailureCount": 3, "onSuccess": True},
        "extendedData": {"headers": {"X-Token": " abc\r\n", "": "dropped"}, "body": "{}"},
        "someFutureField": "kept out of the way",
    }
    job_id = cjo.create(key, job)
    details = cjo.call("GET", f"/jobs/{job_id}", key).get_json()["jobDetails"]
    assert details["title"] == "Backup" and details["url"] == "https://ops.example.com/backup"
    assert details["enabled"] and details["saveResponses"] and details["redirectSuccess"]
    assert details["requestTimeout"] == 60 and details["requestMethod"] == 1
    assert details["folderId"] == folder_id
    assert details["schedule"] == {**job["schedule"]}
    assert details["auth"] == job["auth"] | {"password": "\u2022\u2022\u2022\u2022"}
    assert details["notification"]["onFailure"] and details["notification"]["onSuccess"]
    assert details["notification"]["onFailureCount"] == 3
    assert details["extendedData"] == {
        "headers": {"X-Token": "\u2022\u2022\u2022\u2022"},
        "secretHeadersSet": ["X-Token"],
        "body": "{}",
    }

    native = cjo.native(f"/api/cron-jobs/{job_id}", key).get_json()
    assert native["cron_expr"] == "30 2 * * 1-5"
    assert native["timezone"] == "America/New_York"
    assert native["expires_at"] == "2100-01-01T04:59:00Z"
    assert (native["method"], native["timeout_ms"], native["group"]) == ("POST", 60000, "Nightly")
    assert native["auth_username"] == "ops" and native["auth_password_set"]

    # A delta changes only what it names, sub-fields included.
    delta = {"job": {"schedule": {"hours": [4, 5]}, "auth": {"password": "new"}, "title": "B2"}}
    response = cjo.call("PATCH", f"/jobs/{job_id}", key, JSON, data=json.dumps(delta))
    assert response.status_code == 200
    details = cjo.call("GET", f"/jobs/{job_id}", key).get_json()["jobDetails"]
    assert details["title"] == "B2"
    assert details["schedule"]["hours"] == [4, 5]
    assert details["schedule"]["wdays"] == [1, 2, 3, 4, 5]
    assert details["schedule"]["expiresAt"] == 20991231235900
    assert details["auth"] == {
        "enable": True,
        "user": "ops",
        "password": "\u2022\u2022\u2022\u2022",
    }
    assert details["folderId"] == folder_id and details["requestMethod"] == 1
    assert cjo.native(f"/api/cron-jobs/{job_id}", key).get_json()["cron_expr"] == "30 4-5 * * 1-5"

    # expiresAt is a wall time in the job's zone: it stays the same number when the zone moves.
    cjo.reset_limits()
    delta = {"job": {"schedule": {"timezone": "Asia/Tokyo"}, "auth": {"enable": False}}}
    cjo.call("PATCH", f"/jobs/{job_id}", key, JSON, data=json.dumps(delta))
    details = cjo.call("GET", f"/jobs/{job_id}", key).get_json()["jobDetails"]
    assert details["schedule"]["timezone"] == "Asia/Tokyo"
    assert details["schedule"]["expiresAt"] == 20991231235900
    assert details["auth"] == {"enable": False, "user": "", "password": ""}

    assert cjo.call("DELETE", f"/jobs/{job_id}", key).status_code == 200
    assert cjo.native(f"/api/cron-jobs/{job_id}", key).status_code == 404


def test_first_monday_of_the_month_keeps_its_meaning(cjo, key):
    schedule = {"minutes": [0], "hours": [8], "mdays": [1, 2, 3, 4, 5, 6, 7], "wdays": [1]}
    job_id = cjo.create(key, {"url": "https://example.com/", "schedule": schedule})
    native = cjo.native(f"/api/cron-jobs/{job_id}", key).get_json()
    assert native["cron_expr"] == "0 8 */31,2-7 * 1"
    details = cjo.call("GET", f"/jobs/{job_id}", key).get_json()["jobDetails"]
    assert details["schedule"]["mdays"] == [1, 2, 3, 4, 5, 6, 7]
    assert details["schedule"]["wdays"] == [1]


def test_native_jobs_read_in_the_dialect(app, cjo, key):
    with app.app_context():
        job = cron_jobs.create(
            {
                "name": "Report",
                "url": "https://example.com/report",
                "cron_expr": "*/20 9-17 * * MON-FRI",
                "method": "DELETE",
                "enabled": False,
            }
        )
    details = cjo.call("GET", f"/jobs/{job.id}", key).get_json()["jobDetails"]
    assert details["title"] == "Report" and details["requestMethod"] == 5
    assert details["schedule"]["minutes"] == [0, 20, 40]
    assert details["schedule"]["hours"] == list(range(9, 18))
    assert details["schedule"]["wdays"] == [1, 2, 3, 4, 5]
    assert details["requestTimeout"] == -1  # the default (30 s), as cron-job.org writes it


def test_a_list_edit_of_an_either_day_expression_needs_all_lists(app, cjo, key):
    with app.app_context():
        job = cron_jobs.create(
            {"name": "Odd", "url": "https://example.com/", "cron_expr": "0 0 1,15 * 1"}
        )
    path = f"/jobs/{job.id}"
    response = cjo.call("PATCH", path, key, JSON, data='{"job":{"schedule":{"hours":[3]}}}')
    assert response.status_code == 400
    assert "send all five lists" in response.headers["X-Upcron-Error"]
    every = {name: [-1] for name in ("mdays", "months", "wdays")}
    whole = {"job": {"schedule": {"hours": [3], "minutes": [0], **every}}}
    assert cjo.call("PATCH", path, key, JSON, data=json.dumps(whole)).status_code == 200
    assert cjo.native(f"/api/cron-jobs/{job.id}", key).get_json()["cron_expr"] == "0 3 * * *"
    # Fields other than the lists still change alone.
    cjo.reset_limits()
    with app.app_context():
        cron_jobs.update(job.id, {"cron_expr": "0 0 1,15 * 1"})
    assert cjo.call("PATCH", path, key, JSON, data='{"job":{"title":"T"}}').status_code == 200


def test_history_identifiers(app, cjo, key):
    job_id = cjo.create(key, {"url": "https://example.com/"})
    other_id = cjo.create(key, {"url": "https://example.com/other"})
    planned = datetime(2024, 1, 31, 23, 59, tzinfo=UTC)
    log_id = _execution(app, job_id, planned)
    good = f"{job_id}-31-0-{log_id}"
    assert cjo.call("GET", f"/jobs/{job_id}/history/{good}", key).status_code == 200
    cjo.reset_limits()
    for wrong in (
        f"{job_id}-31-1-{log_id}",  # the month counted from 1
        f"{job_id}-30-0-{log_id}",
        f"{other_id}-31-0-{log_id}",
        f"{job_id}-31-0-{log_id + 1}",
        f"{job_id}-31-0-99999999999999999999",
        "abc",
    ):
        _bare(cjo.call("GET", f"/jobs/{job_id}/history/{wrong}", key), 404)
        cjo.reset_limits()
    _bare(cjo.call("GET", f"/jobs/{other_id}/history/{good}", key), 404)
    _bare(cjo.call("GET", f"/jobs/{job_id}/history/{job_id}-31-{log_id}", key), 400)


def test_history_holds_the_50_newest_and_no_predictions_while_disabled(app, cjo, key):
    job_id = cjo.create(key, {"url": "https://example.com/"})
    start = datetime(2024, 5, 1, tzinfo=UTC)
    for minute in range(55):
        _execution(app, job_id, start + timedelta(minutes=minute))
    body = cjo.call("GET", f"/jobs/{job_id}/history", key).get_json()
    assert len(body["history"]) == 50
    assert body["history"][0]["datePlanned"] == int((start + timedelta(minutes=54)).timestamp())
    assert body["predictions"] == []


def test_folders_round_trip(app, cjo, key):
    ids = {}
    for title in ("zeta", "Alpha"):
        body = json.dumps({"folder": {"title": title}})
        ids[title] = cjo.call("PUT", "/folders", key, JSON, data=body).get_json()["folderId"]
        cjo.reset_limits()
    folders = cjo.call("GET", "/folders", key).get_json()["folders"]
    assert folders == [
        {"folderId": ids["Alpha"], "title": "Alpha"},
        {"folderId": ids["zeta"], "title": "zeta"},
    ]
    response = cjo.call("GET", f"/folders/{ids['zeta']}", key)
    assert response.get_json() == {"folderDetails": {"folderId": ids["zeta"], "title": "zeta"}}
    rename = '{"folder":{"title":"Zeta"}}'
    assert cjo.call("PATCH", f"/folders/{ids['zeta']}", key, JSON, data=rename).get_json() == {}
    cjo.reset_limits()

    job_id = cjo.create(key, {"url": "https://example.com/", "folderId": ids["zeta"]})
    assert cjo.native(f"/api/cron-jobs/{job_id}", key).get_json()["group"] == "Zeta"
    # Deleting a folder moves its jobs to the root folder (0).
    assert cjo.call("DELETE", f"/folders/{ids['zeta']}", key).get_json() == {}
    assert cjo.call("GET", f"/jobs/{job_id}", key).get_json()["jobDetails"]["folderId"] == 0
    cjo.reset_limits()
    _bare(cjo.call("GET", f"/folders/{ids['zeta']}", key), 404)


def test_list_order_is_enabled_then_status_then_url(app, cjo, key):
    with app.app_context():
        for name, url, enabled, outcome in (
            ("a", "https://a.example.com/", False, None),
            ("b", "https://b.example.com/", True, "failed_dns"),
            ("c", "https://c.example.com/", True, "ok"),
            ("d", "https://d.example.com/", True, "ok"),
        ):
            job = cron_jobs.create(
                {"name": name, "url": url, "cron_expr": "0 * * * *", "enabled": enabled}
            )
            job.last_outcome = outcome
        db.session.commit()
    jobs = cjo.call("GET", "/jobs", key).get_json()["jobs"]
    assert [(j["title"], j["lastStatus"]) for j in jobs] == [
        ("c", 1),
        ("d", 1),
        ("b", 2),
        ("a", 0),
    ]


# --- errors: bare status codes --------------------------------------------------------------


def test_authentication_errors_are_bare_401(cjo, key):
    _bare(cjo.call("GET", "/jobs"), 401)
    _bare(cjo.call("GET", "/jobs", headers={"Authorization": f"Basic {key}"}), 401)
    _bare(cjo.call("GET", "/jobs", "upk_" + "x" * 43), 401)
    # The scheme in any case, the key trimmed.
    response = cjo.call("GET", "/jobs", headers={"Authorization": f"bearer  {key} "})
    assert response.status_code == 200


def test_revoked_key_is_401_and_foreign_address_403(app, cjo):
    with app.app_context():
        key, secret = api_keys.create({"name": "old", "scopes": ["*"]})
        api_keys.revoke(key.id)
    _bare(cjo.call("GET", "/jobs", secret), 401)
    fenced = cjo.key("*", allowed_networks=["10.0.0.0/8"])
    _bare(cjo.call("GET", "/jobs", fenced), 403)


def test_scopes_decide_what_the_same_key_may_do(cjo):
    reader = cjo.key("cron-jobs:read")
    assert cjo.call("GET", "/jobs", reader).status_code == 200
    assert cjo.call("GET", "/folders", reader).status_code == 200
    _bare(cjo.call("PUT", "/jobs", reader, JSON, data=DOCS_CREATE), 403)
    _bare(cjo.call("PUT", "/folders", reader, JSON, data='{"folder":{"title":"x"}}'), 403)
    outsider = cjo.key("monitors:*")
    _bare(cjo.call("GET", "/jobs", outsider), 403)
    writer = cjo.key("cron-jobs:write")
    assert cjo.call("PUT", "/jobs", writer, JSON, data=DOCS_CREATE).status_code == 200


def test_unknown_routes_and_resources_are_bare_404(cjo, key):
    _bare(cjo.call("GET", "/nothing"), 404)  # the route is matched before the key
    _bare(cjo.call("POST", "/jobs", key, JSON, data=DOCS_CREATE), 404)
    _bare(cjo.call("GET", "/jobs/abc", key), 404)
    _bare(cjo.call("GET", "/jobs/123456", key), 404)
    _bare(cjo.call("PATCH", "/jobs/123456", key, JSON, data='{"job":{}}'), 404)
    _bare(cjo.call("DELETE", "/jobs/123456", key), 404)
    cjo.reset_limits()
    _bare(cjo.call("GET", "/jobs/123456/history", key), 404)
    _bare(cjo.call("PATCH", "/folders/123456", key, JSON, data='{"folder":{"title":"x"}}'), 404)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"job":{}}', "url: Enter the URL to call."),
        ('{"job":{"url":"ftp://example.com"}}', "url:"),
        ("not json", "job:"),
        ('{"url":"https://example.com"}', "job:"),
        ('{"job":{"url":"https://example.com","schedule":{"hours":[]}}}', "never run"),
        (
            '{"job":{"url":"https://example.com","schedule":{"mdays":[13],"wdays":[5]}}}',
            "days of the month include 1",
        ),
        ('{"job":{"url":"https://example.com","schedule":{"mdays":[31],"months":[2]}}}', "never"),
        ('{"job":{"url":"https://example.com","schedule":{"expiresAt":20200101000000}}}', "future"),
        ('{"job":{"url":"https://example.com","requestMethod":6}}', "requestMethod:"),
        ('{"job":{"url":"https://example.com","folderId":4242}}', "folderId:"),
        ('{"job":{"url":"https://example.com","extendedData":{"headers":{"a b":"c"}}}}', "header"),
    ],
)
def test_invalid_input_is_bare_400(cjo, key, body, reason):
    response = cjo.call("PUT", "/jobs", key, JSON, data=body)
    cjo.reset_limits()
    _bare(response, 400)
    assert reason in response.headers["X-Upcron-Error"]
    assert cjo.call("GET", "/jobs", key).get_json()["jobs"] == []  # nothing half-written


def test_duplicate_folder_titles_are_409(cjo, key):
    first = cjo.call("PUT", "/folders", key, JSON, data='{"folder":{"title":"Ops"}}')
    cjo.reset_limits()
    _bare(cjo.call("PUT", "/folders", key, JSON, data='{"folder":{"title":"ops"}}'), 409)
    cjo.reset_limits()
    other = cjo.call("PUT", "/folders", key, JSON, data='{"folder":{"title":"Dev"}}')
    cjo.reset_limits()
    path = f"/folders/{other.get_json()['folderId']}"
    _bare(cjo.call("PATCH", path, key, JSON, data='{"folder":{"title":"OPS"}}'), 409)
    assert first.status_code == 200


def test_empty_sub_objects_may_come_as_php_arrays(cjo, key):
    job = {"url": "https://example.com/", "schedule": [], "auth": [], "extendedData": []}
    job_id = cjo.create(key, job)
    details = cjo.call("GET", f"/jobs/{job_id}", key).get_json()["jobDetails"]
    assert details["schedule"]["minutes"] == [-1]
    _bare(cjo.call("PATCH", f"/jobs/{job_id}", key, JSON, data='{"job":{"auth":"x"}}'), 400)


def test_unknown_timezone_is_ignored(cjo, key):
    job = {"url": "https://example.com/", "schedule": {"timezone": "Mars/Olympus"}}
    job_id = cjo.create(key, job)
    assert (
        cjo.call("GET", f"/jobs/{job_id}", key).get_json()["jobDetails"]["schedule"]["timezone"]
        == "UTC"
    )


# --- limits ---------------------------------------------------------------------------------


def test_create_is_limited_to_one_per_second(cjo, key):
    statuses = [cjo.call("PUT", "/jobs", key, JSON, data=DOCS_CREATE).status_code for _ in range(3)]
    # Three requests within well under a second span at most two windows.
    assert 429 in statuses and 200 in statuses
    response = cjo.call("PUT", "/jobs", key, JSON, data=DOCS_CREATE)
    if response.status_code == 429:
        assert int(response.headers["Retry-After"]) >= 1
        assert response.get_data() == b""


def test_reads_are_limited_to_five_per_second(cjo, key):
    statuses = [cjo.call("GET", "/jobs", key).status_code for _ in range(11)]
    assert statuses.count(429) >= 1
    assert statuses[:5].count(200) >= 1


def test_daily_quota_is_100_unless_the_key_sets_its_own(app, cjo):
    default_id, default_key = None, None
    with app.app_context():
        key, default_key = api_keys.create(
            {"name": "d", "scopes": ["*"], "rate_limit_per_sec": 1000}
        )
        default_id = key.id
        # 99 requests already made today.
        day = datetime.now(UTC).date().isoformat()
        redis_client.conn.set(f"upcron:ratelimit:{{{default_id}}}:day:{day}", 99)
    assert cjo.call("GET", "/folders", default_key).status_code == 200
    cjo.reset_limits()
    _bare(cjo.call("GET", "/folders", default_key), 429)

    own = cjo.key("*", daily_quota=2)
    assert cjo.call("GET", "/folders", own).status_code == 200
    assert cjo.call("GET", "/jobs", own).status_code == 200
    _bare(cjo.call("GET", "/jobs/1", own), 429)


# --- CORS -----------------------------------------------------------------------------------


def test_preflight_and_cors_headers(cjo, key):
    for path in ("/jobs", "/jobs/5/history", "/anything"):
        response = cjo.call("OPTIONS", path)
        assert response.status_code == 204
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
        assert response.headers["Access-Control-Max-Age"] == "1800"
    response = cjo.call("GET", "/jobs", key)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "no-cache" in response.headers["Cache-Control"]
    assert cjo.call("GET", "/jobs").headers["Access-Control-Allow-Origin"] == "*"


# --- the services the facade relies on ------------------------------------------------------


def test_groups_create_refuses_an_existing_name(app):
    with app.app_context():
        group = groups.create(" Ops ")
        assert group.name == "Ops"
        with pytest.raises(ValidationError) as refused:
            groups.create("OPS")
        assert refused.value.fields == {"name": groups.NAME_TAKEN}


def test_hit_windows_counts_per_epoch_aligned_window(app):
    moment = datetime(2030, 1, 1, 12, 0, 0, 100000, tzinfo=UTC)
    windows = ((1, 1), (3, 60))
    with app.app_context():
        assert ratelimit.hit_windows(7, "op", windows, moment) is None
        # The same second is full; the refusal names the wait until the next second.
        assert ratelimit.hit_windows(7, "op", windows, moment) == 1
        assert ratelimit.hit_windows(8, "op", windows, moment) is None  # another key
        assert ratelimit.hit_windows(7, "other", windows, moment) is None  # another method
        for second in (1, 2):
            assert (
                ratelimit.hit_windows(7, "op", windows, moment + timedelta(seconds=second)) is None
            )
        # 3 per minute used up (the refusal above did not count): wait for the next minute.
        assert ratelimit.hit_windows(7, "op", windows, moment + timedelta(seconds=3)) == 57
        assert ratelimit.hit_windows(7, "op", windows, moment + timedelta(seconds=60)) is None
