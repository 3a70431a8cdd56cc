"""Tags in the dashboard: Settings → Tags, the tags field of every item form, chips and the
tag filter on every list and the overview, and a maintenance window chosen by tag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.services import cron_jobs, maintenance, monitors, tags
from tests.conftest import csrf_token, page_text, post_form

MONITOR_FORM = {
    "name": "Shop",
    "url": "https://shop.example.com/health",
    "method": "GET",
    "kind": "http",
    "interval_sec": "30",
    "timeout_ms": "5000",
    "expected_status": "200-299",
    "max_redirects": "5",
    "failure_threshold": "2",
    "recovery_threshold": "1",
}


def in_app(client, call, *args, **kwargs):
    with client.application.app_context():
        return call(*args, **kwargs)


def token(client) -> str:
    return csrf_token(client, "/settings/")


def test_settings_tags_create_rename_recolour_and_delete(logged_in):
    empty = logged_in.get("/settings/tags/")
    assert empty.status_code == 200 and "No tags yet" in page_text(empty)

    made = logged_in.post(
        "/settings/tags/",
        data={"new-csrf_token": token(logged_in), "new-name": "prod", "new-colour": "#AA0000"},
    )
    assert made.status_code == 302
    listing = page_text(logged_in.get("/settings/tags/"))
    assert "Tag prod created." in listing and 'value="#aa0000"' in listing
    prod = in_app(logged_in, tags.list_tags)[0][0]

    in_app(logged_in, monitors.create, {"name": "a", "url": "https://a.example.com/"})
    in_app(logged_in, tags.create, {"name": "db"})
    taken = logged_in.post(
        f"/settings/tags/{prod.id}",
        data={f"t{prod.id}-csrf_token": token(logged_in), f"t{prod.id}-name": "DB"},
    )
    assert taken.status_code == 422
    assert "A tag with this name already exists." in page_text(taken)

    saved = logged_in.post(
        f"/settings/tags/{prod.id}",
        data={
            f"t{prod.id}-csrf_token": token(logged_in),
            f"t{prod.id}-name": "production",
            f"t{prod.id}-colour": "#00aa00",
        },
    )
    assert saved.status_code == 302
    renamed = in_app(logged_in, lambda: (tags.get(prod.id).name, tags.get(prod.id).colour))
    assert renamed == ("production", "#00aa00")

    without_token = logged_in.post(f"/settings/tags/{prod.id}/delete")
    assert without_token.status_code == 400
    gone = logged_in.post(f"/settings/tags/{prod.id}/delete", data={"csrf_token": token(logged_in)})
    assert gone.status_code == 302
    assert [t.name for t, _ in in_app(logged_in, tags.list_tags)] == ["db"]
    assert (
        logged_in.post(
            "/settings/tags/999/delete", data={"csrf_token": token(logged_in)}
        ).status_code
        == 404
    )


def test_the_colour_sheet_names_every_tag_and_revalidates(logged_in, client):
    tag = in_app(logged_in, tags.create, {"name": "prod", "colour": "#123abc"})
    sheet = logged_in.get("/settings/tags/colours.css")
    assert sheet.mimetype == "text/css"
    assert f'.tag-chip[data-tag="{tag.id}"]{{--tag-colour:#123abc}}' in page_text(sheet)
    again = logged_in.get(
        "/settings/tags/colours.css", headers={"If-None-Match": sheet.headers["ETag"]}
    )
    assert again.status_code == 304
    in_app(logged_in, tags.update, tag.id, {"colour": "#ffffff"})
    changed = logged_in.get(
        "/settings/tags/colours.css", headers={"If-None-Match": sheet.headers["ETag"]}
    )
    assert changed.status_code == 200 and "#ffffff" in page_text(changed)


def test_item_forms_take_tags_and_lists_show_and_filter_by_them(logged_in):
    made = post_form(logged_in, "/monitors/new", MONITOR_FORM | {"tags": "prod, DB ,"})
    assert made.status_code == 302, page_text(made)
    monitor_id = int(made.headers["Location"].rstrip("/").split("/")[-1])
    edit = page_text(logged_in.get(f"/monitors/{monitor_id}/edit"))
    assert 'value="DB, prod"' in edit
    post_form(logged_in, "/monitors/new", MONITOR_FORM | {"name": "Other", "tags": "staging"})
    logged_in.get("/")  # shows the flash message naming it

    listing = page_text(logged_in.get("/monitors/?tag=prod"))
    assert "Shop" in listing and "Other" not in listing
    assert '<option value="prod" selected>' in listing and "Any tag" in listing
    assert 'href="/monitors/?tag=DB"' in listing  # a chip links to its filter
    assert "Nothing matches" in page_text(logged_in.get("/monitors/?tag=nothing"))
    assert logged_in.get("/monitors/?tag=a,b,c,d,e,f,g,h,i,j,k").status_code == 400

    bad = post_form(
        logged_in,
        f"/monitors/{monitor_id}/edit",
        MONITOR_FORM | {"tags": "x" * 51},
        form_path=f"/monitors/{monitor_id}/edit",
    )
    assert bad.status_code == 422 and "Use at most 50 characters." in page_text(bad)
    cleared = post_form(
        logged_in,
        f"/monitors/{monitor_id}/edit",
        MONITOR_FORM | {"tags": ""},
        form_path=f"/monitors/{monitor_id}/edit",
    )
    assert cleared.status_code == 302
    assert in_app(logged_in, lambda: monitors.get(monitor_id).tags) == []


def test_heartbeat_and_cron_job_forms_take_tags(logged_in):
    beat = post_form(
        logged_in,
        "/heartbeats/new",
        {"name": "Backup", "schedule": "period", "period": "1", "period_unit": "days",
         "timezone": "UTC", "grace_period": "5", "running_time_unit": "minutes", "tags": "nightly"},
    )  # fmt: skip
    assert beat.status_code == 302, page_text(beat)
    assert "nightly" in page_text(logged_in.get("/heartbeats/?tag=nightly"))
    assert "Backup" not in page_text(logged_in.get("/heartbeats/?tag=prod"))

    job = post_form(
        logged_in,
        "/cron-jobs/new",
        {"name": "Purge", "url": "https://ops.example.com/purge", "method": "GET",
         "cron_expr": "0 3 * * *", "timezone": "UTC", "timeout_ms": "30000",
         "expected_status": "200-299", "auto_disable_after": "15", "notify_failure_after": "1",
         "tls_expiry_warn_days": "14", "enabled": "y", "tags": "nightly, ops"},
    )  # fmt: skip
    assert job.status_code == 302, page_text(job)
    listed = in_app(logged_in, cron_jobs.list_cron_jobs, tag=["ops", "nightly"]).items
    assert [j.name for j in listed] == ["Purge"]
    job_id = listed[0].id
    assert 'value="nightly, ops"' in page_text(logged_in.get(f"/cron-jobs/{job_id}/edit"))
    assert "Purge" in page_text(logged_in.get("/cron-jobs/?tag=ops"))


def test_the_overview_filters_by_tag_and_by_maintenance(logged_in):
    now = datetime.now(UTC)
    with logged_in.application.app_context():
        monitors.create({"name": "Tagged", "url": "https://a.example.com/", "tags": ["db"]})
        monitors.create({"name": "Plain", "url": "https://b.example.com/"})
        cron_jobs.create(
            {
                "name": "Job",
                "url": "https://c.example.com/",
                "cron_expr": "0 2 * * *",
                "tags": ["db"],
            }
        )
        monitors.create(
            {"name": "Resting", "url": "https://d.example.com/", "tags": ["db"], "paused": True}
        )
        maintenance.create(
            {
                "title": "Upgrade",
                "starts_at": now - timedelta(minutes=1),
                "ends_at": now + timedelta(hours=1),
                "tags": ["db"],
            }
        )
    by_tag = page_text(logged_in.get("/?tag=db"))
    assert "Tagged" in by_tag and "Job" in by_tag and "Plain" not in by_tag

    held = page_text(logged_in.get("/?status=maintenance"))
    assert "Tagged" in held and "Job" in held
    assert "Plain" not in held and "Resting" not in held  # paused shows paused, not maintenance
    pending = page_text(logged_in.get("/?status=pending"))
    assert "Plain" in pending and "Tagged" not in pending  # it shows maintenance, not pending
    assert "Resting" in page_text(logged_in.get("/?status=paused"))


def test_a_maintenance_window_can_be_chosen_by_tag_in_its_form(logged_in):
    with logged_in.application.app_context():
        monitors.create({"name": "Tagged", "url": "https://a.example.com/", "tags": ["db"]})
    form = page_text(logged_in.get("/maintenance/new"))
    assert "Tags (every item carrying them, now and later)" in form and 'value="db"' in form
    start = datetime.now(UTC) + timedelta(hours=1)
    made = post_form(
        logged_in,
        "/maintenance/new",
        {
            "title": "By tag",
            "kind": "one_off",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "timezone": "UTC",
            "tags": "db",
        },
    )
    assert made.status_code == 302, page_text(made)
    with logged_in.application.app_context():
        (window,) = maintenance.list_windows().items
        assert [t.name for t in window.tags] == ["db"]
