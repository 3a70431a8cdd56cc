"""The monitor and group services: every field rule, slugs, pause/resume and the list."""

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import CheckResult, DailyRollup, Group, Monitor
from app.models.history import SUBJECT_MONITOR
from app.services import fields, groups, incidents, monitors
from app.services.errors import Conflict, NotFound, ValidationError
from tests.targets import TargetServer

URL = "https://example.com/health"
NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def make(name="API", **data):
    return monitors.create({"name": name, "url": URL, **data})


def errors_of(call, *args, **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        call(*args, **kwargs)
    return info.value.fields


def test_create_applies_the_defaults(ctx):
    monitor = monitors.create({"name": "  API  ", "url": f"  {URL} "})
    assert (monitor.name, monitor.url, monitor.kind) == ("API", URL, "http")
    assert monitor.method == "GET"
    assert monitor.headers == {}
    assert (monitor.interval_sec, monitor.timeout_ms) == (60, 10000)
    assert monitor.expected_status == "200-399"
    assert (monitor.follow_redirects, monitor.max_redirects) == (True, 10)
    assert (monitor.failure_threshold, monitor.recovery_threshold) == (2, 1)
    assert (monitor.public, monitor.paused, monitor.state) == (False, False, "pending")
    assert monitor.state_changed_at is not None
    assert monitor.group is None
    assert monitor.slug == "api"


def test_create_stores_every_field(ctx):
    monitor = monitors.create(
        {
            "name": "Shop",
            "description": "The checkout",
            "group": "Production",
            "kind": "keyword",
            "url": "http://shop.example.com:8080/cart?x=1",
            "method": "post",
            "headers": {"X-Token": "abc", "Accept": "text/html"},
            "body": '{"ping": true}',
            "auth_username": "bot",
            "auth_password": "s3cret",
            "interval_sec": 10,
            "timeout_ms": 60000,
            "expected_status": "200-299,301",
            "follow_redirects": False,
            "max_redirects": 0,
            "keyword": "Add to cart",
            "keyword_absent": True,
            "failure_threshold": 100,
            "recovery_threshold": 3,
            "public": True,
        }
    )
    db.session.expire_all()
    stored = db.session.get(Monitor, monitor.id)
    assert stored.group.name == "Production"
    assert stored.kind == "keyword"
    assert stored.method == "POST"
    assert stored.headers == {"X-Token": "abc", "Accept": "text/html"}
    assert (stored.body, stored.auth_username, stored.auth_password) == (
        '{"ping": true}',
        "bot",
        "s3cret",
    )
    assert (stored.interval_sec, stored.timeout_ms, stored.max_redirects) == (10, 60000, 0)
    assert stored.expected_status == "200-299,301"
    assert (stored.keyword, stored.keyword_absent, stored.follow_redirects) == (
        "Add to cart",
        True,
        False,
    )
    assert (stored.failure_threshold, stored.recovery_threshold, stored.public) == (100, 3, True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Enter a name."),
        ("name", "   ", "Enter a name."),
        ("name", "x" * 201, "at most 200"),
        ("name", 5, "Must be text."),
        ("url", "", "Enter the URL to call."),
        ("url", "ftp://example.com/", "http:// or https://"),
        ("url", "example.com", "http:// or https://"),
        ("url", "https://", "http:// or https://"),
        ("url", "https://example.com:99999/", "http:// or https://"),
        ("url", "https://exa mple.com/", "spaces"),
        ("url", "not a url", "such as https://example.com/health"),
        ("url", "https://example.com/" + "a" * 2048, "at most 2048"),
        ("method", "FETCH", "Choose one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS."),
        ("headers", ["X-A", "1"], "object of header names"),
        ("headers", {"X Bad": "1"}, "not a valid header name"),
        ("headers", {"X-A": 1}, "must be text"),
        ("headers", {"X-A": "1\r\nX-Injected: 2"}, "line breaks"),
        ("headers", {f"X-{n}": "v" for n in range(51)}, "at most 50 headers"),
        ("headers", "no colon here", '"Name: value"'),
        ("interval_sec", 9, "Must be a whole number from 10 to 86400."),
        ("interval_sec", 86401, "Must be a whole number from 10 to 86400."),
        ("interval_sec", "a minute", "Must be a whole number from 10 to 86400."),
        ("interval_sec", 60.5, "Must be a whole number from 10 to 86400."),
        ("interval_sec", True, "Must be a whole number from 10 to 86400."),
        ("timeout_ms", 99, "Must be a whole number from 100 to 60000."),
        ("timeout_ms", 60001, "Must be a whole number from 100 to 60000."),
        ("max_redirects", 11, "Must be a whole number from 0 to 10."),
        ("max_redirects", -1, "Must be a whole number from 0 to 10."),
        ("failure_threshold", 0, "Must be a whole number from 1 to 100."),
        ("recovery_threshold", 101, "Must be a whole number from 1 to 100."),
        ("expected_status", 200, "such as 200-299,301"),
        ("keyword", "k" * 501, "at most 500"),
        ("auth_username", "u" * 201, "at most 200"),
        ("auth_password", "p" * 201, "at most 200"),
        ("follow_redirects", "maybe", "Must be true or false."),
        ("public", None, "Must be true or false."),
        ("paused", 1, "Must be true or false."),
        ("group", "g" * 101, "at most 100"),
        ("kind", "smtp", "Choose one of http, keyword, tcp, dns, ping, heartbeat."),
    ],
)
def test_create_rejects_each_invalid_field(ctx, field, value, message):
    errors = errors_of(monitors.create, {"name": "API", "url": URL, field: value})
    assert list(errors) == [field]
    assert message in errors[field]
    assert db.session.scalar(sa.select(sa.func.count(Monitor.id))) == 0


@pytest.mark.parametrize("value", ["200-", "abc", "600", "299-200", ""])
def test_expected_status_must_parse(ctx, value):
    errors = errors_of(monitors.create, {"name": "API", "url": URL, "expected_status": value})
    assert list(errors) == ["expected_status"]
    assert errors["expected_status"]


def test_expected_status_is_stored_normalised(ctx):
    assert make(expected_status=" 200 - 299 , 301 ").expected_status == "200-299,301"


def test_all_errors_are_reported_at_once(ctx):
    errors = errors_of(
        monitors.create,
        {"interval_sec": 5, "method": "FETCH", "public": "perhaps", "colour": "red"},
    )
    assert set(errors) == {"name", "url", "interval_sec", "method", "public", "colour"}
    assert errors["name"] == "Enter a name."
    assert errors["url"] == "Enter the URL to call."
    assert errors["colour"] == "Unknown field."


def test_unknown_fields_are_refused_on_update_too(ctx):
    monitor = make()
    assert errors_of(monitors.update, monitor.id, {"code": "mine"}) == {"code": "Unknown field."}
    assert errors_of(monitors.update, monitor.id, {"state": "up"}) == {"state": "Unknown field."}


def test_input_must_be_an_object(ctx):
    with pytest.raises(ValidationError) as info:
        monitors.create(["name", "API"])
    assert "object" in info.value.message


def test_form_strings_are_coerced(ctx):
    monitor = make(
        interval_sec=" 30 ",
        timeout_ms="2500",
        max_redirects="0",
        follow_redirects="",
        public="on",
        keyword_absent="1",
        paused="false",
        headers="X-A: 1\n\nAuthorization: Bearer a:b\n",
        body="",
        keyword="",
        group="",
    )
    assert (monitor.interval_sec, monitor.timeout_ms, monitor.max_redirects) == (30, 2500, 0)
    assert (monitor.follow_redirects, monitor.public, monitor.keyword_absent) == (
        False,
        True,
        True,
    )
    assert monitor.paused is False
    assert monitor.headers == {"X-A": "1", "Authorization": "Bearer a:b"}
    assert (monitor.body, monitor.keyword, monitor.group) == (None, None, None)


@pytest.mark.parametrize(
    ("text", "expected"), [("true", True), ("TRUE", True), ("0", False), ("False", False)]
)
def test_boolean_spellings(ctx, text, expected):
    assert make(public=text).public is expected


def test_keyword_monitors_need_a_keyword(ctx):
    errors = errors_of(monitors.create, {"name": "K", "url": URL, "kind": "keyword"})
    assert errors == {"keyword": "Enter the text to look for; keyword monitors need one."}
    monitor = make()
    assert set(errors_of(monitors.update, monitor.id, {"kind": "keyword"})) == {"keyword"}
    monitor = monitors.update(monitor.id, {"kind": "keyword", "keyword": "OK"})
    assert monitor.kind == "keyword"
    # Clearing the keyword of a keyword monitor is the same mistake.
    assert set(errors_of(monitors.update, monitor.id, {"keyword": ""})) == {"keyword"}
    # A change of something else leaves the existing keyword in force.
    assert monitors.update(monitor.id, {"interval_sec": 120}).keyword == "OK"


def test_slugs_are_unique_and_stable(ctx):
    assert [make("API").slug for _ in range(3)] == ["api", "api-2", "api-3"]
    assert make("API status").slug == "api-status"
    monitor = make("Café Ünïcode!  Check")
    assert monitor.slug == "cafe-unicode-check"
    assert monitors.update(monitor.id, {"name": "Something else"}).slug == "cafe-unicode-check"
    assert make("日本").slug == "monitor"
    assert make("日本").slug == "monitor-2"
    long = make("a" * 99 + " b" + "c" * 50).slug
    assert len(long) <= 100 and not long.endswith("-")


def test_new_monitor_can_start_paused(ctx):
    monitor = make(paused=True)
    assert (monitor.paused, monitor.state) == (True, "paused")


def test_pause_and_resume(ctx):
    monitor = make()
    monitor.state, monitor.consecutive_failures, monitor.consecutive_successes = "down", 4, 0
    db.session.commit()

    monitor = monitors.pause(monitor.id)
    assert (monitor.paused, monitor.state) == (True, "paused")
    changed = monitor.state_changed_at
    assert monitors.pause(monitor.id).state_changed_at == changed

    monitor = monitors.resume(monitor.id)
    assert (monitor.paused, monitor.state) == (False, "pending")
    assert (monitor.consecutive_failures, monitor.consecutive_successes) == (0, 0)


def test_pausing_a_down_monitor_resolves_its_open_incident(ctx):
    monitor = make()
    monitor.state = "down"
    incident = incidents.open_incident(
        title="API is down", cause="HTTP 500", now=datetime.now(UTC), monitor_id=monitor.id
    )
    db.session.commit()

    monitors.pause(monitor.id)
    incident = incidents.get(incident.id)
    assert incident.status == "resolved"
    assert [u.kind for u in incident.updates] == ["started", "resolved"]
    assert incident.updates[-1].message == monitors.PAUSED_RESOLUTION


def test_resume_leaves_a_running_monitor_alone(ctx):
    monitor = make()
    monitor.state, monitor.consecutive_successes = "up", 7
    db.session.commit()
    monitor = monitors.resume(monitor.id)
    assert (monitor.state, monitor.consecutive_successes) == ("up", 7)


def test_update_can_pause_and_resume(ctx):
    monitor = make()
    assert monitors.update(monitor.id, {"paused": "on"}).state == "paused"
    assert monitors.update(monitor.id, {"paused": False}).state == "pending"


def test_changing_the_request_keeps_the_state(ctx):
    monitor = make()
    monitor.state = "up"
    db.session.commit()
    monitor = monitors.update(
        monitor.id,
        {"url": "https://example.org/", "method": "HEAD", "expected_status": "200"},
    )
    assert monitor.state == "up"
    assert (monitor.url, monitor.method, monitor.expected_status) == (
        "https://example.org/",
        "HEAD",
        "200",
    )


def test_update_is_partial_and_atomic(ctx):
    monitor = make(interval_sec=30, description="first")
    monitors.update(monitor.id, {"description": "second"})
    errors = errors_of(monitors.update, monitor.id, {"name": "Renamed", "interval_sec": 1})
    assert list(errors) == ["interval_sec"]
    db.session.expire_all()
    stored = db.session.get(Monitor, monitor.id)
    assert (stored.name, stored.description, stored.interval_sec) == ("API", "second", 30)


def test_missing_monitors_are_not_found(ctx):
    for call in (monitors.get, monitors.pause, monitors.resume, monitors.delete):
        with pytest.raises(NotFound, match="Monitor not found$"):
            call(404)
    with pytest.raises(NotFound):
        monitors.update(404, {"name": "x"})


def test_delete_removes_the_monitor_and_its_rollups(ctx):
    monitor, other = make(), make("Other")
    for subject_id in (monitor.id, other.id):
        db.session.add(
            DailyRollup(
                subject_type=SUBJECT_MONITOR, subject_id=subject_id, day=date(2026, 1, 1), checks=1
            )
        )
    db.session.commit()
    monitors.delete(monitor.id)
    with pytest.raises(NotFound):
        monitors.get(monitor.id)
    assert db.session.scalars(sa.select(DailyRollup.subject_id)).all() == [other.id]


def test_group_is_created_on_first_use_and_matched_in_any_case(ctx):
    first = make("A", group="Production")
    second = make("B", group="  production ")
    assert first.group_id == second.group_id
    assert [g.name for g in groups.list_groups()] == ["Production"]
    assert monitors.update(second.id, {"group": None}).group is None
    assert monitors.update(first.id, {"group": ""}).group is None


def test_group_service(ctx):
    staging = groups.create(" Staging ")
    assert staging.name == "Staging"
    with pytest.raises(ValidationError) as info:
        groups.create("STAGING")
    assert info.value.fields == {"name": "A group with this name already exists."}
    assert monitors.create({"name": "a", "url": URL, "group": "STAGING"}).group.id == staging.id
    prod = groups.create("Production")
    prod.position = -1
    db.session.commit()
    assert [g.name for g in groups.list_groups()] == ["Production", "Staging"]

    assert groups.rename(staging.id, "staging").name == "staging"
    with pytest.raises(ValidationError) as info:
        groups.rename(staging.id, "PRODUCTION")
    assert info.value.fields == {"name": "A group with this name already exists."}
    with pytest.raises(ValidationError) as info:
        groups.create("  ")
    assert info.value.fields == {"name": "Enter a name."}
    with pytest.raises(NotFound, match="Group not found$"):
        groups.rename(999, "x")


def test_deleting_a_group_keeps_its_monitors(ctx):
    monitor = make(group="Doomed")
    groups.delete(monitor.group_id)
    db.session.expire_all()
    stored = monitors.get(monitor.id)
    assert stored.group_id is None
    assert db.session.scalar(sa.select(sa.func.count(Group.id))) == 0


def names(page) -> list[str]:
    return [item.name for item in page.items]


def test_list_orders_by_group_then_position_and_name(ctx):
    make("zeta")
    make("beta", group="Backend")
    make("alpha", group="Backend")
    first = make("omega", group="Backend")
    first.position = -1
    make("gamma", group="Apps")
    groups.resolve("Backend").position = -5
    db.session.commit()
    assert names(monitors.list_monitors()) == ["omega", "alpha", "beta", "gamma", "zeta"]


def test_list_filters(ctx):
    make("Web shop", description="Checkout flow", group="Prod")
    make("API", kind="keyword", keyword="ok", group="prod")
    paused = make("Old site", paused=True)
    make("100% done")
    make("Billing", description="Invoices in the SHOP")

    assert names(monitors.list_monitors(kind="keyword")) == ["API"]
    assert names(monitors.list_monitors(state="paused")) == [paused.name]
    assert names(monitors.list_monitors(group="PROD")) == ["API", "Web shop"]
    assert names(monitors.list_monitors(search="shop")) == ["Web shop", "Billing"]
    assert names(monitors.list_monitors(search="%")) == ["100% done"]
    assert names(monitors.list_monitors(search="checkout", group="prod")) == ["Web shop"]
    assert monitors.list_monitors(search="nothing like it").items == []
    errors = errors_of(monitors.list_monitors, "smtp", "sleeping")
    assert set(errors) == {"kind", "state"}


def test_list_pages(ctx):
    for n in range(7):
        make(f"m{n}")
    page = monitors.list_monitors(page=2, per_page=3)
    assert names(page) == ["m3", "m4", "m5"]
    assert (page.total, page.page, page.per_page, page.pages) == (7, 2, 3, 3)
    assert names(monitors.list_monitors(page="3", per_page="3")) == ["m6"]
    assert monitors.list_monitors(page=9, per_page=3).items == []
    empty = monitors.list_monitors(search="none")
    assert (empty.total, empty.pages) == (0, 1)


@pytest.mark.parametrize(
    ("page", "per_page", "field"),
    [
        (0, 50, "page"),
        ("x", 50, "page"),
        (10**7, 50, "page"),
        (1, 0, "per_page"),
        (1, 201, "per_page"),
    ],
)
def test_list_page_bounds(ctx, page, per_page, field):
    errors = errors_of(monitors.list_monitors, page=page, per_page=per_page)
    assert list(errors) == [field]


def test_a_unique_collision_is_retried_with_a_fresh_read(ctx):
    """What happens when a concurrent request commits the same new group between our read
    and our commit: the commit fails, the retry reads again and finds theirs."""
    attempts = []

    def apply():
        attempts.append(len(attempts))
        if len(attempts) == 1:
            with db.engine.begin() as conn:
                conn.execute(sa.insert(Group).values(name="Prod", position=0, created_at=NOW))
            group = Group(name="Prod")  # what our earlier read would have decided
            db.session.add(group)
            return group
        return groups.resolve("prod")

    group = fields.commit_retrying(apply, "conflict")
    assert attempts == [0, 1]
    assert [g.name for g in groups.list_groups()] == ["Prod"]
    assert group.name == "Prod"


def test_conflict_after_repeated_collisions(ctx):
    make("API")

    def apply():
        monitor = Monitor(kind="http", name="API", url=URL, slug="api")
        db.session.add(monitor)
        return monitor

    with pytest.raises(Conflict, match="try again"):
        fields.commit_retrying(apply, "Another change was saved at the same moment; try again.")


# --- addressing by name and checking now (for API dialects that need them) -----------------


def test_find_by_name_finds_the_oldest_of_the_kind(ctx):
    first = make("Shop")
    make("Shop")
    monitors.create({"kind": "heartbeat", "name": "Backup", "period_sec": 3600})
    assert monitors.find_by_name("Shop").id == first.id
    assert monitors.find_by_name(" Shop ").id == first.id
    for missing in ("shop", "Backup", "", None):
        with pytest.raises(NotFound):
            monitors.find_by_name(missing)


def test_unique_name_is_refused_within_the_kind_only(ctx):
    make("Shop")
    with pytest.raises(Conflict, match=monitors.NAME_TAKEN):
        monitors.create({"name": "Shop", "url": URL}, unique_name=True)
    # Another kind may share the name; without the flag names repeat as before.
    monitors.create({"kind": "heartbeat", "name": "Shop", "period_sec": 3600}, unique_name=True)
    make("Shop")
    other = make("Blog")
    with pytest.raises(Conflict, match=monitors.NAME_TAKEN):
        monitors.update(other.id, {"name": "Shop"}, unique_name=True)
    assert monitors.update(other.id, {"name": "Blog", "url": URL}, unique_name=True).name == "Blog"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Monitor)) == 4


def test_check_now_checks_active_monitors_through_the_probe(ctx):
    with TargetServer() as server:
        up = make("Up", url=server.route("/up", body="ok"))
        down = make("Down", url=server.route("/down", status=503))
        paused = make("Paused", url=server.url("/up"), paused=True)
        checked = monitors.check_now()
    assert [(m.id, o.outcome) for m, o in checked] == [
        (up.id, "ok"),
        (down.id, "failed_http_status"),
    ]
    assert checked[1][1].result.status_code == 503
    assert [r.target for r in server.requests].count("/up") == 1
    recorded = db.session.scalars(sa.select(CheckResult.monitor_id)).all()
    assert sorted(recorded) == [up.id, down.id]
    assert paused.id not in recorded
    assert db.session.get(Monitor, up.id).state == "up"


def test_check_now_is_for_uptime_monitors(ctx):
    assert "kind" in errors_of(monitors.check_now, "heartbeat")
