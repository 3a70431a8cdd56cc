"""Dashboard pages of maintenance windows: the list and its empty state, the form with its
inline errors and preview, delete, and "maintenance now" on the items' detail pages."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import MaintenanceWindow
from app.models.types import utcnow
from app.services import cron_jobs, maintenance, monitors
from tests.conftest import post_form


def windows(app) -> list[MaintenanceWindow]:
    with app.app_context():
        rows = list(db.session.execute(sa.select(MaintenanceWindow)).scalars())
        for row in rows:
            _ = (row.monitors, row.cron_jobs, row.groups)
        return rows


def make_monitor(app, name="Shop"):
    with app.app_context():
        return monitors.create({"name": name, "url": "https://shop.example.com/"}).id


def test_the_list_starts_empty_and_pages(app, logged_in):
    page = logged_in.get("/maintenance/").get_data(as_text=True)
    assert "No maintenance windows yet" in page
    monitor_id = make_monitor(app)
    # Twelve hours from now: a window in progress would say so instead of "scheduled".
    hour = (utcnow().hour + 12) % 24
    with app.app_context():
        for n in range(30):
            maintenance.create(
                {"title": f"Window {n}", "cron_expr": f"0 {hour} * * *", "duration_min": 5,
                 "monitor_ids": [monitor_id]}
            )  # fmt: skip
    first = logged_in.get("/maintenance/").get_data(as_text=True)
    assert "Page 1 of 2 · 30 windows" in first and "scheduled" in first
    assert "Window 4" in logged_in.get("/maintenance/?page=2").get_data(as_text=True)
    assert logged_in.get("/maintenance/?page=x").status_code == 400


def test_create_a_recurring_window_with_the_form(app, logged_in):
    monitor_id = make_monitor(app)
    response = post_form(
        logged_in,
        "/maintenance/new",
        {
            "title": "Nightly backup",
            "message": "",
            "kind": "recurring",
            "cron_expr": "30 2 * * *",
            "duration_min": "45",
            "timezone": "Europe/Berlin",
            "monitor_ids": [str(monitor_id)],
        },
    )
    assert response.status_code == 302
    [window] = windows(app)
    assert (window.cron_expr, window.duration_min, window.timezone) == (
        "30 2 * * *",
        45,
        "Europe/Berlin",
    )
    assert window.starts_at is None and [m.id for m in window.monitors] == [monitor_id]
    edit = logged_in.get(f"/maintenance/{window.id}/edit").get_data(as_text=True)
    assert 'value="30 2 * * *"' in edit and "Next 5 periods" in edit


def test_a_one_off_window_reads_its_times_in_its_zone(app, logged_in):
    monitor_id = make_monitor(app)
    response = post_form(
        logged_in,
        "/maintenance/new",
        {
            "title": "Move",
            "kind": "one_off",
            "starts_at": "2031-07-01T22:00",
            "ends_at": "2031-07-02T01:00",
            "timezone": "Europe/Berlin",
            "heartbeat_ids": [],
            "monitor_ids": [str(monitor_id)],
        },
    )
    assert response.status_code == 302
    [window] = windows(app)
    assert window.starts_at.isoformat() == "2031-07-01T20:00:00+00:00"
    assert window.cron_expr is None


def test_form_errors_are_inline_and_nothing_is_saved(app, logged_in):
    response = post_form(
        logged_in,
        "/maintenance/new",
        {
            "title": "<b>x</b>",
            "kind": "one_off",
            "starts_at": "2031-07-02T10:00",
            "ends_at": "2031-07-02T09:00",
            "timezone": "UTC",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="ends_at-error">The end must come after the start.' in page
    assert "Choose at least one monitor, heartbeat, cron job, group or tag." in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert windows(app) == []


def test_the_preview_fragment(logged_in):
    good = logged_in.get(
        "/maintenance/preview?cron_expr=0+3+*+*+0&duration_min=90&timezone=UTC",
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert good.strip().startswith('<div class="schedule-preview" id="maintenance-preview">')
    assert "<html" not in good
    assert good.count("<li>") == 5 and "03:00 UTC</time> to" in good
    bad = logged_in.get(
        "/maintenance/preview?cron_expr=0+0+31+2+*&duration_min=0&timezone=Nowhere"
    ).get_data(as_text=True)
    assert bad.count('class="field-error"') == 3


def test_delete(app, logged_in):
    monitor_id = make_monitor(app)
    with app.app_context():
        window_id = maintenance.create(
            {"title": "Old", "cron_expr": "0 1 * * *", "duration_min": 5,
             "monitor_ids": [monitor_id]}
        ).id  # fmt: skip
    page = logged_in.get("/maintenance/").get_data(as_text=True)
    assert 'data-confirm="Delete the maintenance window Old?' in page
    response = post_form(
        logged_in, f"/maintenance/{window_id}/delete", {}, form_path="/maintenance/"
    )
    assert response.status_code == 302 and windows(app) == []
    assert logged_in.post(f"/maintenance/{window_id}/delete").status_code == 400  # no token


def test_maintenance_now_from_each_detail_page(app, logged_in):
    monitor_id = make_monitor(app)
    with app.app_context():
        heartbeat_id = monitors.create({"kind": "heartbeat", "name": "Backup", "period_sec": 60}).id
        job_id = cron_jobs.create(
            {"name": "Sync", "url": "https://e.example.com/", "cron_expr": "* * * * *"}
        ).id
    for kind, path in (
        ("monitor", f"/monitors/{monitor_id}"),
        ("heartbeat", f"/heartbeats/{heartbeat_id}"),
        ("cron_job", f"/cron-jobs/{job_id}"),
    ):
        item_id = int(path.rsplit("/", 1)[1])
        response = post_form(
            logged_in, f"/maintenance/now/{kind}/{item_id}", {"minutes": "30"}, form_path=path
        )
        assert response.status_code == 302 and response.location.endswith(path)
        page = logged_in.get(path).get_data(as_text=True)
        assert "Under maintenance until" in page
    with app.app_context():
        under = maintenance.covered()
    assert under.monitors.keys() == {monitor_id, heartbeat_id}
    assert under.cron_jobs.keys() == {job_id}
    overview = logged_in.get("/").get_data(as_text=True)
    assert overview.count("pill-maintenance") == 3
    for listing in ("/monitors/", "/heartbeats/", "/cron-jobs/"):
        assert 'class="pill pill-maintenance">maintenance' in logged_in.get(listing).get_data(
            as_text=True
        )
    refused = post_form(
        logged_in,
        f"/maintenance/now/monitor/{monitor_id}",
        {"minutes": "0"},
        form_path=f"/monitors/{monitor_id}",
        follow_redirects=True,
    )
    assert "Enter minutes from 1 to 10080." in refused.get_data(as_text=True)


def test_the_command_line_lists_the_windows(app):
    from tests.conftest import run_cli

    monitor_id = make_monitor(app)
    hour = (utcnow().hour + 12) % 24  # not in progress now
    with app.app_context():
        maintenance.create(
            {"title": "Nightly", "cron_expr": f"0 {hour} * * *", "duration_min": 5,
             "monitor_ids": [monitor_id]}
        )  # fmt: skip
    result = run_cli(app, "maintenance", "list")
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    assert line.split("\t")[1] == "scheduled" and line.endswith("\tNightly")
    assert f" {hour:02d}:00 to " in line and line.count(f"{hour:02d}:05") == 1
