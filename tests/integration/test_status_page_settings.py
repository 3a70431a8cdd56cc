"""Settings → Status page at scale: the services searched, filtered (shown, kind, group) and
paged, a save that changes only the rows on the page, and "make all shown public/private"."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import CronJob, Group, Monitor
from app.services import cron_jobs, monitors, status_page
from app.services.errors import ValidationError
from tests.conftest import post_form

PAGE = "/settings/status-page"


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def many(app):
    """60 uptime monitors in group Web (public), 5 heartbeats (private), 3 cron jobs in Ops."""
    with app.app_context():
        ids = {"monitor": [], "heartbeat": [], "cron_job": []}
        for n in range(60):
            data = {"name": f"Site {n:02}", "url": "https://example.com/", "group": "Web"}
            ids["monitor"].append(monitors.create({**data, "public": True}).id)
        for n in range(5):
            data = {"name": f"Backup {n}", "kind": "heartbeat", "period_sec": 3600}
            ids["heartbeat"].append(monitors.create({**data, "public": False}).id)
        for n in range(3):
            data = {"name": f"Job {n}", "url": "https://example.com/", "cron_expr": "@daily"}
            ids["cron_job"].append(cron_jobs.create({**data, "group": "Ops", "public": True}).id)
        ids["web"] = db.session.scalar(db.select(Group.id).where(Group.name == "Web"))
        return ids


def rows(html: str) -> list[str]:
    return re.findall(r'<label for="public-[a-z_]+-\d+">([^<]+)</label>', html)


def test_the_list_is_paged_and_filtered(logged_in, many):
    first = text(logged_in.get(PAGE))
    assert len(rows(first)) == 50 and "Page 1 of 2 · 68 services" in first
    second = text(logged_in.get(f"{PAGE}?page=2"))
    assert len(rows(second)) == 18
    assert rows(text(logged_in.get(f"{PAGE}?q=site 0"))) == [f"Site 0{n}" for n in range(10)]
    assert rows(text(logged_in.get(f"{PAGE}?kind=heartbeat"))) == [f"Backup {n}" for n in range(5)]
    assert len(rows(text(logged_in.get(f"{PAGE}?visibility=private")))) == 5
    assert rows(text(logged_in.get(f"{PAGE}?kind=cron_job&visibility=public"))) == [
        "Job 0",
        "Job 1",
        "Job 2",
    ]
    assert len(rows(text(logged_in.get(f"{PAGE}?group={many['web']}&page=2")))) == 10
    assert len(rows(text(logged_in.get(f"{PAGE}?group=-")))) == 5  # the heartbeats
    nothing = text(logged_in.get(f"{PAGE}?q=nope"))
    assert rows(nothing) == [] and "No service matches this search and filter" in nothing
    # Filters are kept by the pager and by the forms.
    assert 'href="/settings/status-page?page=2&amp;kind=monitor"' in text(
        logged_in.get(f"{PAGE}?kind=monitor")
    )


@pytest.mark.parametrize(
    "query", ["kind=robot", "visibility=maybe", "group=999999", "page=0", "page=x"]
)
def test_bad_filters_answer_400(logged_in, many, query):
    assert logged_in.get(f"{PAGE}?{query}").status_code == 400


def test_hostile_search_is_no_error(logged_in, many):
    # NUL and a lone surrogate's bytes, as a hostile client sends them.
    response = logged_in.get(f"{PAGE}?q=%00site%ED%A0%80&group=%00")
    assert response.status_code in (200, 400)


def test_a_save_changes_only_the_rows_shown(logged_in, many, app):
    # On the heartbeats' page, tick one; the 63 public items on other pages stay public.
    path = f"{PAGE}?kind=heartbeat"
    backup = many["heartbeat"][0]
    form = {"title": "Acme", f"public-monitor-{backup}": "on"}
    response = post_form(logged_in, path, form)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/settings/status-page?kind=heartbeat&page=1"
    )
    with app.app_context():
        public = {(i["type"], i["id"]) for i in status_page.list_items() if i["public"]}
        assert ("monitor", backup) in public and len(public) == 64
        assert status_page.get_settings()["title"] == "Acme"


def test_make_all_shown_private_then_public(logged_in, many, app):
    response = post_form(
        logged_in,
        f"{PAGE}/visibility",
        {"public": "false", "group": str(many["web"]), "q": "site 1"},
        form_path=PAGE,
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"?q=site+1&group={many['web']}")
    assert "10 items made private." in text(logged_in.get(PAGE))
    with app.app_context():
        private = set(db.session.scalars(db.select(Monitor.name).where(~Monitor.public)))
        assert private == {f"Site 1{n}" for n in range(10)} | {f"Backup {n}" for n in range(5)}
    post_form(logged_in, f"{PAGE}/visibility", {"public": "true", "kind": "cron_job"}, PAGE)
    post_form(logged_in, f"{PAGE}/visibility", {"public": "false", "kind": "cron_job"}, PAGE)
    with app.app_context():
        assert not any(db.session.scalars(db.select(CronJob.public)))
    # The buttons belong to their own form, with its confirmation and the filters it acts on.
    html = text(logged_in.get(f"{PAGE}?kind=cron_job"))
    assert 'form id="status-visibility"' in html and "data-confirm=" in html
    assert '<input type="hidden" name="kind" value="cron_job">' in html
    assert 'form="status-visibility" name="public" value="true"' in html


def test_make_all_refuses_a_bad_choice_without_a_change(logged_in, many, app):
    post_form(logged_in, f"{PAGE}/visibility", {"public": "perhaps"}, form_path=PAGE)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).where(Monitor.public)) == 60
    with app.app_context(), pytest.raises(ValidationError):
        status_page.set_visibility(True, kind="robot")
