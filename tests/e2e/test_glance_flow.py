"""Glanceable in a real browser: a monitor against a real target on 127.0.0.1 is checked by
the real scheduler and worker; its beat bar on the overview (updated by the page's own poll)
and its chart show each check, and the chart's caption agrees with the checks themselves."""

from __future__ import annotations

import time

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import CheckResult, Monitor
from app.services import cron_jobs, monitors
from tests.e2e.conftest import screenshot, sign_in
from tests.targets import TargetServer

# Three checks 10 s apart (the least the service allows), with room for a slow machine.
CHECKS_TIMEOUT_S = 75
LIVE_TIMEOUT_MS = 45_000


def written_ms(us: int) -> str:
    """A duration as the dashboard writes it: one decimal below 10 ms, whole ms above."""
    value = us / 1000
    return f"{value:.1f} ms" if value < 10 else f"{round(value):,} ms"


def test_three_checks_make_three_ticks_and_three_points(page, engine, app):
    with TargetServer() as target:
        health = target.route("/health", status=200, body="ok")
        sign_in(page, engine, app)
        page.evaluate("window.notReloaded = true")

        form = page.context.new_page()
        form.goto(engine + "/monitors/new")
        form.get_by_label("Name").fill("Storefront")
        form.get_by_label("URL", exact=True).fill(health)
        form.get_by_label("Check every (seconds)").fill("10")
        form.get_by_role("button", name="Create monitor").click()
        expect(form.get_by_text("Monitor Storefront created")).to_be_visible()

        # Wait for three checks, then pause, so the count holds still while we look.
        with app.app_context():
            monitor_id = db.session.scalar(
                sa.select(Monitor.id).where(Monitor.name == "Storefront")
            )
            deadline = time.monotonic() + CHECKS_TIMEOUT_S
            count = 0
            while count < 3 and time.monotonic() < deadline:
                time.sleep(0.5)
                count = db.session.scalar(
                    sa.select(sa.func.count()).where(CheckResult.monitor_id == monitor_id)
                )
                db.session.remove()  # no read left open: SQLite's writers would wait on it
            assert count >= 3, f"only {count} checks in {CHECKS_TIMEOUT_S} s"
            monitors.pause(monitor_id)
            time.sleep(1)  # a check already under way may still land
            db.session.remove()
            checks = list(
                db.session.scalars(
                    sa.select(CheckResult).where(CheckResult.monitor_id == monitor_id)
                )
            )
        assert all(check.outcome == "ok" for check in checks)
        times = [check.total_us for check in checks]

        # The overview, never reloaded, brought the row's beats in with its 10-second poll.
        row = page.locator("tr.overview-row", has_text="Storefront")
        bar = row.locator("svg.beats")
        expect(bar).to_have_attribute("data-ticks", str(len(checks)), timeout=LIVE_TIMEOUT_MS)
        expect(row.locator(".pill")).to_have_text("paused", timeout=LIVE_TIMEOUT_MS)
        assert bar.locator('rect[data-status="up"]').count() == len(checks)
        assert bar.locator('rect[data-status="none"]').count() == 30 - len(checks)
        assert page.evaluate("window.notReloaded") is True
        label = bar.get_attribute("aria-label")
        assert f"last {len(checks)} checks: {len(checks)} up" in label
        # Each tick's tooltip starts with its moment in the viewer's zone, not raw UTC.
        tooltip = bar.locator("rect[data-status=up] title").last.text_content()
        assert " · Up, " in tooltip and "UTC" not in tooltip
        expect(row.locator("svg.spark")).to_be_visible()
        screenshot(page, "overview-beats")

        # The chart: a point per check, its caption from the very same figures.
        form.goto(f"{engine}/monitors/{monitor_id}")
        chart = form.locator("#response-chart")
        assert chart.locator(".chart-point").count() == len(checks)
        caption = chart.locator("figcaption").text_content()
        assert f"{len(checks)} checks since the first" in caption
        assert f"fastest {written_ms(min(times))}" in caption
        assert f"slowest {written_ms(max(times))}" in caption
        assert chart.locator(".chart-y span").first.text_content() == written_ms(max(times))
        assert chart.locator(".chart-x time").count() == 3
        detail_bar = form.locator("#monitor-status svg.beats")
        assert detail_bar.locator('rect[data-status="up"]').count() == len(checks)
        screenshot(form, "monitor-chart")

        # On a narrow phone the pages with beat bars and charts fit: no sideways scrolling.
        with app.app_context():
            backup = monitors.create({"name": "Backup", "kind": "heartbeat", "period_sec": 60})
            backup_id = backup.id
            cron_jobs.create(
                {"name": "Nightly", "url": health, "cron_expr": "0 2 * * *", "enabled": False}
            )
        form.set_viewport_size({"width": 360, "height": 780})
        for path in (
            f"/monitors/{monitor_id}",
            "/",
            "/monitors/",
            "/heartbeats/",
            f"/heartbeats/{backup_id}",
            "/cron-jobs/",
            "/settings/status-page",
            "/settings/admins",
        ):
            form.goto(engine + path)
            width = form.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], (path, width)
            if path == "/":
                screenshot(form, "overview-beats-360")
