"""Response assertions of http and keyword monitors: every source and operator, holding and
failing, against a real JSON target on loopback, through the whole pipeline (scheduler, RQ
worker, recorded results and states); the rules a saved assertion must meet, through the API
and its OpenAPI document; the dashboard's editor, with and without JavaScript; the migration.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.engine.assertions import OPS_BY_SOURCE, SOURCES, show
from app.extensions import db
from app.models import CheckResult, Monitor
from app.models.history import FAILED_ASSERTION, OK
from app.services import monitors
from app.services.errors import ValidationError
from tests.conftest import csrf_token, page_text, post_form, swap_kind_fields
from tests.pipeline import check_results, run_due
from tests.targets import TargetServer

DOCUMENT = {
    "status": "ok",
    "queue": {"depth": 57, "name": "mail"},
    "tags": ["eu", "primary"],
    "ready": True,
    "version": "2.4.1",
    "note": None,
}
BODY = json.dumps(DOCUMENT)
HEADERS = {"Content-Type": "application/json", "X-Version": "2.4.1", "X-Count": "12"}

# (source, path, op, value, the reason when it fails, or None when it holds)
CASES = [
    ("status", None, "eq", 200, None),
    ("status", None, "eq", 204, "status = 200, expected eq 204"),
    ("status", None, "ne", 500, None),
    ("status", None, "ne", 200, "status = 200, expected ne 200"),
    ("status", None, "lt", 300, None),
    ("status", None, "lt", 200, "status = 200, expected lt 200"),
    ("status", None, "lte", 200, None),
    ("status", None, "lte", 199, "status = 200, expected lte 199"),
    ("status", None, "gt", 199, None),
    ("status", None, "gt", 200, "status = 200, expected gt 200"),
    ("status", None, "gte", 200, None),
    ("status", None, "gte", 201, "status = 200, expected gte 201"),
    ("response_time_ms", None, "lt", 5000, None),
    ("response_time_ms", None, "lt", 0, "response_time_ms = "),
    ("response_time_ms", None, "lte", 5000, None),
    ("response_time_ms", None, "lte", -1, "response_time_ms = "),
    ("response_time_ms", None, "gt", -1, None),
    ("response_time_ms", None, "gt", 60000, "response_time_ms = "),
    ("response_time_ms", None, "gte", 0, None),
    ("response_time_ms", None, "gte", 60000, "response_time_ms = "),
    ("response_time_ms", None, "ne", -1, None),
    ("response_time_ms", None, "eq", -1, "response_time_ms = "),
    ("body", None, "eq", BODY, None),
    ("body", None, "eq", "ok", "body = "),
    ("body", None, "ne", "ok", None),
    ("body", None, "ne", BODY, "body = "),
    ("body", None, "contains", '"depth": 57', None),
    ("body", None, "contains", "error", "body = "),
    ("body", None, "not_contains", "error", None),
    ("body", None, "not_contains", "queue", "body = "),
    ("body", None, "matches", r'"version": "2\.\d+', None),
    ("body", None, "matches", r"^\[", "body = "),
    ("header", "X-Version", "eq", "2.4.1", None),
    ("header", "x-version", "eq", "2.4.0", 'header x-version = "2.4.1", expected eq "2.4.0"'),
    ("header", "X-Version", "ne", "2.4.0", None),
    ("header", "X-Version", "ne", "2.4.1", 'header X-Version = "2.4.1", expected ne "2.4.1"'),
    ("header", "X-Count", "lt", 20, None),
    ("header", "X-Count", "lt", 10, 'header X-Count = "12", expected lt 10'),
    ("header", "X-Count", "lte", 12, None),
    ("header", "X-Count", "lte", 11.5, 'header X-Count = "12", expected lte 11.5'),
    ("header", "X-Count", "gt", 11, None),
    ("header", "X-Count", "gt", 12, 'header X-Count = "12", expected gt 12'),
    ("header", "X-Count", "gte", 12, None),
    ("header", "X-Count", "gte", 13, 'header X-Count = "12", expected gte 13'),
    ("header", "Content-Type", "contains", "json", None),
    (
        "header",
        "Content-Type",
        "contains",
        "xml",
        'header Content-Type = "application/json", expected contains "xml"',
    ),
    ("header", "Content-Type", "not_contains", "xml", None),
    (
        "header",
        "Content-Type",
        "not_contains",
        "json",
        'header Content-Type = "application/json", expected not_contains "json"',
    ),
    ("header", "X-Version", "matches", r"^2\.\d+\.\d+$", None),
    (
        "header",
        "X-Version",
        "matches",
        r"^3\.",
        'header X-Version = "2.4.1", expected matches "^3\\\\."',
    ),
    ("header", "X-Version", "exists", None, None),
    ("header", "X-Missing", "exists", None, "header X-Missing is missing, expected exists"),
    ("header", "X-Missing", "not_exists", None, None),
    ("header", "X-Count", "not_exists", None, 'header X-Count = "12", expected not_exists'),
    ("json", "queue.name", "eq", "mail", None),
    ("json", "queue.name", "eq", "sms", 'json queue.name = "mail", expected eq "sms"'),
    ("json", "ready", "eq", True, None),
    ("json", "tags", "eq", ["eu", "primary"], None),
    ("json", "queue.depth", "ne", 0, None),
    ("json", "queue.depth", "ne", 57, "json queue.depth = 57, expected ne 57"),
    ("json", "queue.depth", "lt", 100, None),
    ("json", "queue.depth", "lt", 10, "json queue.depth = 57, expected lt 10"),
    ("json", "queue.depth", "lte", 57, None),
    ("json", "queue.depth", "lte", 56, "json queue.depth = 57, expected lte 56"),
    ("json", "queue.depth", "gt", 56.5, None),
    ("json", "queue.depth", "gt", 57, "json queue.depth = 57, expected gt 57"),
    ("json", "queue.depth", "gte", 57, None),
    ("json", "queue.depth", "gte", 58, "json queue.depth = 57, expected gte 58"),
    ("json", "tags", "contains", "eu", None),
    ("json", "tags", "contains", "us", 'json tags = ["eu", "primary"], expected contains "us"'),
    ("json", "status", "contains", "o", None),
    ("json", "tags", "not_contains", "us", None),
    (
        "json",
        "tags",
        "not_contains",
        "eu",
        'json tags = ["eu", "primary"], expected not_contains "eu"',
    ),
    ("json", "version", "matches", r"^2\.", None),
    ("json", "version", "matches", r"^3\.", 'json version = "2.4.1", expected matches "^3\\\\."'),
    ("json", "queue.depth", "exists", None, None),
    ("json", "queue.size", "exists", None, "json queue.size is missing, expected exists"),
    ("json", "note", "not_exists", None, None),
    ("json", "queue.depth", "not_exists", None, "json queue.depth = 57, expected not_exists"),
    ("json", "length(tags)", "eq", 2, None),
    ("json", "tags[?@ == 'eu'] | [0]", "eq", "eu", None),
]


@pytest.fixture
def target():
    with TargetServer() as server:
        server.route("/health", body=BODY, headers=HEADERS)
        server.route("/page", body="<html>busy</html>", headers={"Content-Type": "text/html"})
        server.route("/hostile", body="a" * 64 + "!")
        yield server


def assertion(source, path, op, value) -> dict:
    return {"source": source, "path": path, "op": op, "value": value}


def create(url: str, *assertions: dict, **extra) -> Monitor:
    return monitors.create(
        {
            "name": "API",
            "url": url,
            "interval_sec": 10,
            "timeout_ms": 3000,
            "failure_threshold": 1,
            "assertions": list(assertions),
        }
        | extra
    )


# --- through the pipeline ------------------------------------------------------------------


def test_every_source_and_operator_holds_or_fails_through_the_pipeline(scheduler, target):
    url = target.url("/health")
    created = [(create(url, assertion(*case[:4])).id, case) for case in CASES]
    # Monitors created together have their first checks spread over the coming minute.
    run_due(scheduler, datetime.now(UTC) + timedelta(minutes=1))
    seen = set()
    for monitor_id, (source, path, op, value, failure) in created:
        [result] = check_results(monitor_id)
        monitor = db.session.get(Monitor, monitor_id)
        case = f"{source} {path} {op} {value!r}"
        if failure is None:
            assert (result.outcome, result.error, monitor.state) == (OK, None, "up"), case
        else:
            assert result.outcome == FAILED_ASSERTION, case
            assert result.error.startswith(failure), (case, result.error)
            expected = op if value is None else f"{op} {show(value)}"
            assert result.error.endswith(f"expected {expected}"), case
            assert monitor.state == "down" and monitor.last_error == result.error
        seen.add((source, op, failure is None))
    assert {(s, o) for s, o, _ in seen} == {(s, o) for s in SOURCES for o in OPS_BY_SOURCE[s]}
    # Every pair both held and failed, but for a response time that is exactly some figure.
    once = {(s, o) for s, o, holds in seen if (s, o, not holds) not in seen}
    assert once == {("response_time_ms", "eq"), ("response_time_ms", "ne")}


def test_a_monitor_with_many_assertions_recovers_when_all_hold_again(scheduler, target):
    monitor = create(
        target.url("/health"),
        assertion("status", None, "eq", 200),
        assertion("json", "queue.depth", "lt", 100),
        assertion("header", "X-Version", "matches", r"^2\."),
        keyword="mail",
        kind="keyword",
    )
    start = datetime.now(UTC)
    run_due(scheduler, start)
    assert db.session.get(Monitor, monitor.id).state == "up"

    deeper = DOCUMENT | {"queue": {"depth": 512, "name": "mail"}}
    target.route("/health", body=json.dumps(deeper), headers=HEADERS)
    run_due(scheduler, start + timedelta(seconds=10))
    down = db.session.get(Monitor, monitor.id)
    assert down.state == "down"
    assert down.last_error == "json queue.depth = 512, expected lt 100"

    target.route("/health", body=BODY, headers=HEADERS)
    run_due(scheduler, start + timedelta(seconds=20))
    assert db.session.get(Monitor, monitor.id).state == "up"
    # The keyword's scan and the json assertion read the same kept body.
    assert [r.outcome for r in check_results(monitor.id)] == [OK, FAILED_ASSERTION, OK]


def test_a_body_that_is_not_json_fails_a_json_assertion(scheduler, target):
    monitor = create(target.url("/page"), assertion("json", "queue.depth", "lt", 10))
    run_due(scheduler, datetime.now(UTC))
    [result] = check_results(monitor.id)
    assert result.outcome == FAILED_ASSERTION
    assert result.error == (
        "json queue.depth: the body is not JSON (Expecting value: line 1 column 1 (char 0))"
    )


def test_a_hostile_body_cannot_hold_a_worker_with_a_catastrophic_pattern(scheduler, target):
    monitor = create(target.url("/hostile"), assertion("body", None, "matches", "(a|aa)+$"))
    started = datetime.now(UTC)
    run_due(scheduler, started)
    [result] = check_results(monitor.id)
    assert result.outcome == FAILED_ASSERTION
    assert result.error.endswith('expected matches "(a|aa)+$" (the match took longer than 200 ms)')
    assert (datetime.now(UTC) - started).total_seconds() < 10


# --- the rules of what may be saved ----------------------------------------------------


@pytest.fixture
def key(api):
    return api.key("monitors:*")


VALID = [
    assertion("status", None, "lt", 400),
    assertion("json", "queue.depth", "lt", 10),
    assertion("header", "Content-Type", "contains", "json"),
]


def test_api_creates_reads_updates_and_clears_assertions(api, key):
    created = api.post(
        "/api/monitors",
        key,
        json={"name": "Queue", "url": "https://example.com/health", "assertions": VALID},
    )
    assert created.status_code == 201, created.json
    assert created.json["assertions"] == VALID
    path = f"/api/monitors/{created.json['id']}"
    assert api.get(path, key).json["assertions"] == VALID
    one = [{"source": "json", "path": " ready ", "op": "exists"}]
    changed = api.put(path, key, json={"assertions": one})
    assert changed.status_code == 200, changed.json
    assert changed.json["assertions"] == [assertion("json", "ready", "exists", None)]
    assert api.put(path, key, json={"assertions": None}).json["assertions"] == []
    plain = api.post("/api/monitors", key, json={"name": "P", "url": "https://example.com/"})
    assert plain.json["assertions"] == []


def nested(depth: int) -> list:
    """A number inside ``depth`` lists."""
    value: list | int = 0
    for _ in range(depth):
        value = [value]
    return value


def bad(index: int, field: str) -> str:
    return f"assertions[{index}].{field}"


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        (
            assertion("json", "queue.[", "lt", 10),
            "path",
            "Not a valid JMESPath expression: the expression ends too early.",
        ),
        (
            assertion("json", "a..b", "lt", 10),
            "path",
            "Not a valid JMESPath expression: Expecting: ['quoted_identifier', ",
        ),
        (
            assertion("json", "sum(tags) || nofunc(a)", "exists", None),
            "path",
            "Not a valid JMESPath expression: there is no function nofunc().",
        ),
        (assertion("json", "", "lt", 10), "path", "Enter a JMESPath expression, such as"),
        (assertion("json", None, "exists", None), "path", "Enter a JMESPath expression"),
        (assertion("header", None, "exists", None), "path", "Enter the header's name"),
        (assertion("header", "X Y", "exists", None), "path", "Not a header name"),
        (assertion("header", "A" * 201, "exists", None), "path", "Use at most 200 characters."),
        (assertion("status", "code", "eq", 200), "path", "Not used with status: leave it out."),
        (assertion("body", None, "matches", "(a"), "value", "Not a valid regular expression: "),
        (assertion("json", "a", "matches", "[z-a]"), "value", "Not a valid regular expression"),
        (assertion("json", "a", "between", 1), "op", "Choose one of eq, ne, lt, lte, gt, gte,"),
        (assertion("cookie", "a", "eq", "1"), "source", "Choose one of status, header, body,"),
        (assertion("status", None, "contains", "2"), "op", "Not used with status: choose one"),
        (assertion("body", None, "exists", None), "op", "Not used with body: choose one"),
        (assertion("json", "a", "lt", "10"), "value", "Must be a number."),
        (assertion("json", "a", "gte", True), "value", "Must be a number."),
        (assertion("status", None, "eq", "200"), "value", "Must be a number."),
        (assertion("response_time_ms", None, "lt", "fast"), "value", "Must be a number."),
        (assertion("json", "a", "contains", 5), "value", "Must be text."),
        (assertion("body", None, "matches", 5), "value", "Must be text."),
        (assertion("header", "A", "eq", 1), "value", "Must be text."),
        (assertion("json", "a", "exists", "yes"), "value", "Leave it out: exists asks only"),
        (assertion("json", "a", "eq", None), "value", "Enter the value to compare with; to ask"),
        (assertion("json", "a", "eq", ["x"] * 300), "value", "Use at most 1000 characters"),
        (assertion("json", "a", "eq", nested(21)), "value", "Nest lists and objects at most 20"),
        (assertion("json", "a", "ne", nested(400)), "value", "Nest lists and objects at most 20"),
        (assertion("body", None, "contains", "x" * 501), "value", "Use at most 500 characters."),
        (assertion("body", None, "contains", ""), "value", "Must be text."),
        ({**VALID[0], "extra": 1}, "extra", "Unknown field."),
    ],
)
def test_api_names_the_assertion_and_the_part_that_is_wrong(api, key, item, field, message):
    body = {"name": "N", "url": "https://example.com/", "assertions": [*VALID, item]}
    response = api.post("/api/monitors", key, json=body)
    assert response.status_code == 422, response.json
    assert list(response.json["fields"]) == [bad(3, field)]
    assert response.json["fields"][bad(3, field)].startswith(message)


def test_api_refuses_too_many_assertions_hostile_text_and_other_kinds(api, key):
    base = {"name": "N", "url": "https://example.com/"}
    cases = [
        ({"assertions": VALID * 7}, "assertions", "Give at most 20 assertions."),
        ({"assertions": {"source": "status"}}, "assertions", "Must be a list of assertions"),
        ({"assertions": ["status"]}, "assertions[0]", "Must be an object of source"),
        ({"assertions": [assertion("body", None, "eq", "a\x00b")]}, "assertions.value", "The fie"),
    ]
    for extra, field, message in cases:
        response = api.post("/api/monitors", key, json=base | extra)
        assert response.status_code == 422, response.json
        assert list(response.json["fields"]) == [field]
        assert response.json["fields"][field].startswith(message)
    # Not a number JSON allows, and more than one wrong part named at once.
    raw = (
        '{"name": "N", "url": "https://example.com/", "assertions": [{"source": "json", '
        '"path": "a", "op": "lt", "value": NaN}, {"source": "x", "op": "y"}]}'
    )
    response = api.post("/api/monitors", key, data=raw, content_type="application/json")
    assert response.status_code == 422
    assert set(response.json["fields"]) <= {bad(0, "value"), bad(1, "source"), bad(1, "op")}
    tcp = {"type": "tcp", "name": "T", "host": "db.example", "port": 5432, "assertions": VALID}
    refused = api.post("/api/monitors", key, json=tcp)
    assert refused.json["fields"] == {"assertions": "Not used by tcp monitors."}


def test_the_service_saves_nothing_of_a_refused_assertion(app):
    with app.app_context():
        base = {"name": "N", "url": "https://example.com/"}
        with pytest.raises(ValidationError) as refused:
            monitors.create(base | {"assertions": [assertion("x", 1, 2, 3)]})
        assert set(refused.value.fields) == {bad(0, "source"), bad(0, "op")}
        with pytest.raises(ValidationError) as nul:
            monitors.create(base | {"assertions": [assertion("body", None, "eq", "a\x00")]})
        assert nul.value.fields == {"assertions": "Cannot contain NUL characters."}
        assert db.session.execute(sa.select(sa.func.count(Monitor.id))).scalar() == 0


def test_the_openapi_document_describes_assertions(client):
    document = client.get("/api/openapi.json").json
    schemas = document["components"]["schemas"]
    item = schemas["MonitorCreate"]["properties"]["assertions"]["items"]
    assert item["properties"]["op"]["enum"][-2:] == ["exists", "not_exists"]
    assert item["required"] == ["source", "op"]
    assert schemas["Monitor"]["properties"]["assertions"]["maxItems"] == 20
    assert "failed_assertion" in schemas["CheckResult"]["properties"]["outcome"]["enum"]


# --- the dashboard -----------------------------------------------------------------------

FORM = {
    "name": "Queue",
    "kind": "http",
    "url": "https://example.com/health",
    "method": "GET",
    "expected_status": "200-399",
    "interval_sec": "60",
    "timeout_ms": "10000",
    "failure_threshold": "2",
    "recovery_threshold": "1",
    "max_redirects": "10",
}


def rows(*items) -> dict:
    data = {}
    for index, (source, path, op, value) in enumerate(items):
        data |= {
            f"assertions-{index}-source": source,
            f"assertions-{index}-path": path,
            f"assertions-{index}-op": op,
            f"assertions-{index}-value": value,
        }
    return data


def test_the_form_offers_labelled_assertion_rows_for_http_kinds_only(logged_in):
    page = page_text(logged_in.get("/monitors/new"))
    for label in ("Source", "Path", "Operator", "Value"):
        assert f'<label for="assertions-0-{label.lower().replace("operator", "op")}">' in page
    assert 'name="add_assertion"' in page
    tcp = swap_kind_fields(logged_in, {"kind": "tcp"})
    assert "assertions-0-source" not in page_text(tcp)


def test_add_a_row_with_htmx_and_without_javascript(logged_in):
    typed = rows(("json", "queue.depth", "lt", "10"))
    token = csrf_token(logged_in, "/monitors/new")
    fragment = logged_in.post(
        "/monitors/assertion-rows",
        data={**FORM, **typed},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert fragment.status_code == 200
    text = page_text(fragment)
    assert text.strip().startswith('<fieldset id="assertions"')
    assert 'value="queue.depth"' in text and 'id="assertions-1-source"' in text
    assert 'id="assertions-2-source"' not in text and "<html" not in text

    plain = post_form(logged_in, "/monitors/new", {**FORM, **typed, "add_assertion": "1"})
    assert plain.status_code == 200
    page = page_text(plain)
    assert 'id="assertions-1-source"' in page and 'value="queue.depth"' in page
    with logged_in.application.app_context():
        assert monitors.list_monitors().total == 0


def test_create_edit_and_show_assertions_in_the_dashboard(logged_in):
    wrong = rows(("json", "queue.[", "lt", "10"), ("", "", "", ""), ("status", "", "lt", "abc"))
    refused = post_form(logged_in, "/monitors/new", {**FORM, **wrong})
    assert refused.status_code == 422
    page = page_text(refused)
    assert 'id="assertions-0-path-error"' in page and "Not a valid JMESPath expression" in page
    assert 'id="assertions-2-value-error"' in page and "Must be a number." in page
    assert 'aria-invalid="true"' in page

    good = rows(
        ("json", "queue.depth", "lt", "10"),
        ("", "", "", ""),  # a blank row is no assertion
        ("header", "X-Version", "exists", ""),
        ("json", "ready", "eq", "true"),
        ("body", "", "contains", "ok"),
    )
    created = post_form(logged_in, "/monitors/new", {**FORM, **good})
    assert created.status_code == 302, page_text(created)
    with logged_in.application.app_context():
        [monitor] = monitors.list_monitors().items
        assert monitor.assertions == [
            assertion("json", "queue.depth", "lt", 10),
            assertion("header", "X-Version", "exists", None),
            assertion("json", "ready", "eq", True),
            assertion("body", None, "contains", "ok"),
        ]
        monitor_id = monitor.id
        now = datetime.now(UTC)
        db.session.add(
            CheckResult(
                monitor_id=monitor_id,
                planned_at=now,
                started_at=now,
                outcome=FAILED_ASSERTION,
                status_code=200,
                error="json queue.depth = 57, expected lt 10",
                total_us=1000,
            )
        )
        db.session.commit()
    detail = page_text(logged_in.get(f"/monitors/{monitor_id}"))
    assert "<code>json queue.depth lt 10</code>" in detail
    assert "<code>header X-Version exists</code>" in detail
    assert "<code>json ready eq true</code>" in detail
    assert "json queue.depth = 57, expected lt 10" in detail

    edit = f"/monitors/{monitor_id}/edit"
    form = page_text(logged_in.get(edit))
    assert 'value="queue.depth"' in form and 'value="true"' in form
    assert 'id="assertions-4-source"' in form  # an empty row to add one more
    saved = post_form(logged_in, edit, {**FORM, **rows(("status", "", "eq", "200"))})
    assert saved.status_code == 302, page_text(saved)
    with logged_in.application.app_context():
        assert monitors.get(monitor_id).assertions == [assertion("status", None, "eq", 200)]
    cleared = post_form(logged_in, edit, FORM)
    assert cleared.status_code == 302
    with logged_in.application.app_context():
        assert monitors.get(monitor_id).assertions == []


def test_the_form_edits_as_many_assertions_as_may_be_saved(logged_in):
    with logged_in.application.app_context():
        full = create("https://example.com/", *[assertion("status", None, "ne", 500)] * 20)
    edit = f"/monitors/{full.id}/edit"
    page = page_text(logged_in.get(edit))
    assert 'id="assertions-19-source"' in page and 'id="assertions-20-source"' not in page
    assert 'name="add_assertion"' not in page
    data = {**FORM, **rows(*[("status", "", "ne", "500")] * 20), "add_assertion": "1"}
    again = post_form(logged_in, edit, data)
    assert again.status_code == 200 and 'id="assertions-20-source"' not in page_text(again)


# --- the migration ------------------------------------------------------------------------


def test_the_migration_goes_down_and_up_keeping_monitors(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        kept = monitors.create({"name": "Web", "url": "https://example.com/"})
        db.session.remove()
        downgrade(revision="0010")  # before this migration
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("monitors")}
        assert "assertions" not in columns
        upgrade()
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        assert monitors.get(kept.id).assertions is None
        assert create("https://example.com/", *VALID).assertions == VALID
