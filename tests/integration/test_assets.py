"""Static files under content-hashed names, the tab's state icon and the sections' bare
addresses."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import CronJob, Monitor
from app.services import cron_jobs, maintenance, monitors, overview

STATIC = Path(__file__).resolve().parents[2] / "static"
DIGEST = hashlib.sha256((STATIC / "app.css").read_bytes()).hexdigest()[:12]


def test_pages_link_static_files_by_content_hash(client, logged_in):
    page = client.get("/").get_data(as_text=True)
    assert f'href="/static/app.{DIGEST}.css"' in page
    assert re.search(r'src="/static/vendor/htmx-2\.0\.11\.min\.[0-9a-f]{12}\.js"', page)
    assert re.search(r'href="/static/favicon-up\.[0-9a-f]{12}\.svg"', page)


def test_a_hashed_name_is_cached_for_a_year(client):
    with client.get(f"/static/app.{DIGEST}.css") as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.get_data() == (STATIC / "app.css").read_bytes()
        assert response.mimetype == "text/css"


@pytest.mark.parametrize("path", ["/static/app.css", "/static/app.000000000000.css"])
def test_a_plain_or_stale_name_is_revalidated(client, path):
    with client.get(path) as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.get_data() == (STATIC / "app.css").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/static/nothing.css",
        "/static/nothing.0123456789ab.css",
        "/static/../app/config.py",
        "/static/%2e%2e/app/config.py",
        "/static/vendor/../../pyproject.toml",
    ],
)
def test_unknown_and_outside_files_are_not_found(client, path):
    assert client.get(path).status_code == 404


def test_the_tab_icon_shows_the_overall_state(app, client, logged_in):
    def icon() -> str:
        page = client.get("/monitors/").get_data(as_text=True)
        return re.search(r'id="favicon-svg"[^>]*href="/static/favicon-(\w+)\.', page)[1]

    with app.app_context():
        first = monitors.create({"name": "A", "url": "https://a.example.com/"})
        monitors.create({"name": "B", "url": "https://b.example.com/"})
    assert icon() == "up"  # new monitors are pending, nothing is wrong yet

    def set_state(state: str) -> None:
        with app.app_context():
            db.session.execute(sa.update(Monitor).where(Monitor.id == first.id).values(state=state))
            db.session.commit()

    set_state("degraded")
    assert icon() == "degraded"
    set_state("late")
    assert icon() == "degraded"
    set_state("down")
    assert icon() == "down"
    with app.app_context():
        now = datetime.now(UTC)
        maintenance.create(
            {
                "title": "Upgrade",
                "starts_at": now - timedelta(minutes=1),
                "ends_at": now + timedelta(hours=1),
                "monitor_ids": [first.id],
            }
        )
    assert icon() == "up"  # under maintenance, a down monitor does not count


def test_a_failing_cron_job_turns_the_state_degraded_then_down(app):
    with app.app_context():
        job = cron_jobs.create(
            {"name": "Report", "url": "https://ops.example.com/", "cron_expr": "0 2 * * *"}
        )
        assert overview.overall_state() == "up"

        def failed(times):
            db.session.execute(
                sa.update(CronJob)
                .where(CronJob.id == job.id)
                .values(last_outcome="timeout", consecutive_failures=times)
            )
            db.session.commit()

        # Failing, but fewer times in a row than it alerts after: degraded (state.health).
        failed(job.notify_failure_after - 1)
        assert overview.overall_state() == "degraded"
        failed(job.notify_failure_after)
        assert overview.overall_state() == "down"


def test_the_overview_poll_brings_the_new_icon_when_the_state_changes(app, client, logged_in):
    with app.app_context():
        monitor = monitors.create({"name": "A", "url": "https://a.example.com/"})
    page = client.get("/").get_data(as_text=True)
    layout = re.search(r'name="layout" value="(\w+)"', page)[1]
    seen = re.findall(r'name="seen" value="([^"]+)"', page)
    poll = {"poll": "1", "layout": layout, "seen": seen}
    headers = {"HX-Request": "true"}
    assert client.get("/", query_string=poll, headers=headers).status_code == 204
    with app.app_context():
        db.session.execute(sa.update(Monitor).where(Monitor.id == monitor.id).values(state="down"))
        db.session.commit()
    answer = client.get("/", query_string=poll, headers=headers).get_data(as_text=True)
    assert re.search(r'<link id="favicon-svg"[^>]*favicon-down\.[0-9a-f]{12}\.svg"', answer)
    assert 'hx-swap-oob="true"' in answer


def test_a_boosted_page_carries_the_icon_out_of_band(client, logged_in):
    page = client.get("/incidents/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    html = page.get_data(as_text=True)
    assert html.count('hx-swap-oob="true"') >= 2 and "favicon-up." in html


@pytest.mark.parametrize(
    ("path", "lands"),
    [
        ("/notifications/", "/notifications/channels"),
        ("/notifications", "/notifications/"),
        ("/monitors", "/monitors/"),
        ("/settings", "/settings/"),
    ],
)
def test_every_section_answers_at_its_bare_address(client, logged_in, path, lands):
    response = client.get(path)
    assert response.status_code in (301, 302, 308)
    assert response.headers["Location"].removeprefix("http://localhost") == lands
