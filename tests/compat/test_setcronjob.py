"""The SetCronJob facade: the documented requests verbatim (base URL swapped), its envelope and
error code 11, the 503 rate limit, schedules converted exactly, round trips, scopes, and the
objects it makes seen through the native API."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from rq import SimpleWorker

from app.engine import queues, schedule, state
from app.extensions import db, redis_client
from app.models import CronExecution, CronJob
from app.services import api_keys, cron_jobs, groups, history
from app.services.errors import ValidationError
from app.web.compat.setcronjob import arrays_to_cron, cron_to_arrays, interval_to_cron

BASE = "/compat/setcronjob"
INVALID = {"message": "Invalid API token, user not found.", "status": "error", "code": 11}


class SetCronJob:
    """Calls the facade the ways SetCronJob's documentation shows."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def key(self, *scopes: str, **extra) -> str:
        data = {"name": "scripts", "scopes": list(scopes) or ["*"], "rate_limit_per_sec": 1000}
        with self.app.app_context():
            return api_keys.create(data | extra)[1]

    def get(self, call: str, token: str | None = None, **params):
        query = {"token": token, **params} if token else params
        return self.client.get(f"{BASE}/api/{call}", query_string=query)

    def post(self, call: str, token: str, **params):
        return self.client.post(f"{BASE}/api/{call}", data={"token": token, **params})

    def data(self, call: str, token: str, **params):
        """POST a call that must succeed; its ``data``."""
        response = self.post(call, token, **params)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.json
        assert body["status"] == "success" and body["code"] == 0, body
        return body["data"]


@pytest.fixture
def scj(app):
    return SetCronJob(app)


@pytest.fixture
def token(scj):
    return scj.key("*")


def add(scj, token, **params):
    return scj.data("cron.add", token, **{"url": "https://example.com/job", **params})


def error(response, code: int, status: int = 200) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert body["status"] == "error" and body["code"] == code, body
    assert set(body) == {"status", "code", "message"}
    return body["message"]


# --- the documentation's examples, verbatim ---------------------------------------------------


def test_documented_list_request_answers_the_documented_envelope(scj, token):
    job = add(scj, token, name="weekly report")
    response = scj.client.get(f"{BASE}/api/cron.list?token={token}")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "success" and body["code"] == 0
    assert [item["id"] for item in body["data"]] == [job["id"]]
    assert "message" not in body


def test_documented_edit_request_in_every_format(scj, token):
    job_id = add(scj, token)["id"]
    get = scj.client.get(f"{BASE}/api/cron.edit?token={token}&id={job_id}&name=weekly")
    assert get.json["data"]["name"] == "weekly"
    form = scj.client.post(
        f"{BASE}/api/cron.edit",
        data=f"token={token}&id={job_id}&name=weekly-form",
        content_type="application/x-www-form-urlencoded",
    )
    assert form.json["data"]["name"] == "weekly-form"
    as_json = scj.client.post(
        f"{BASE}/api/cron.edit",
        data=json.dumps({"token": token, "id": job_id, "name": "weekly-json"}),
        content_type="application/json",
    )
    assert as_json.json["data"]["name"] == "weekly-json"
    # A query-string body without a form content type, as some HTTP clients send it.
    raw = scj.client.post(
        f"{BASE}/api/cron.edit", data=f"token={token}&id={job_id}&name=raw", content_type=""
    )
    assert raw.json["data"]["name"] == "raw"


def test_documented_error_response_for_a_bad_token(scj):
    for response in (
        scj.client.get(f"{BASE}/api/cron.list?token=******"),
        scj.client.get(f"{BASE}/api/cron.list"),
        scj.post("cron.list", "0123456789abcdef0123456789abcdef"),
    ):
        assert response.status_code == 200
        assert response.json == INVALID


def test_revoked_and_expired_keys_get_code_11(scj, app):
    revoked = scj.key("*")
    with app.app_context():
        key = api_keys.authenticate(revoked, "127.0.0.1")
        api_keys.revoke(key.id)
    assert scj.get("cron.list", revoked).json == INVALID


def test_more_than_10_requests_per_second_get_503(scj):
    token = scj.key("*", rate_limit_per_sec=10)  # the default rate, as SetCronJob's
    answers = [scj.get("server.time", token) for _ in range(11)]
    assert [r.status_code for r in answers[:10]] == [200] * 10
    message = error(answers[10], 13, 503)
    assert "10 requests per second" in message
    assert int(answers[10].headers["Retry-After"]) >= 1


def test_every_url_shape_name_case_and_token_place(scj, token):
    job_id = add(scj, token)["id"]
    for path in ("api/cron.get", "api/v1/cron.get", "api/v1/cron_get", "app/v1/CRON.GET"):
        response = scj.client.get(f"{BASE}/{path}", query_string={"token": token, "id": job_id})
        assert response.json["data"]["id"] == job_id, path
    bearer = scj.client.get(
        f"{BASE}/api/cron.get?id={job_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert bearer.json["data"]["id"] == job_id
    # The CFML client sends every name in lower case; others may shout.
    edited = scj.data("cron.edit", token, ID=job_id, httpmethod="post", POSTDATA="a=1")
    assert edited["httpMethod"] == "POST" and edited["postData"] == "a=1"


# --- cron round trip and the native API --------------------------------------------------------


def test_round_trip_add_get_edit_disable_enable_delete(scj, token):
    job = scj.data(
        "cron.add",
        token,
        url="https://example.com/report",
        name="Report",
        **{"minute[]": ["0", "30"], "hour[]": "2", "weekday[]": ["1", "5"]},
        timezone="Europe/Berlin",
        timeout=30,
        httpMethod="POST",
        postData="x=1",
        httpHeaders="X-Token: abc\nAccept: text/plain",
        username="ops",
        password="s3cret",
        notify=1,
        notifyEvery=3,
        failureThreshold=5,
        retry=3,  # unsupported CronArgs are accepted and ignored
    )
    assert job["expression"] == "0,30 2 * * 1,5"
    assert job["minute"] == ["0", "30"] and job["hour"] == ["2"] and job["day"] == ["*"]
    assert job["weekday"] == ["1", "5"] and job["second"] == ["0"]
    assert job["timezone"] == "Europe/Berlin" and job["timeout"] == 30
    assert job["httpHeaders"] == "X-Token: \u2022\u2022\u2022\u2022\nAccept: text/plain"
    assert job["secretHeadersSet"] == ["X-Token"]
    assert job["username"] == "ops" and "password" not in job
    assert (job["notify"], job["notifyEvery"], job["failureThreshold"]) == (True, 3, 5)
    assert job["status"] == 0 and job["fail"] == 0 and job["group"] is None
    assert job["points"] == 2

    got = scj.data("cron.get", token, id=job["id"])
    assert got == job
    edited = scj.data("cron.edit", token, id=job["id"], **{"hour[]": ["3", "4"]})
    assert edited["expression"] == "0,30 3,4 * * 1,5" and edited["name"] == "Report"
    assert edited["httpMethod"] == "POST" and edited["timeout"] == 30

    assert scj.data("cron.disable", token, id=job["id"])["status"] == 1
    assert scj.data("cron.enable", token, id=job["id"])["status"] == 0
    deleted = scj.data("cron.delete", token, id=job["id"])
    assert deleted["id"] is None and deleted["name"] == "Report"
    assert error(scj.post("cron.get", token, id=job["id"]), 21) == "Cron job not found"


def test_what_the_facade_creates_is_the_native_object(scj, token, client):
    group = scj.data("group.add", token, name="Nightly")
    job = scj.data(
        "cron.add",
        token,
        url="https://example.com/backup",
        name="Backup",
        expression="0 2 * * *",
        group=group["id"],
        httpMethod="PUT",
        ignoreHttpStatus="true",
    )
    native = client.get(
        f"/api/cron-jobs/{job['id']}", headers={"Authorization": f"Bearer {token}"}
    ).json
    assert native["id"] == job["id"] and native["name"] == "Backup"
    assert native["url"] == "https://example.com/backup" and native["method"] == "PUT"
    assert native["cron_expr"] == "0 2 * * *" and native["group"] == "Nightly"
    assert native["expected_status"] == "100-599" and job["ignoreHttpStatus"] is True
    client.put(
        f"/api/cron-jobs/{job['id']}",
        json={"enabled": False},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert scj.data("cron.get", token, id=job["id"])["status"] == 1


def test_add_defaults_name_schedule_and_account_timezone(scj, token):
    scj.data("account.edit", token, timezone="america/new_york")
    job = scj.data("cron.add", token, url="https://example.com/ping")
    assert job["name"] == "https://example.com/ping"
    assert job["expression"] == "*/15 * * * *"  # FastCron's default of 15 minutes
    assert job["timezone"] == "America/New_York"
    assert scj.data("account.get", token)["timezone"] == "America/New_York"


def test_english_intervals_become_cron(scj, token):
    job = add(scj, token, expression="1 hour")
    assert job["expression"] == "0 * * * *" and job["minute"] == ["0"] and job["hour"] == ["*"]
    message = error(scj.post("cron.edit", token, id=job["id"], expression="65 minutes"), 20)
    assert message.startswith("expression: An interval of 65 minutes cannot be written")
    assert scj.data("cron.get", token, id=job["id"])["expression"] == "0 * * * *"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 min", "* * * * *"),
        ("15 minutes", "*/15 * * * *"),
        ("every 30 mins", "*/30 * * * *"),
        ("1 min 60 sec", "*/2 * * * *"),
        ("90 sec", None),
        ("1 hour", "0 * * * *"),
        ("6 hours", "0 */6 * * *"),
        ("1 h 30 m", None),
        ("24 hours", "0 0 * * *"),
        ("1 day", "0 0 * * *"),
        ("1 week", "0 0 * * 0"),
        ("2 days", None),
        ("0 minutes", None),
    ],
)
def test_interval_to_cron(text, expected):
    if expected is None:
        with pytest.raises(ValueError, match="cannot be written as a cron schedule"):
            interval_to_cron(text)
    else:
        assert interval_to_cron(text) == expected


def test_crontab_text_is_not_an_interval():
    assert interval_to_cron("*/5 * * * *") is None
    assert interval_to_cron("0 2 * * 1") is None


@pytest.mark.parametrize(
    "expr",
    [
        "* * * * *",
        "*/5 * * * *",
        "0 2 * * *",
        "5-20/5 1,13 * * MON-FRI",
        "0 0 1,15 * 1",  # either day rule
        "0 0 */2 * 1",  # both day rule: kept as written
        "30 4 * JAN-MAR 0-7",
        "@weekly",
        "0 12 31 */2 *",
    ],
)
def test_schedule_arrays_round_trip_exactly(expr):
    arrays = cron_to_arrays(expr)
    back = arrays_to_cron(arrays, None)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert schedule.next_runs(back, "Europe/Berlin", start, 200) == schedule.next_runs(
        expr, "Europe/Berlin", start, 200
    )
    assert cron_to_arrays(back) == arrays


def test_arrays_accept_wildcards_single_values_and_json(scj, token):
    response = scj.client.post(
        f"{BASE}/api/cron.add",
        json={
            "token": token,
            "url": "https://example.com/x",
            "second": [0],
            "minute": [5, 35],
            "hour": "*",
            "day": [],
            "month": ["1", "7"],
            "weekday": None,
        },
    )
    job = response.json["data"]
    assert job["expression"] == "5,35 * * 1,7 *"
    assert job["hour"] == ["*"] and job["day"] == ["*"] and job["month"] == ["1", "7"]


# --- groups, logs, account, server --------------------------------------------------------------


def test_groups_round_trip(scj, token):
    group = scj.data("group.add", token, name="Reports")
    assert set(group) == {"id", "name"}
    assert error(scj.post("group.add", token, name="reports"), 20).startswith("name: ")
    assert scj.data("group.lookup", token, name="Reports") == [group]
    assert scj.data("group.list", token) == [group]
    renamed = scj.data("group.edit", token, id=group["id"], name="Daily reports")
    assert renamed == {"id": group["id"], "name": "Daily reports"}
    assert scj.data("group.get", token, id=group["id"]) == renamed
    first = add(scj, token, group=group["id"])
    add(scj, token, group=group["id"], url="https://example.com/other")
    ungrouped = add(scj, token, url="https://example.com/alone")
    items = scj.data("group.items", token, id=group["id"])
    assert len(items) == 2 and {job["group"] for job in items} == {group["id"]}
    assert scj.data("cron.edit", token, id=first["id"], group="")["group"] is None

    assert scj.data("group.empty", token, id=group["id"]) == renamed
    assert scj.data("group.items", token, id=group["id"]) == []
    assert {job["id"] for job in scj.data("cron.list", token)} == {first["id"], ungrouped["id"]}
    deleted = scj.data("group.delete", token, id=group["id"])
    assert deleted == {"id": None, "name": "Daily reports"}
    assert error(scj.post("group.get", token, id=group["id"]), 21) == "Group not found"


def test_group_vanish_deletes_its_crons_with_it(scj, token):
    group = scj.data("group.add", token, name="Old")
    job = add(scj, token, group=group["id"])
    keep = add(scj, token, url="https://example.com/keep")
    assert scj.data("group.vanish", token, id=group["id"]) == {"id": None, "name": "Old"}
    assert error(scj.post("cron.get", token, id=job["id"]), 21)
    assert [item["id"] for item in scj.data("cron.list", token)] == [keep["id"]]
    assert scj.data("group.list", token) == []


def test_list_keyword_matches_name_url_or_id(scj, token):
    report = add(scj, token, name="Sales report", url="https://a.example.com/r")
    backup = add(scj, token, name="Backup", url="https://b.example.com/backup-now")
    ids = lambda keyword: [job["id"] for job in scj.data("cron.list", token, keyword=keyword)]  # noqa: E731
    assert ids("REPORT") == [report["id"]]
    assert ids("backup-now") == [backup["id"]]
    assert ids(str(backup["id"])) == [backup["id"]]
    assert ids("nothing") == []
    assert scj.data("cron.list", token, page=2) == []


def _executions(app, job_id: int, outcomes: list[str]) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        for i, outcome in enumerate(outcomes):
            db.session.add(
                CronExecution(
                    cron_job_id=job_id,
                    execution_uid=str(uuid.uuid4()),
                    planned_at=now - timedelta(minutes=10 - i),
                    started_at=now - timedelta(minutes=10 - i),
                    duration_ms=1500,
                    outcome=outcome,
                    status_code=200 if outcome == "ok" else 500,
                    error=None if outcome == "ok" else "HTTP 500",
                    response_body="x" * 10000 if outcome == "ok" else None,
                    connect_us=2000,
                )
            )
        db.session.commit()


def test_logs_and_failures(scj, token, app):
    job = add(scj, token)
    other = add(scj, token, url="https://example.com/other")
    _executions(app, job["id"], ["ok", "failed_http_status", "ok"])
    _executions(app, other["id"], ["failed_timeout"])
    logs = scj.data("cron.logs", token, id=job["id"], limit=250)
    assert [log["status"] for log in logs] == [0, 1, 0]  # newest first
    newest = logs[0]
    assert newest["jobId"] == job["id"] and isinstance(newest["startTime"], int)
    attempt = newest["result"][0]
    assert attempt["url"] == "https://example.com/job" and attempt["httpStatus"] == 200
    assert len(attempt["output"]) == 8192 and attempt["downloaded"] == 10000
    assert attempt["executionTime"] == 1.5 and attempt["connectTime"] == 0.002
    assert len(scj.data("cron.logs", token, id=job["id"], limit=1)) == 1
    failures = scj.data("cron.failures", token, id=job["id"])
    assert [(f["jobId"], f["result"][0]["error"]) for f in failures] == [(job["id"], "HTTP 500")]
    everywhere = scj.data("cron.failures", token)
    assert {f["jobId"] for f in everywhere} == {job["id"], other["id"]}


def test_run_now_and_next_runs(scj, token, app):
    job = add(scj, token, expression="0 3 * * *")
    before = int(time.time())
    planned = scj.data("cron.run", token, id=job["id"])
    assert isinstance(planned, int) and before - 1 <= planned <= before + 60
    with app.app_context():
        assert sum(queues.queue(name).count for name in queues.ALL) == 1
    later = error(scj.post("cron.run", token, id=job["id"], time=before + 3600), 23)
    assert "later time" in later
    runs = scj.data("cron.next", token, id=job["id"])
    assert len(runs) == cron_jobs.NEXT_RUNS_MAX
    assert all(datetime.fromtimestamp(run, UTC).strftime("%H:%M") == "03:00" for run in runs)


def test_status_tells_a_job_switched_off_for_failing_from_one_disabled_by_hand(scj, token, app):
    failing = add(scj, token, expression="0 3 * * *", failureThreshold=2)
    by_hand = add(scj, token, expression="0 4 * * *", failureThreshold=2)
    with app.app_context():
        for job_id in (failing["id"], by_hand["id"]):
            job = db.session.get(CronJob, job_id)
            for _ in range(2):
                state.apply_execution(job, False)
        db.session.commit()
    # Switched off by its failures: 4 (FAILED), even once its threshold has changed.
    assert scj.data("cron.get", token, id=failing["id"])["status"] == 4
    scj.data("cron.edit", token, id=failing["id"], failureThreshold=10)
    assert scj.data("cron.get", token, id=failing["id"])["status"] == 4
    # Enabled again and disabled by a person, with as many failures: 1 (DISABLED).
    scj.data("cron.enable", token, id=by_hand["id"])
    with app.app_context():
        db.session.get(CronJob, by_hand["id"]).consecutive_failures = 5
        db.session.commit()
    assert scj.data("cron.disable", token, id=by_hand["id"])["status"] == 1


def test_account_and_server(scj, app):
    token = scj.key("settings:*", "system:read", name="deploy scripts")
    account = scj.data("account.get", token)
    assert account["name"] == "deploy scripts" and account["timezone"] == "UTC"
    assert set(account) >= {"id", "plan", "dailyExec", "memberLimit", "expiryDate"}
    bad = error(scj.post("account.edit", token, timezone="Mars/Olympus"), 20)
    assert bad.startswith("timezone: Unknown time zone")
    assert scj.data("account.edit", token, timezone="Asia/Tokyo")["timezone"] == "Asia/Tokyo"
    assert error(scj.post("account.secret", token, secret="x"), 23)

    assert abs(scj.data("server.time", token) - time.time()) < 5
    assert "Europe/Berlin" in scj.data("server.timezones", token)
    assert scj.data("server.useragent", token).startswith("Upcron/")
    with app.app_context():
        worker = SimpleWorker([queues.queue(queues.ALL[0])], connection=redis_client.conn)
        worker.register_birth()
        try:
            addresses = scj.data("server.ip", token)
        finally:
            worker.register_death()
    assert set(addresses) == {worker.hostname}
    assert set(addresses[worker.hostname]) == {"v4", "v6"}


# --- errors and scopes ---------------------------------------------------------------------------


def test_documented_error_cases(scj, token):
    assert error(scj.post("cron.get", token), 20) == "id: Required."
    assert error(scj.post("cron.get", token, id="abc"), 20).startswith("id: Must be")
    assert error(scj.post("cron.get", token, id=999), 21) == "Cron job not found"
    assert error(scj.post("cron.add", token), 20) == "url: Enter the URL to call."
    bad_cron = error(scj.post("cron.add", token, url="https://e.com/", expression="0 0 31 2 *"), 20)
    assert bad_cron.startswith("expression: This schedule never runs")
    seconds = error(scj.post("cron.add", token, url="https://e.com/", **{"second[]": "30"}), 20)
    assert seconds == "second: Cron jobs run on whole minutes: second can only be 0."
    minute = error(scj.post("cron.add", token, url="https://e.com/", **{"minute[]": "61"}), 20)
    assert minute == "expression: minute field: 61 is out of range 0-59"
    method = error(scj.post("cron.add", token, url="https://e.com/", httpMethod="BREW"), 20)
    assert method.startswith("httpMethod: Choose one of GET")
    assert error(scj.post("cron.add", token, url="https://e.com/", timeout="soon"), 20)
    assert error(scj.post("cron.pause", token, id=1, **{"for": "1 day"}), 23)
    # Refused where the request is decoded, before any call reads it (app.web.decoding).
    nul = "The field 'name' of the form contains a NUL character"
    assert error(scj.post("group.add", token, name="a\x00b"), 20, 422).startswith(nul)
    assert error(scj.post("cron.add", token, url="https://e.com/", name="a\x00b"), 20, 422)
    huge = error(scj.post("cron.get", token, id=2**40), 20)
    assert huge == "id: Must be a whole number from 1 to 2147483647."
    listed = scj.client.post(
        f"{BASE}/api/cron.add",
        json={"token": token, "url": ["https://e.com/"], "timeout": [1], "group": {"id": 1}},
    )
    assert error(listed, 20) == (
        "timeout: Must be a number of seconds. group: Must be a group id, or empty for none."
    )
    with scj.app.app_context():
        assert cron_jobs.list_cron_jobs().total == 0  # nothing half-written


def test_transport_errors_keep_the_envelope(scj, token):
    unknown = error(scj.get("cron.explode", token), 1, 404)
    assert "cron.explode" in unknown
    assert error(scj.client.get(f"{BASE}/elsewhere"), 1, 404)
    put = scj.client.put(f"{BASE}/api/cron.list?token={token}")
    assert error(put, 20, 405).startswith("Method PUT is not allowed")
    assert put.headers["Allow"]
    broken = scj.client.post(
        f"{BASE}/api/cron.list", data='{"token": ', content_type="application/json"
    )
    assert error(broken, 20) == "The body is not valid JSON."
    listed = scj.client.post(f"{BASE}/api/cron.list", json=[token])
    assert error(listed, 20).startswith("Send the JSON body as an object")


@pytest.mark.parametrize(
    ("call", "params", "granted", "needed"),
    [
        ("cron.list", {}, "settings:read", "cron-jobs:read"),
        ("cron.add", {"url": "https://e.com/"}, "cron-jobs:read", "cron-jobs:write"),
        ("group.add", {"name": "X"}, "cron-jobs:read", "cron-jobs:write"),
        ("account.get", {}, "cron-jobs:*", "settings:read"),
        ("account.edit", {"timezone": "UTC"}, "settings:read", "settings:write"),
        ("server.time", {}, "cron-jobs:*", "system:read"),
    ],
)
def test_key_is_refused_outside_its_scopes(scj, call, params, granted, needed):
    token = scj.key(granted)
    message = error(scj.post(call, token, **params), 12)
    assert message == f"Insufficient permissions. Required scope: {needed}"


def test_the_browser_session_is_not_a_token(scj, logged_in):
    # Writes go through GET here: a cookie would let any site send them.
    response = logged_in.get(f"{BASE}/api/cron.add?url=https://example.com/")
    assert response.json == INVALID


# --- the service rules the facade needed ----------------------------------------------------------


def test_services_delete_a_groups_jobs_and_refuse_duplicate_groups(app):
    with app.app_context():
        group = groups.create("Batch")
        cron_jobs.create(
            {"name": "A", "url": "https://e.com/", "cron_expr": "0 * * * *", "group": "Batch"}
        )
        with pytest.raises(ValidationError) as refused:
            groups.create("batch")
        assert refused.value.fields == {"name": groups.NAME_TAKEN}
        assert cron_jobs.delete_in_group(group.id) == 1
        assert groups.get(group.id).name == "Batch"
        assert cron_jobs.list_cron_jobs().total == 0
        assert cron_jobs.delete_in_group(group.id, delete_group=True) == 0
        assert groups.list_groups() == []


def test_services_default_timezone_and_failed_executions(app):
    with app.app_context():
        assert cron_jobs.default_timezone() == "UTC"
        assert cron_jobs.set_default_timezone("europe/paris") == "Europe/Paris"
        job = cron_jobs.create({"name": "J", "url": "https://e.com/", "cron_expr": "0 * * * *"})
        assert job.timezone == "Europe/Paris"
        explicit = cron_jobs.create(
            {"name": "K", "url": "https://e.com/", "cron_expr": "0 * * * *", "timezone": "UTC"}
        )
        assert explicit.timezone == "UTC"
        job_id = job.id
    _executions(app, job_id, ["ok", "failed_dns"])
    with app.app_context():
        failed = history.failed_executions(job_id)
        assert [row.outcome for row in failed.items] == ["failed_dns"]
        assert history.failed_executions().total == 1
