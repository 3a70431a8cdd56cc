"""Tags: items carry them by name through the API, lists filter by them, /api/tags renames,
recolours and deletes them, and maintenance windows cover whatever carries a tag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Tag
from app.services import cron_jobs, maintenance, monitors, tags

MONITOR = {"type": "http", "name": "Shop", "url": "https://shop.example.com/"}
JOB = {"name": "Backup", "url": "https://ops.example.com/backup", "cron_expr": "0 2 * * *"}


def names(response) -> list[str]:
    return [item["name"] for item in response.json]


def test_items_carry_tags_by_name_and_new_names_become_tags(api):
    key = api.key("*")
    made = api.post("/api/monitors", key, json=MONITOR | {"tags": ["prod", "db", "PROD "]})
    assert made.status_code == 201, made.json
    assert made.json["tags"] == ["db", "prod"]  # by name; a repeat in any case counts once
    text = api.post("/api/monitors", key, json=MONITOR | {"name": "Text", "tags": " db , prod,"})
    assert text.json["tags"] == ["db", "prod"]  # or one text, names separated by commas
    job = api.post("/api/cron-jobs", key, json=JOB | {"tags": ["Prod", "nightly"]})
    assert job.json["tags"] == ["nightly", "prod"]  # "Prod" is the existing "prod"

    listed = api.get("/api/tags", key).json
    assert [(t["name"], t["uses"]) for t in listed] == [("db", 2), ("nightly", 1), ("prod", 3)]
    assert [t["colour"] for t in listed] == [tags.PALETTE[1], tags.PALETTE[2], tags.PALETTE[0]]

    path = f"/api/monitors/{made.json['id']}"
    assert api.put(path, key, json={"tags": ["nightly"]}).json["tags"] == ["nightly"]
    assert api.put(path, key, json={"name": "Shop 2"}).json["tags"] == ["nightly"]  # kept
    assert api.put(path, key, json={"tags": []}).json["tags"] == []
    assert api.get("/api/tags", key).json[0] == {
        "id": listed[0]["id"],
        "name": "db",
        "colour": tags.PALETTE[1],
        "uses": 1,  # the "Text" monitor's
    }


def test_lists_filter_by_every_tag_asked_for(api):
    key = api.key("*")
    for name, item_tags in (("a", ["prod", "db"]), ("b", ["prod"]), ("c", ["db"]), ("d", [])):
        api.post("/api/monitors", key, json=MONITOR | {"name": name, "tags": item_tags})
    api.post("/api/cron-jobs", key, json=JOB | {"name": "job", "tags": ["db"]})

    assert names(api.get("/api/monitors?tag=prod", key)) == ["a", "b"]
    assert names(api.get("/api/monitors?tag=prod&tag=DB", key)) == ["a"]
    assert names(api.get("/api/monitors?tag=prod,db", key)) == ["a"]
    assert names(api.get("/api/monitors?tag=nothing", key)) == []
    assert names(api.get("/api/monitors?tag=", key)) == ["a", "b", "c", "d"]
    assert names(api.get("/api/cron-jobs?tag=db", key)) == ["job"]
    assert names(api.get("/api/cron-jobs?tag=prod", key)) == []
    too_many = "&".join(f"tag=t{n}" for n in range(tags.FILTER_MAX + 1))
    refused = api.get(f"/api/monitors?{too_many}", key)
    assert refused.status_code == 422 and "tag" in refused.json["fields"]


def test_bad_tags_are_refused_naming_the_field_and_nothing_is_written(api, app):
    key = api.key("*")
    for bad, message in (
        (["a,b"], "cannot contain commas"),
        (["tab\there"], "control characters"),
        (["x" * (tags.NAME_MAX + 1)], "at most 50"),
        ([""], "Enter a tag name"),
        ([f"t{n}" for n in range(tags.PER_ITEM_MAX + 1)], "at most 20 tags"),
        ({"prod": True}, "list of tag names"),
        ([1], "list of tag names"),
        (["nul\x00"], "NUL"),
        (["\ud800"], None),
    ):
        answer = api.post("/api/monitors", key, json=MONITOR | {"tags": bad})
        assert answer.status_code in (400, 422), (bad, answer.json)
        if message:
            assert message in answer.json["fields"]["tags"], (bad, answer.json)
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count(Tag.id))).scalar_one() == 0


def test_rename_recolour_and_delete_through_the_api(api, app):
    key = api.key("*")
    monitor = api.post("/api/monitors", key, json=MONITOR | {"tags": ["prod"]}).json
    made = api.post("/api/tags", key, json={"name": "staging", "colour": "#AABBCC"})
    assert made.status_code == 201 and made.json["colour"] == "#aabbcc"
    prod = next(t for t in api.get("/api/tags", key).json if t["name"] == "prod")
    path = f"/api/tags/{prod['id']}"

    renamed = api.put(path, key, json={"name": "production", "colour": "#123456"})
    assert renamed.json == {"id": prod["id"], "name": "production", "colour": "#123456"}
    assert api.get(f"/api/monitors/{monitor['id']}", key).json["tags"] == ["production"]
    assert api.put(path, key, json={"name": "PRODUCTION"}).status_code == 200  # its own name

    taken = api.put(path, key, json={"name": "Staging"})
    assert taken.status_code == 422 and "already exists" in taken.json["fields"]["name"]
    assert api.post("/api/tags", key, json={"name": "staging"}).status_code == 422
    bad = api.put(path, key, json={"colour": "red", "name": ""})
    assert set(bad.json["fields"]) == {"colour", "name"}
    assert api.post("/api/tags", key, json={"colour": "#000000"}).json["fields"] == {
        "name": "Enter a tag name."
    }

    assert api.delete(path, key).json == {"success": True}
    assert api.get(path, key).status_code == 404
    assert api.get(f"/api/monitors/{monitor['id']}", key).json["tags"] == []
    with app.app_context():
        assert monitors.get(monitor["id"]).name == "Shop"  # the item stays


def test_tag_scopes(api):
    reader = api.key("tags:read")
    assert api.get("/api/tags", reader).status_code == 200
    refused = api.post("/api/tags", reader, json={"name": "x"})
    assert refused.status_code == 403 and "tags:write" in refused.json["error"]
    assert api.get("/api/tags", api.key("monitors:read")).status_code == 403


def test_a_window_covers_items_carrying_its_tag_even_when_tagged_later(app):
    now = datetime.now(UTC)
    with app.app_context():
        early = monitors.create({"name": "early", "url": "https://a.example.com/", "tags": ["db"]})
        job = cron_jobs.create(JOB)
        window = maintenance.create(
            {
                "title": "Database upgrade",
                "starts_at": now - timedelta(minutes=1),
                "ends_at": now + timedelta(hours=1),
                "tags": ["DB"],
            }
        )
        assert [t.name for t in window.tags] == ["db"]
        late = monitors.create({"name": "late", "url": "https://b.example.com/", "tags": ["db"]})
        cron_jobs.update(job.id, {"tags": ["db"]})
        covered = maintenance.covered(now)
        assert set(covered.monitors) == {early.id, late.id}
        assert set(covered.cron_jobs) == {job.id}
        assert [w.id for w in maintenance.targets_of("monitor", late.id)] == [window.id]

        monitors.update(late.id, {"tags": []})
        assert set(maintenance.covered(now).monitors) == {early.id}
        assert maintenance.announced(now) == []  # nothing public under it
        monitors.update(early.id, {"public": True})
        assert [w.id for w, _start, _end in maintenance.announced(now)] == [window.id]


def test_a_window_needs_a_target_and_a_tag_is_one(api):
    key = api.key("*")
    start = datetime.now(UTC) + timedelta(hours=1)
    body = {
        "title": "t",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
    }
    refused = api.post("/api/maintenance", key, json=body)
    assert refused.status_code == 422 and "tag" in refused.json["fields"]["targets"]
    made = api.post("/api/maintenance", key, json=body | {"tags": ["db"]})
    assert made.status_code == 201 and made.json["tags"] == ["db"]
    cleared = api.put(f"/api/maintenance/{made.json['id']}", key, json={"tags": []})
    assert cleared.status_code == 422 and "targets" in cleared.json["fields"]


def test_the_migration_goes_down_and_up_keeping_items(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        kept = monitors.create({"name": "Old", "url": "https://example.com/", "tags": ["x"]})
        db.session.remove()
        downgrade(revision="0014")  # before this migration
        assert "tags" not in sa.inspect(db.engine).get_table_names()
        upgrade()
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        assert monitors.get(kept.id).tags == []


def test_the_cli_lists_renames_recolours_and_deletes_tags(app):
    from tests.conftest import run_cli

    with app.app_context():
        monitors.create({"name": "a", "url": "https://a.example.com/", "tags": ["prod", "db"]})
        db_id = tags.find("DB").id
    listed = run_cli(app, "tags", "list")
    assert listed.exit_code == 0
    assert listed.output.splitlines()[0] == f"{db_id}\t{tags.PALETTE[1]}\t1\tdb"

    renamed = run_cli(app, "tags", "rename", "DB", "database")
    assert renamed.exit_code == 0 and renamed.output.endswith("\tdatabase\n")
    refused = run_cli(app, "tags", "rename", "database", "PROD")
    assert refused.exit_code == 1 and "already exists" in refused.output
    assert run_cli(app, "tags", "colour", "database", "#000000").exit_code == 0
    bad = run_cli(app, "tags", "colour", "database", "black")
    assert bad.exit_code == 1 and "#rrggbb" in bad.output
    missing = run_cli(app, "tags", "delete", "nothing")
    assert missing.exit_code == 1 and "No tag is called nothing." in missing.output
    assert run_cli(app, "tags", "delete", "database").output == "Deleted the tag database.\n"
    with app.app_context():
        assert [t.name for t, _ in tags.list_tags()] == ["prod"]
        assert tags.names_of(monitors.list_monitors().items[0]) == ["prod"]
