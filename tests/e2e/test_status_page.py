"""The public status page in a real browser: phone and desktop, light and dark, keyboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import CheckResult, CronJob, DailyRollup, Incident, IncidentUpdate, Monitor
from app.services import accounts, cron_jobs, monitors, status_page
from tests.e2e.conftest import screenshot


def add_incident(monitor_id, title, started, resolved=None, comment=None, author_id=None):
    incident = Incident(
        monitor_id=monitor_id,
        title=title,
        cause="connect to 10.0.0.7 refused",
        status="resolved" if resolved else "open",
        started_at=started,
        resolved_at=resolved,
        updated_at=resolved or started,
    )
    incident.updates.append(IncidentUpdate(kind="started", message="x", created_at=started))
    if comment:
        incident.updates.append(
            IncidentUpdate(
                kind="comment",
                message=comment,
                author_id=author_id,
                created_at=started + timedelta(hours=1),
            )
        )
    if resolved:
        incident.updates.append(IncidentUpdate(kind="resolved", message="x", created_at=resolved))
    db.session.add(incident)


@pytest.fixture
def status_data(make_app):
    """A page worth looking at: groups, a degraded and a down service, incidents, charts."""
    app = make_app()
    now = datetime.now(UTC)
    today = now.date()
    with app.app_context():
        admin = accounts.create_admin("ops@example.com", "a long passphrase")
        status_page.update_settings(
            {
                "title": "Acme status",
                "description": "Live status of the Acme platform.",
                "footer": "Questions? support@acme.example",
                "show_response_times": True,
            }
        )
        specs = [
            # name, group, state, description, failures by days ago, days of history
            ("Website", "Core", "up", "The public website", {}, 90),
            ("API", "Core", "up", "REST and GraphQL API", {3: 40, 17: 2}, 90),
            ("Payments", "Core", "down", "", {0: 300, 1: 12}, 90),
            ("Search", "Platform", "late", "", {5: 8}, 60),
            ("<script>alert(1)</script>", "Platform", "up", '"onmouseover=x', {}, 90),
        ]
        for name, group, state, description, bad, days in specs:
            monitor = monitors.create(
                {
                    "name": name,
                    "description": description,
                    "group": group,
                    "public": True,
                    "url": "https://internal.example/",
                }
            )
            db.session.execute(
                sa.update(Monitor)
                .where(Monitor.id == monitor.id)
                .values(state=state, last_checked_at=now, last_response_ms=120)
            )
            for n in range(days):
                failures = bad.get(n, 0)
                db.session.add(
                    DailyRollup(
                        subject_type="monitor",
                        subject_id=monitor.id,
                        day=today - timedelta(days=n),
                        checks=1440,
                        failures=failures,
                        downtime_sec=60 * failures if failures > 5 else 0,
                    )
                )
            for minutes in range(0, 24 * 60, 10):
                at = now - timedelta(minutes=minutes)
                latency_ms = 90 + (minutes // 60) % 7 * 15
                db.session.add(
                    CheckResult(
                        monitor_id=monitor.id,
                        planned_at=at,
                        started_at=at,
                        outcome="ok",
                        total_us=latency_ms * 1000,
                    )
                )
            if name == "Payments":
                add_incident(
                    monitor.id,
                    "Payments is down",
                    now - timedelta(hours=5),
                    comment="Our card processor has an outage; we are in contact.",
                    author_id=admin.id,
                )
            if name == "API":
                started = now - timedelta(days=3, hours=2)
                add_incident(monitor.id, "API is down", started, started + timedelta(minutes=40))
        job = cron_jobs.create(
            {
                "name": "Nightly export",
                "url": "https://internal.example/export",
                "cron_expr": "0 2 * * *",
                "public": True,
            }
        )
        db.session.execute(sa.update(CronJob).where(CronJob.id == job.id).values(last_outcome="ok"))
        db.session.commit()
    return app


@pytest.mark.parametrize(
    ("width", "height", "scheme"),
    [(390, 844, "light"), (1280, 900, "light"), (1280, 900, "dark"), (390, 844, "dark")],
)
def test_status_page_in_the_browser(browser, live_server, status_data, width, height, scheme):
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(live_server + "/")
        expect(page.get_by_role("heading", name="Acme status")).to_be_visible()
        expect(page.get_by_text("Partial outage")).to_be_visible()
        expect(page.get_by_text("Our card processor has an outage")).to_be_visible()
        expect(page.get_by_role("heading", name="<script>alert(1)</script>")).to_be_visible()
        assert page.evaluate("document.querySelectorAll('svg.bars').length") == 6
        # Every bar is drawn: the runs filled by their pattern, not left empty.
        fill = page.evaluate("getComputedStyle(document.querySelector('.bar.run.bar-up')).fill")
        assert fill.startswith("url(")
        screenshot(page, f"status-{width}-{scheme}")
        # No CSP violation, no script error: nothing inline.
        assert not [p for p in problems if "Content Security Policy" in p or "Error" in p]
        assert page.evaluate("window.__alerted === undefined")
    finally:
        context.close()


def test_bars_can_be_explored_with_the_keyboard(page, live_server, status_data):
    page.goto(live_server + "/status")
    api = page.locator(".item", has=page.get_by_role("heading", name="API", exact=True))
    newest = api.locator("rect.bar[tabindex='0']")
    newest.focus()
    caption = api.locator(".bar-caption")
    today = datetime.now(UTC).date()
    expect(caption).to_contain_text(today.isoformat())
    # Left arrow walks back through the bars; the caption says what each one is.
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    expect(caption).to_contain_text("uptime")
    focused = page.evaluate("document.activeElement.querySelector('title').textContent")
    assert focused == caption.text_content()
    page.keyboard.press("Home")
    expect(caption).to_contain_text((today - timedelta(days=89)).isoformat())
    # Only one bar per chart is a tab stop at any time.
    assert api.locator("rect.bar[tabindex='0']").count() == 1
    # Leaving the chart restores the uptime summary.
    page.keyboard.press("Tab")
    expect(caption).to_contain_text("30 days:")
    # Problem days are also listed in words.
    api.get_by_text("days with failures or incidents").click()
    expect(api.locator(".problem-days li").first).to_contain_text("uptime")
