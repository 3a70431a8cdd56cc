"""The bulk action bar of the monitor, heartbeat and cron job lists, as plain form posts:
ticked rows, the whole page and every item matching the filters; deleting through the
confirmation page, typed for more than ten; errors shown and nothing changed."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.extensions import db
from app.models import CronJob, MaintenanceWindow, Monitor
from app.services import channels, cron_jobs, monitors
from tests.conftest import csrf_token, page_text


def make_monitors(app, count: int, prefix: str = "Site") -> list[int]:
    with app.app_context():
        return [
            monitors.create({"name": f"{prefix} {n:02}", "url": f"https://s{n}.example.com/"}).id
            for n in range(count)
        ]


def paused(app) -> dict[str, bool]:
    with app.app_context():
        db.session.remove()
        return {m.name: m.paused for m in db.session.execute(sa.select(Monitor)).scalars()}


def bulk_post(client, data: dict, list_path: str = "/monitors/", **kwargs):
    """Post the bar's form as the browser does, with the token from the list's page."""
    return client.post(
        "/bulk/", data={"csrf_token": csrf_token(client, list_path), **data}, **kwargs
    )


def test_lists_show_a_checkbox_per_row_and_the_bar(app, logged_in):
    make_monitors(app, 2)
    with app.app_context():
        monitors.create({"kind": "heartbeat", "name": "Backup", "period_sec": 3600})
        cron_jobs.create({"name": "Nightly", "url": "https://e.com/", "cron_expr": "0 2 * * *"})
        channels.create({"name": "Ops mail", "kind": "email", "addresses": "ops@example.com"})
    for path, name, verb in (
        ("/monitors/", "Site 01", "Pause"),
        ("/heartbeats/", "Backup", "Pause"),
        ("/cron-jobs/", "Nightly", "Disable"),
    ):
        html = page_text(logged_in.get(path))
        assert re.search(
            rf'<label class="visually-hidden" for="select-\w+-\d+">Select {name}', html
        )
        assert 'name="all_page"' in html and "Select all" in html and "on this page" in html
        assert f'<option value="pause">{verb}</option>' in html and "Ops mail" in html
        # One page holds everything: there is nothing more to select.
        assert 'name="all_matching"' not in html


def test_pause_the_ticked_rows_and_say_what_changed(app, logged_in):
    ids = make_monitors(app, 4)
    with app.app_context():
        monitors.pause(ids[1])
    response = bulk_post(
        logged_in, {"list": "monitors", "action": "pause", "id": [str(i) for i in ids[:3]],
                    "q": "site"},
    )  # fmt: skip
    assert response.status_code == 302 and response.location.endswith("/monitors/?q=site")
    assert paused(app) == {"Site 00": True, "Site 01": True, "Site 02": True, "Site 03": False}
    page = page_text(logged_in.get(response.location))
    assert "Paused 2 monitors; 1 was already paused." in page


def test_tag_channels_and_maintenance_from_the_bar(app, logged_in):
    ids = make_monitors(app, 2)
    with app.app_context():
        job = cron_jobs.create(
            {"name": "Nightly", "url": "https://e.com/", "cron_expr": "0 2 * * *"}
        )
        ops = channels.create({"name": "Ops", "kind": "email", "addresses": "o@example.com"}).id
    form = {"list": "monitors", "id": [str(i) for i in ids]}
    bulk_post(logged_in, form | {"action": "tag", "tags": "prod, db", "minutes": "x"})
    bulk_post(logged_in, form | {"action": "set_channels", "channel_ids": [str(ops)]})
    with app.app_context():
        for monitor_id in ids:
            row = db.session.get(Monitor, monitor_id)
            assert sorted(t.name for t in row.tags) == ["db", "prod"]
            assert [c.id for c in row.channels] == [ops]
    response = bulk_post(
        logged_in, {"list": "cron_jobs", "action": "maintenance", "minutes": "45",
                    "id": [str(job.id)]}, "/cron-jobs/",
    )  # fmt: skip
    assert "Started 45 minutes of maintenance on 1 cron job." in page_text(
        logged_in.get(response.location)
    )
    with app.app_context():
        (window,) = db.session.execute(sa.select(MaintenanceWindow)).scalars()
        assert [j.id for j in window.cron_jobs] == [job.id] and window.monitors == []


def test_errors_are_shown_and_change_nothing(app, logged_in):
    ids = make_monitors(app, 2)
    response = bulk_post(logged_in, {"list": "monitors", "action": "tag", "id": [str(ids[0])]})
    assert response.status_code == 302
    assert "Enter at least one tag name." in page_text(logged_in.get(response.location))
    response = bulk_post(logged_in, {"list": "monitors", "action": "pause"})
    assert "Choose at least one monitor" in page_text(logged_in.get(response.location))
    response = bulk_post(
        logged_in, {"list": "monitors", "action": "pause", "id": [str(ids[0]), "99999"]}
    )
    assert "No monitor or heartbeat with id 99999." in page_text(logged_in.get(response.location))
    assert not any(paused(app).values())
    assert bulk_post(logged_in, {"list": "nowhere", "action": "pause"}).status_code == 400
    # Without the form's token nothing happens.
    response = logged_in.post("/bulk/", data={"list": "monitors", "action": "pause",
                                              "id": [str(ids[0])]})  # fmt: skip
    assert response.status_code == 400 and not any(paused(app).values())


def test_the_whole_page_without_scripts(app, logged_in):
    make_monitors(app, 30)
    response = bulk_post(
        logged_in, {"list": "monitors", "action": "pause", "all_page": "1", "page": "2"}
    )
    assert "Paused 5 monitors." in page_text(logged_in.get(response.location))
    assert sum(paused(app).values()) == 5 and all(paused(app)[f"Site {n}"] for n in range(25, 30))


def test_select_all_matching_acts_on_every_page_of_the_filter(app, logged_in):
    make_monitors(app, 30, "Shop")
    make_monitors(app, 3, "Blog")
    html = page_text(logged_in.get("/monitors/?q=shop"))
    assert "Select all 30 matching monitors" in html
    assert '<input type="hidden" name="q" value="shop">' in html
    response = bulk_post(
        logged_in, {"list": "monitors", "action": "pause", "all_matching": "1", "q": "shop",
                    "page": "1", "id": ["1"]},
    )  # fmt: skip
    assert "Paused 30 monitors." in page_text(logged_in.get(response.location))
    state = paused(app)
    assert all(state[f"Shop {n:02}"] for n in range(30))
    assert not any(state[f"Blog {n:02}"] for n in range(3))
    # A filter the list does not know is refused, not read as "everything".
    response = bulk_post(
        logged_in, {"list": "cron_jobs", "action": "pause", "all_matching": "1",
                    "status": "sleeping"}, "/cron-jobs/",
    )  # fmt: skip
    assert "Choose one of enabled, disabled." in page_text(logged_in.get("/cron-jobs/"))


def test_deleting_asks_first_and_more_than_ten_must_be_typed(app, logged_in):
    ids = make_monitors(app, 12)
    form = {"list": "monitors", "action": "delete", "id": [str(i) for i in ids]}
    confirm = bulk_post(logged_in, form)
    assert confirm.status_code == 200
    html = page_text(confirm)
    assert "Delete 12 monitors?" in html and "Site 11" in html and "Type 12 to confirm" in html
    assert len(paused(app)) == 12

    # Confirmed but not typed, or typed wrong: the page again, with the reason.
    for typed in ("", "11", "delete 13"):
        again = bulk_post(logged_in, form | {"confirmed": "1", "confirm": typed})
        assert again.status_code == 422 and "Type 12 to confirm." in page_text(again)
        assert len(paused(app)) == 12

    done = bulk_post(logged_in, form | {"confirmed": "1", "confirm": " Delete 12 "})
    assert done.status_code == 302
    assert "Deleted 12 monitors with their history." in page_text(logged_in.get(done.location))
    assert paused(app) == {}


def test_deleting_a_few_needs_only_the_confirmation_page(app, logged_in):
    with app.app_context():
        ids = [
            cron_jobs.create(
                {"name": f"Job {n}", "url": "https://e.com/", "cron_expr": "0 2 * * *"}
            ).id
            for n in range(3)
        ]
    form = {"list": "cron_jobs", "action": "delete", "id": [str(i) for i in ids[:2]]}
    html = page_text(bulk_post(logged_in, form, "/cron-jobs/"))
    assert "Delete 2 cron jobs?" in html and "Type" not in html
    done = bulk_post(logged_in, form | {"confirmed": "1"}, "/cron-jobs/")
    assert "Deleted 2 cron jobs" in page_text(logged_in.get(done.location))
    with app.app_context():
        assert list(db.session.execute(sa.select(CronJob.id)).scalars()) == [ids[2]]


def test_select_all_matching_honours_the_tag_filter(app, logged_in):
    with app.app_context():
        jobs = [
            cron_jobs.create(
                {"name": f"Job {n:02}", "url": "https://e.com/", "cron_expr": "0 2 * * *",
                 "tags": ["prod"] if n % 2 else []}
            ).id
            for n in range(30)
        ]  # fmt: skip
    html = page_text(logged_in.get("/cron-jobs/?tag=prod"))
    assert '<input type="hidden" name="tag" value="prod">' in html
    response = bulk_post(
        logged_in, {"list": "cron_jobs", "action": "pause", "all_matching": "1", "tag": "prod"},
        "/cron-jobs/",
    )  # fmt: skip
    assert response.location.endswith("/cron-jobs/?tag=prod")
    assert "Disabled 15 cron jobs." in page_text(logged_in.get(response.location))
    with app.app_context():
        db.session.remove()
        enabled = {j.id: j.enabled for j in db.session.execute(sa.select(CronJob)).scalars()}
    assert [job_id for job_id in jobs if not enabled[job_id]] == jobs[1::2]
