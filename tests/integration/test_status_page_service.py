"""The status page service: settings, public items, banner, bars from rollups, incidents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    CheckResult,
    CronExecution,
    CronJob,
    DailyRollup,
    Incident,
    IncidentUpdate,
    Monitor,
    Ping,
)
from app.models.history import FAILED_CONNECT, OK
from app.services import accounts, cron_jobs, groups, monitors, status_page, uptime_bars
from app.services.errors import NotFound, ValidationError

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def monitor(name="API", public=True, **data):
    return monitors.create(
        {"name": name, "url": "https://internal.example/", "public": public, **data}
    )


def job(name="Nightly", public=True, **data):
    return cron_jobs.create(
        {
            "name": name,
            "url": "https://x.example/",
            "cron_expr": "0 2 * * *",
            "public": public,
            **data,
        }
    )


def rollup(subject_id, day, checks=1440, failures=0, downtime=0, subject_type="monitor"):
    db.session.add(
        DailyRollup(
            subject_type=subject_type,
            subject_id=subject_id,
            day=day,
            checks=checks,
            failures=failures,
            downtime_sec=downtime,
        )
    )


def incident(monitor_id=None, cron_job_id=None, *, started, resolved=None, title="API is down"):
    row = Incident(
        monitor_id=monitor_id,
        cron_job_id=cron_job_id,
        title=title,
        cause="connect to db.internal (10.0.0.5) refused",
        status="resolved" if resolved else "open",
        started_at=started,
        resolved_at=resolved,
        updated_at=resolved or started,
    )
    row.updates.append(
        IncidentUpdate(kind="started", message="connect to db.internal refused", created_at=started)
    )
    if resolved:
        row.updates.append(
            IncidentUpdate(kind="resolved", message="API is up again.", created_at=resolved)
        )
    db.session.add(row)
    db.session.commit()
    return row


def set_state(model, row_id, **values):
    db.session.execute(sa.update(model).where(model.id == row_id).values(**values))
    db.session.commit()


def bar_on(item, day):
    return next(b for b in item.bars if b.first_day <= day <= b.last_day)


# ---------------------------------------------------------------------------------------------
# Rules


@pytest.mark.parametrize(
    ("statuses", "banner"),
    [
        ([], status_page.OPERATIONAL),
        (["up", "up"], status_page.OPERATIONAL),
        (["up", "pending", "paused"], status_page.OPERATIONAL),
        (["pending", "paused"], status_page.OPERATIONAL),
        (["up", "degraded"], "degraded"),
        (["up", "up", "down"], status_page.PARTIAL_OUTAGE),
        (["up", "down"], status_page.PARTIAL_OUTAGE),  # exactly half: partial
        (["up", "down", "down"], status_page.MAJOR_OUTAGE),
        (["down"], status_page.MAJOR_OUTAGE),
        (["down", "paused", "pending"], status_page.MAJOR_OUTAGE),
        (["degraded", "down", "up"], status_page.PARTIAL_OUTAGE),
    ],
)
def test_overall_banner(statuses, banner):
    assert status_page.overall(statuses) == banner


@pytest.mark.parametrize(
    ("checks", "failures", "level"),
    [(0, 0, "none"), (1440, 0, "up"), (1440, 1, "up"), (1000, 1, "up"), (1000, 2, "degraded"),
     (100, 1, "degraded"), (100, 2, "down"), (1, 1, "down")],
)  # fmt: skip
def test_bar_levels(checks, failures, level):
    assert uptime_bars.bar_level(checks, failures) == level


def test_automatic_update_texts_are_replaced_and_admin_texts_kept():
    assert (
        status_page.public_message("started", "connect to 10.0.0.5 refused", None)
        == (status_page.AUTOMATIC_MESSAGES["started"])
    )
    assert status_page.public_message("comment", "Auto-disabled after 15 failures", None) is None
    assert status_page.public_message("comment", "We are on it.", 7) == "We are on it."


# ---------------------------------------------------------------------------------------------
# Settings


def test_settings_default_and_update(ctx):
    assert status_page.get_settings() == status_page.DEFAULTS
    result = status_page.update_settings(
        {
            "title": "  Acme status ",
            "description": "All of Acme",
            "logo_url": "https://cdn.example/logo.png",
            "footer": "© Acme",
            "group_sections": "false",
            "show_response_times": True,
        }
    )
    assert result["title"] == "Acme status"
    assert status_page.get_settings() == {
        "title": "Acme status",
        "description": "All of Acme",
        "logo_url": "https://cdn.example/logo.png",
        "footer": "© Acme",
        "group_sections": False,
        "show_response_times": True,
    }
    # A partial update keeps the rest; a blank logo means none.
    status_page.update_settings({"logo_url": ""})
    assert status_page.get_settings()["logo_url"] is None
    assert status_page.get_settings()["title"] == "Acme status"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": " "}, "title", "Enter a title."),
        ({"title": "x" * 101}, "title", "at most 100"),
        ({"logo_url": "javascript:alert(1)"}, "logo_url", "http:// or https://"),
        ({"logo_url": "data:image/png;base64,AAAA"}, "logo_url", "http:// or https://"),
        ({"description": "x" * 1001}, "description", "at most 1000"),
        ({"footer": 5}, "footer", "Must be text."),
        ({"show_response_times": "maybe"}, "show_response_times", "true or false"),
        ({"colour": "red"}, "colour", "Unknown field."),
        ({"items": "all"}, "items", "Send a list"),
        ({"items": [{"type": "server", "id": 1}]}, "items", '"type"'),
        ({"groups": [{"id": 1}]}, "groups", '"id" and "position"'),
        ({"groups": [{"position": 1}]}, "groups", '"id" must be a whole number'),
    ],
)
def test_settings_validation(ctx, data, field, message):
    with pytest.raises(ValidationError) as caught:
        status_page.update_settings(data)
    assert message in caught.value.fields[field]


def test_items_and_groups_are_set_in_bulk_and_atomically(ctx):
    a, b = monitor("A", public=False, group="Core"), monitor("B", public=False)
    c = job("C", public=False)
    core = groups.resolve("Core")
    status_page.update_settings(
        {
            "items": [
                {"type": "monitor", "id": a.id, "public": True, "position": 5},
                {"type": "monitor", "id": b.id, "public": True},
                {"type": "cron_job", "id": c.id, "position": 2},
            ],
            "groups": [{"id": core.id, "position": 3}],
        }
    )
    db.session.remove()
    assert (db.session.get(Monitor, a.id).public, db.session.get(Monitor, a.id).position) == (
        True,
        5,
    )
    assert db.session.get(Monitor, b.id).public is True
    assert (db.session.get(CronJob, c.id).public, db.session.get(CronJob, c.id).position) == (
        False,
        2,
    )
    assert groups.get(core.id).position == 3

    # One bad row refuses the whole change, with the error keyed to that row.
    with pytest.raises(ValidationError) as caught:
        status_page.update_settings(
            {
                "title": "Changed",
                "items": [
                    {"type": "monitor", "id": a.id, "public": False},
                    {"type": "monitor", "id": b.id, "position": -1},
                ],
            }
        )
    assert caught.value.fields == {
        f"items.monitor.{b.id}.position": "Must be a whole number from 0 to 1000000."
    }
    db.session.remove()
    assert db.session.get(Monitor, a.id).public is True
    assert status_page.get_settings()["title"] == status_page.DEFAULTS["title"]

    with pytest.raises(ValidationError) as caught:
        status_page.update_settings({"items": [{"type": "cron_job", "id": 999, "public": True}]})
    assert caught.value.fields == {"items": "There is no cron job with id 999."}
    with pytest.raises(ValidationError) as caught:
        status_page.update_settings({"groups": [{"id": 999, "position": 1}]})
    assert caught.value.fields == {"groups": "There is no group with id 999."}


def test_describe_lists_every_item_in_page_order(ctx):
    monitor("Zeta", group="B-group")
    monitor("Alpha", public=False)
    job("Beta", group="A-group")
    b_group = groups.resolve("B-group")
    status_page.update_settings(
        {"groups": [{"id": b_group.id, "position": 0},
                    {"id": groups.resolve("A-group").id, "position": 1}]}
    )  # fmt: skip
    described = status_page.describe()
    assert [(i["name"], i["type"], i["public"]) for i in described["items"]] == [
        ("Zeta", "monitor", True),
        ("Beta", "cron_job", True),
        ("Alpha", "monitor", False),
    ]
    assert [g["name"] for g in described["groups"]] == ["B-group", "A-group"]
    assert set(described) == {*status_page.DEFAULTS, "items", "groups"}
    # What describe() returned can be sent back as it is (read-only keys are ignored).
    status_page.update_settings(described)
    assert status_page.describe() == described


# ---------------------------------------------------------------------------------------------
# The page model


def test_only_public_items_are_on_the_page(ctx):
    monitor("Public API", group="Core")
    monitor("Private DB", public=False)
    job("Public job")
    job("Private job", public=False)
    page = status_page.page(NOW)
    assert [item.name for item in page.items] == ["Public API", "Public job"]
    assert [section.name for section in page.sections] == ["Core", None]


def test_sections_and_order(ctx):
    late = monitor("Late", group="Second")
    early = monitor("Early", group="Second")
    monitor("First group item", group="First")
    job("Loose")
    second, first = groups.resolve("Second"), groups.resolve("First")
    status_page.update_settings(
        {
            "items": [
                {"type": "monitor", "id": late.id, "position": 0},
                {"type": "monitor", "id": early.id, "position": 1},
            ],
            "groups": [{"id": first.id, "position": 0}, {"id": second.id, "position": 1}],
        }
    )
    page = status_page.page(NOW)
    assert [(s.name, [i.name for i in s.items]) for s in page.sections] == [
        ("First", ["First group item"]),
        ("Second", ["Late", "Early"]),
        (None, ["Loose"]),
    ]
    status_page.update_settings({"group_sections": False})
    page = status_page.page(NOW)
    assert [(s.name, [i.name for i in s.items]) for s in page.sections] == [
        (None, ["First group item", "Late", "Loose", "Early"])
    ]


def test_statuses_and_banner_of_the_page(ctx):
    up, down = monitor("Up"), monitor("Down")
    monitor("Paused", paused=True)
    set_state(Monitor, up.id, state="up")
    set_state(Monitor, down.id, state="down")
    nightly = job("Nightly")
    failing = job("Failing", notify_failure_after=3)
    disabled = job("Disabled by hand")
    set_state(CronJob, nightly.id, last_outcome=OK)
    set_state(CronJob, failing.id, last_outcome=FAILED_CONNECT, consecutive_failures=1)
    cron_jobs.disable(disabled.id)
    statuses = {item.name: item.status for item in status_page.page(NOW).items}
    assert statuses == {
        "Up": "up",
        "Down": "down",
        "Paused": "paused",
        "Nightly": "up",
        "Failing": "degraded",
        "Disabled by hand": "paused",
    }
    assert status_page.page(NOW).overall == status_page.PARTIAL_OUTAGE  # 1 of 4 down

    set_state(CronJob, failing.id, consecutive_failures=3)
    set_state(Monitor, up.id, state="down")
    page = status_page.page(NOW)
    assert page.overall == status_page.MAJOR_OUTAGE  # 3 of 4
    assert page.counts == {"down": 3, "up": 1, "paused": 2}
    # Auto-disabled for failing: still down, not paused.
    reason = "Disabled automatically after 15 consecutive failures."
    set_state(CronJob, failing.id, enabled=False, consecutive_failures=15, disabled_reason=reason)
    assert {i.name: i.status for i in status_page.page(NOW).items}["Failing"] == "down"


def test_heartbeat_rows_are_shown_like_any_monitor(ctx):
    db.session.add(
        Monitor(kind="heartbeat", name="Backup", slug="backup", public=True, state="late",
                code=str(uuid.uuid4()), period_sec=3600)
    )  # fmt: skip
    db.session.commit()
    item = status_page.page(NOW).items[0]
    assert (item.name, item.status, item.chart) == ("Backup", "degraded", None)
    assert status_page.find("backup").kind == "heartbeat"


def test_uptime_bars_match_the_rollups(ctx):
    api = monitor("API")
    nightly = job("Nightly")
    # Data from 40 days ago; one bad day, one day of downtime with an incident, a gap.
    for n in range(40):
        day = TODAY - timedelta(days=n)
        if n == 20:
            continue  # paused that day: no data
        failures = {3: 30, 10: 1}.get(n, 0)
        downtime = 1800 if n == 3 else 0
        rollup(api.id, day, failures=failures, downtime=downtime)
    rollup(nightly.id, TODAY - timedelta(days=1), checks=1, failures=1, subject_type="cron_job")
    rollup(nightly.id, TODAY, checks=1, subject_type="cron_job")
    db.session.commit()
    incident(
        api.id,
        started=datetime.combine(TODAY - timedelta(days=3), datetime.min.time(), UTC)
        + timedelta(hours=10),
        resolved=datetime.combine(TODAY - timedelta(days=3), datetime.min.time(), UTC)
        + timedelta(hours=10, minutes=30),
    )
    page = status_page.page(NOW)
    item, cron = page.items
    assert len(page.days) == 90 and page.days[-1] == TODAY
    # Every day is covered exactly once, in order.
    covered = [d for bar in item.bars for d in range(bar.first, bar.first + bar.length)]
    assert covered == list(range(90))

    outage = bar_on(item, TODAY - timedelta(days=3))
    assert (outage.length, outage.uptime, outage.downtime_sec, outage.level) == (
        1,
        round(1410 / 1440 * 100, 3),
        1800,
        "down",
    )
    assert outage.incidents == ("API is down",)
    minor = bar_on(item, TODAY - timedelta(days=10))
    assert (minor.length, minor.uptime, minor.level) == (1, round(1439 / 1440 * 100, 3), "up")
    gap = bar_on(item, TODAY - timedelta(days=20))
    assert (gap.uptime, gap.level, gap.length) == (None, "none", 1)
    clean = bar_on(item, TODAY - timedelta(days=15))
    assert (clean.uptime, clean.level, clean.first_day, clean.last_day) == (
        100.0,
        "up",
        TODAY - timedelta(days=19),
        TODAY - timedelta(days=11),
    )
    before = bar_on(item, TODAY - timedelta(days=60))
    assert (before.level, before.first_day, before.last_day) == (
        "none",
        page.days[0],
        TODAY - timedelta(days=40),
    )
    today = bar_on(item, TODAY)
    assert (today.level, today.uptime) == ("up", 100.0)
    # 30 days: days 0..29 without day 20 → 29 days of 1440, 31 failures.
    assert item.uptime_30d == round((29 * 1440 - 31) / (29 * 1440) * 100, 3)
    assert item.uptime_90d == round((39 * 1440 - 31) / (39 * 1440) * 100, 3)
    assert [b.first_day for b in cron.bars if b.level == "down"] == [TODAY - timedelta(days=1)]
    assert cron.uptime_30d == 50.0


def test_cached_finished_days_are_combined_with_todays_rollups(ctx):
    api = monitor("API")
    rollup(api.id, TODAY - timedelta(days=1))
    db.session.commit()
    first = status_page.page(NOW).items[0]
    assert bar_on(first, TODAY).level == "none"
    # Today's results arrive; the finished days come from the cache, today is read live.
    rollup(api.id, TODAY, checks=100, failures=50, downtime=600)
    db.session.commit()
    item = status_page.page(NOW).items[0]
    today = bar_on(item, TODAY)
    assert (today.length, today.uptime, today.level, today.downtime_sec) == (1, 50.0, "down", 600)
    assert bar_on(item, TODAY - timedelta(days=1)).uptime == 100.0
    assert item.uptime_30d == round(1490 / 1540 * 100, 3)
    # An item made public after the finished days were cached still gets its history.
    other = monitor("Other", public=False)
    rollup(other.id, TODAY - timedelta(days=5), failures=1440)
    db.session.commit()
    status_page.update_settings({"items": [{"type": "monitor", "id": other.id, "public": True}]})
    other_item = {i.name: i for i in status_page.page(NOW).items}["Other"]
    assert bar_on(other_item, TODAY - timedelta(days=5)).uptime == 0.0


def test_incidents_on_the_page(ctx):
    api, hidden = monitor("API"), monitor("Hidden", public=False)
    admin = accounts.create_admin("ops@example.com", "a long passphrase")
    ongoing = incident(api.id, started=NOW - timedelta(hours=2))
    ongoing.updates.append(
        IncidentUpdate(
            kind="comment",
            message="We found the cause and are rolling back.",
            author_id=admin.id,
            created_at=NOW - timedelta(hours=1),
        )
    )
    ongoing.updates.append(
        IncidentUpdate(kind="comment", message="Auto: 10.0.0.5 refused", created_at=NOW)
    )
    db.session.commit()
    incident(api.id, started=NOW - timedelta(days=3), resolved=NOW - timedelta(days=3, hours=-1))
    incident(api.id, started=NOW - timedelta(days=20), resolved=NOW - timedelta(days=20, hours=-1))
    incident(hidden.id, started=NOW - timedelta(hours=1), title="Hidden is down")
    page = status_page.page(NOW)
    assert [i.title for i in page.active_incidents] == ["API is down"]
    active = page.active_incidents[0]
    assert active.subject == "API"
    assert [(u.kind, u.message) for u in active.updates] == [
        ("comment", "We found the cause and are rolling back."),
        ("started", status_page.AUTOMATIC_MESSAGES["started"]),
    ]
    assert active.updated_at == NOW  # the newest update, even one not shown
    assert [i.resolved_at for i in page.resolved_incidents] == [NOW - timedelta(days=3, hours=-1)]
    assert [u.message for u in page.resolved_incidents[0].updates] == [
        status_page.AUTOMATIC_MESSAGES["resolved"],
        status_page.AUTOMATIC_MESSAGES["started"],
    ]
    # The incident of 20 days ago is no longer listed but still marks its day's bar.
    item = page.items[0]
    assert bar_on(item, (NOW - timedelta(days=20)).date()).incidents == ("API is down",)
    assert not hasattr(active, "cause")
    feed = status_page.feed(NOW)
    assert [i.title for i in feed] == ["API is down"] * 3


def test_response_chart_is_hourly_means_of_successful_checks(ctx):
    api, hook = monitor("API"), job("Hook")
    status_page.update_settings({"show_response_times": True})
    assert status_page.page(NOW).items[0].chart is None  # no checks yet
    for minutes, us, outcome in [
        (5, 100_000, OK),
        (20, 300_000, OK),
        (25, 9_000_000, FAILED_CONNECT),  # failures do not count
        (130, 50_000, OK),
        (24 * 60 + 30, 70_000, OK),  # older than 24 hours
    ]:
        at = NOW - timedelta(minutes=minutes)
        db.session.add(
            CheckResult(monitor_id=api.id, planned_at=at, started_at=at, outcome=outcome,
                        total_us=us)
        )  # fmt: skip
    db.session.commit()
    items = {i.name: i for i in status_page.page(NOW).items}
    chart = items["API"].chart
    assert len(chart) == 24 and chart[-1].hour == NOW.replace(minute=0)
    means = {p.hour: p.mean_ms for p in chart if p.mean_ms is not None}
    assert means == {NOW - timedelta(hours=1): 200, NOW - timedelta(hours=3): 50}
    assert items["Hook"].chart is None
    status_page.update_settings({"show_response_times": False})
    assert status_page.page(NOW).items[0].chart is None
    assert hook  # cron jobs have no chart


def test_summary_for_the_status_json(ctx):
    api, private = monitor("API", description="Public API"), monitor("DB", public=False)
    set_state(Monitor, api.id, state="up", last_checked_at=NOW, last_response_ms=87)
    rollup(api.id, TODAY, checks=100, failures=1)
    rollup(private.id, TODAY, checks=100, failures=100)
    db.session.commit()
    summary = status_page.summary(NOW)
    assert summary.overall == status_page.OPERATIONAL
    assert summary.updated == NOW
    [item] = summary.items
    assert (item.name, item.description, item.status, item.response_ms, item.uptime_30d) == (
        "API",
        "Public API",
        "up",
        87,
        99.0,
    )


def test_find_answers_only_for_public_items(ctx):
    api = monitor("API")
    private = monitor("Private", public=False)
    nightly = job("Nightly")
    assert status_page.find(api.slug).name == "API"
    assert status_page.find(nightly.slug).name == "Nightly"
    with pytest.raises(NotFound):
        status_page.find(private.slug)
    with pytest.raises(NotFound):
        status_page.find("nope")
    assert status_page.find_by_name("Nightly").subject_type == "cron_job"
    for name in ("Private", "", None, "nope"):
        with pytest.raises(NotFound):
            status_page.find_by_name(name)


def test_recent_checks_of_each_kind(ctx):
    api, nightly = monitor("API"), job("Nightly")
    for n, outcome in enumerate([OK, FAILED_CONNECT, OK]):
        at = NOW - timedelta(minutes=n)
        db.session.add(
            CheckResult(monitor_id=api.id, planned_at=at, started_at=at, outcome=outcome,
                        total_us=120_400)
        )  # fmt: skip
        db.session.add(
            CronExecution(cron_job_id=nightly.id, execution_uid=str(uuid.uuid4()), planned_at=at,
                          started_at=at, outcome=outcome, total_us=2_000_000)
        )  # fmt: skip
    db.session.add(
        Monitor(kind="heartbeat", name="Backup", slug="backup", public=True,
                code=str(uuid.uuid4()), period_sec=3600)
    )  # fmt: skip
    db.session.commit()
    backup_id = db.session.scalar(sa.select(Monitor.id).where(Monitor.slug == "backup"))
    for n, kind in enumerate(["success", "start", "fail", "log"]):
        db.session.add(
            Ping(monitor_id=backup_id, created_at=NOW - timedelta(minutes=n), kind=kind,
                 method="POST", duration_ms=n * 1000)
        )  # fmt: skip
    db.session.commit()
    checks = status_page.recent_checks(status_page.find(api.slug), 2)
    assert [(c.at, c.up, c.response_ms) for c in checks] == [
        (NOW, True, 120),
        (NOW - timedelta(minutes=1), False, 120),
    ]
    assert [c.up for c in status_page.recent_checks(status_page.find(nightly.slug))] == [
        True,
        False,
        True,
    ]
    assert [
        (c.up, c.response_ms) for c in status_page.recent_checks(status_page.find("backup"))
    ] == [
        (True, 0),
        (False, 2000),
    ]
    with pytest.raises(ValidationError):
        status_page.recent_checks(status_page.find(api.slug), 0)
    with pytest.raises(ValidationError):
        status_page.uptime(status_page.find(api.slug), "1y")
