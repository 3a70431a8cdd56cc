"""Configuration as code: export, plan and import through the service, the CLI and the API,
on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import uuid

import jsonschema
import pytest
import sqlalchemy as sa
import yaml

from app.extensions import db
from app.models import CronJob, Group, MaintenanceWindow, Monitor, NotificationChannel, Tag
from app.services import (
    channels,
    config,
    cron_jobs,
    groups,
    maintenance,
    monitors,
    status_page,
    tags,
)
from app.services.errors import ValidationError
from tests.conftest import run_cli

CODE = "3f1c2a9e-8d4b-4c67-9a1e-2b5d7c0e4f81"


def populate() -> None:
    """One of most things a configuration holds, secrets included."""
    groups.create("Prod")
    groups.create("Staging")
    tags.create({"name": "db", "colour": "#8250df"})
    mail = channels.create(
        {"name": "Ops mail", "kind": "email", "addresses": ["ops@example.com"], "is_default": True}
    )
    hook = channels.create(
        {
            "name": "Hook",
            "kind": "webhook",
            "url": "https://hooks.example.com/in",
            "headers": {"X-Env": "prod", "Authorization": "Bearer hook-token"},
            "secret": "signing-secret",
        }
    )
    api = monitors.create(
        {
            "name": "API",
            "url": "https://api.example.com/health",
            "method": "POST",
            "headers": {"Accept": "application/json", "X-Api-Key": "key-123"},
            "auth_username": "probe",
            "auth_password": "hunter2",
            "assertions": [{"source": "status", "op": "eq", "value": 200}],
            "group": "Prod",
            "tags": ["db", "edge"],
            "channels": [mail.id, hook.id],
            "public": True,
        }
    )
    monitors.create({"kind": "tcp", "name": "DB port", "host": "db.example.com", "port": 5432})
    monitors.create(
        {"kind": "dns", "name": "DNS", "host": "example.com", "record_type": "MX", "paused": True}
    )
    beat = monitors.create(
        {"kind": "heartbeat", "name": "Backup", "cron_expr": "0 3 * * *", "group": "Staging"}
    )
    job = cron_jobs.create(
        {
            "name": "Nightly",
            "url": "https://ops.example.com/nightly",
            "cron_expr": "30 1 * * *",
            "timezone": "Europe/Berlin",
            "tags": ["db"],
            "enabled": False,
        }
    )
    cron_jobs.create({"name": "Poll", "url": "https://ops.example.com/poll", "interval_sec": 900})
    maintenance.create(
        {
            "title": "Sunday patching",
            "cron_expr": "0 2 * * 0",
            "duration_min": 60,
            "timezone": "Europe/Berlin",
            "monitor_ids": [api.id, beat.id],
            "cron_job_ids": [job.id],
            "tags": ["db"],
        }
    )
    status_page.update_settings({"title": "Example status", "show_response_times": True})


def delete_everything() -> None:
    for model in (MaintenanceWindow, Monitor, CronJob, NotificationChannel, Tag, Group):
        db.session.execute(sa.delete(model))
    db.session.commit()
    db.session.expire_all()


def counts() -> dict[str, int]:
    return {
        model.__name__: db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar()
        for model in (MaintenanceWindow, Monitor, CronJob, NotificationChannel, Tag, Group)
    }


def entries(plan: dict, action: str) -> set[tuple[str, str]]:
    return {(entry["section"], entry["name"]) for entry in plan[action]}


def test_export_matches_its_schema_and_leaves_secrets_out(app):
    with app.app_context():
        populate()
        document = config.export_document()
        jsonschema.validate(document, config.schema())
        text = json.dumps(document)
        for secret in ("hunter2", "key-123", "hook-token", "signing-secret"):
            assert secret not in text
        api = document["monitors"][0]
        assert api["slug"] == "api" and api["type"] == "http"
        assert api["headers"] == {"Accept": "application/json"}
        assert "auth_password" not in api
        assert api["channels"] == ["Hook", "Ops mail"] and api["tags"] == ["db", "edge"]
        assert [g["name"] for g in document["groups"]] == ["Prod", "Staging"]
        (beat,) = document["heartbeats"]
        assert beat["cron_expr"] == "0 3 * * *" and uuid.UUID(beat["code"])
        hook = next(c for c in document["channels"] if c["name"] == "Hook")
        assert hook == {
            "name": "Hook",
            "type": "webhook",
            "enabled": True,
            "is_default": False,
            "url": "https://hooks.example.com/in",
            "headers": {"X-Env": "prod"},
        }
        assert document["status_page"]["title"] == "Example status"

        secret = config.export_document(with_secrets=True)
        jsonschema.validate(secret, config.schema())
        assert secret["monitors"][0]["auth_password"] == "hunter2"
        assert secret["monitors"][0]["headers"]["X-Api-Key"] == "key-123"
        hook = next(c for c in secret["channels"] if c["name"] == "Hook")
        assert hook["secret"] == "signing-secret"
        assert hook["headers"]["Authorization"] == "Bearer hook-token"


def test_round_trip_restores_an_equal_configuration_and_reimport_is_a_no_op(app):
    with app.app_context():
        populate()
        original = config.export_document(with_secrets=True)
        delete_everything()
        assert counts()["Monitor"] == 0

        plan = config.apply(copy.deepcopy(original))
        assert not plan["update"] and not plan["delete"]
        assert ("monitors", "api") in entries(plan, "create")
        restored = config.export_document(with_secrets=True)
        for section in config.SECTIONS:
            assert restored[section] == original[section], section
        # Field by field, the stored rows too: the ping code and the secrets came back.
        beat = db.session.execute(sa.select(Monitor).where(Monitor.slug == "backup")).scalar_one()
        assert beat.code == original["heartbeats"][0]["code"]
        api = db.session.execute(sa.select(Monitor).where(Monitor.slug == "api")).scalar_one()
        assert api.auth_password == "hunter2" and api.headers["X-Api-Key"] == "key-123"

        again = config.plan(copy.deepcopy(original))
        assert not again["create"] and not again["update"] and not again["delete"]
        assert (
            len(again["unchanged"])
            == sum(len(original[s]) for s in config.KEYS if s in original) + 1
        )  # the status page's settings


def test_reimport_of_an_export_without_secrets_keeps_them(app):
    with app.app_context():
        populate()
        document = config.export_document()
        plan = config.apply(document)
        assert not plan["create"] and not plan["update"]
        api = db.session.execute(sa.select(Monitor).where(Monitor.slug == "api")).scalar_one()
        assert api.auth_password == "hunter2"
        assert api.headers == {"Accept": "application/json", "X-Api-Key": "key-123"}
        hook = db.session.execute(
            sa.select(NotificationChannel).where(NotificationChannel.name == "Hook")
        ).scalar_one()
        assert hook.config["secret"] == "signing-secret"
        assert hook.config["headers"]["Authorization"] == "Bearer hook-token"


def test_plan_names_changed_fields_and_writes_nothing(app):
    with app.app_context():
        populate()
        document = config.export_document()
        document["monitors"][0]["interval_sec"] = 120
        document["monitors"][0]["tags"] = ["db"]
        document["cron_jobs"].append(
            {
                "slug": "weekly-report",
                "name": "Weekly report",
                "url": "https://ops.example.com/report",
                "cron_expr": "0 8 * * 1",
            }
        )
        document["heartbeats"].append(
            {"slug": "etl", "name": "ETL", "code": CODE, "period_sec": 3600}
        )
        before = counts()
        plan = config.plan(document)
        assert counts() == before
        (update,) = plan["update"]
        assert update == {"section": "monitors", "name": "api", "fields": ["interval_sec", "tags"]}
        assert entries(plan, "create") == {("cron_jobs", "weekly-report"), ("heartbeats", "etl")}

        config.apply(document)
        etl = db.session.execute(sa.select(Monitor).where(Monitor.slug == "etl")).scalar_one()
        assert etl.code == CODE and etl.kind == "heartbeat" and etl.period_sec == 3600
        # A left-out field takes its default; channels left out are the default ones.
        report = db.session.execute(
            sa.select(CronJob).where(CronJob.slug == "weekly-report")
        ).scalar_one()
        assert report.timeout_ms == 30000 and [c.name for c in report.channels] == ["Ops mail"]
        assert db.session.get(Monitor, 1).interval_sec == 120


def test_invalid_items_are_all_listed_and_nothing_is_written(app, api, root_key):
    with app.app_context():
        populate()
        document = config.export_document()
        document["monitors"][0]["url"] = "ftp://nope"
        document["monitors"][1]["port"] = 70000
        document["monitors"].append({"slug": "new-one", "name": "New", "url": "https://x.test/"})
        document["heartbeats"][0]["code"] = "not-a-uuid"
        document["maintenance"][0]["monitors"] = ["api", "ghost"]
        mail = next(c for c in document["channels"] if c["name"] == "Ops mail")
        mail["addresses"] = ["not an address"]
        before = counts()
        with pytest.raises(ValidationError) as caught:
            config.apply(document)
        errors = caught.value.fields
        assert set(errors) >= {
            "monitors[api].url",
            "monitors[db-port].port",
            "heartbeats[backup].code",
            "maintenance[Sunday patching].monitors",
            "channels[Ops mail].addresses",
        }
        assert "ghost" in errors["maintenance[Sunday patching].monitors"]
        assert counts() == before
        new_one = sa.select(Monitor).where(Monitor.slug == "new-one")
        assert db.session.execute(new_one).first() is None

    response = api.post("/api/import", root_key, json=document)
    assert response.status_code == 422
    assert "monitors[api].url" in response.json["fields"]
    with app.app_context():
        assert counts() == before


def test_prune_deletes_what_the_document_leaves_out_only_when_asked(app):
    with app.app_context():
        populate()
        document = config.export_document()
        document["monitors"] = [m for m in document["monitors"] if m["slug"] != "dns"]
        document["channels"] = [c for c in document["channels"] if c["name"] != "Hook"]
        plan = config.apply(copy.deepcopy(document))
        assert not plan["delete"]
        assert db.session.execute(sa.select(Monitor).where(Monitor.slug == "dns")).first()

        plan = config.apply(copy.deepcopy(document), prune=True)
        # Hook stays: the api monitor still names it.
        assert entries(plan, "delete") == {("monitors", "dns")}
        assert db.session.execute(sa.select(Monitor).where(Monitor.slug == "dns")).first() is None
        assert db.session.execute(sa.select(Monitor).where(Monitor.slug == "backup")).first()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"upcron": 1, "groups": [{"name": "a\\u0000b"}]}', "cannot be stored"),
        (b'{"upcron": 1, "groups": [{"name": "\\ud800"}]}', "cannot be stored"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"upcron": 1, "x": ' + b"[" * 40 + b"]" * 40 + b"}", "nested more than"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"upcron": 1,', "not valid JSON"),
        (b"a: &a [1]\nb: *a\n", "aliases"),
        (b" " * (config.SIZE_MAX + 1), "larger than"),
    ],
)
def test_hostile_files_are_refused_with_a_message(app, raw, message):
    with app.app_context(), pytest.raises(ValidationError) as caught:
        config.import_file(raw)
    assert message in caught.value.message + json.dumps(caught.value.fields)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], None),
        ({"groups": []}, "upcron"),
        ({"upcron": 2}, "upcron"),
        ({"upcron": True}, "upcron"),
        ({"upcron": 1, "widgets": []}, "widgets"),
        ({"upcron": 1, "monitors": {}}, "monitors"),
        ({"upcron": 1, "monitors": ["api"]}, "monitors[0]"),
        ({"upcron": 1, "monitors": [{"name": "x"}]}, "monitors[0].slug"),
        ({"upcron": 1, "monitors": [{"slug": "a", "name": "A", "hue": 1}]}, "monitors[a].hue"),
        ({"upcron": 1, "monitors": [{"slug": "A B", "name": "x"}]}, "monitors[A B].slug"),
        (
            {"upcron": 1, "monitors": [{"slug": "a", "name": 5, "url": "https://a.test"}]},
            "monitors[a].name",
        ),
        (
            {"upcron": 1, "heartbeats": [{"slug": "a", "name": "a", "period_sec": "x"}]},
            "heartbeats[a].period_sec",
        ),
        (
            {"upcron": 1, "monitors": [{"slug": "a", "name": "A", "type": "heartbeat"}]},
            "monitors[a].type",
        ),
        ({"upcron": 1, "status_page": {"title": ["x"]}}, "status_page.title"),
        ({"upcron": 1, "status_page": {"colour": "red"}}, "status_page.colour"),
        ({"upcron": 1, "tags": [{"name": "a"}, {"name": "A"}]}, "tags[A].name"),
    ],
)
def test_wrong_shapes_and_types_are_refused_by_field(app, document, field):
    with app.app_context():
        with pytest.raises(ValidationError) as caught:
            config.apply(document)
        assert counts() == dict.fromkeys(counts(), 0)
    if field is not None:
        assert field in caught.value.fields, caught.value.fields


def test_yaml_round_trip(app):
    with app.app_context():
        populate()
        text = config.dump(config.export_document(with_secrets=True), "yaml")
        assert yaml.safe_load(text)["upcron"] == 1
        result = config.import_file(text.encode(), dry_run=True)
        assert result["applied"] is False and not result["plan"]["update"]
        assert not result["plan"]["create"]


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_export_then_import_restores_and_prints_the_plan(app, tmp_path):
    with app.app_context():
        populate()
    path = tmp_path / "upcron.yaml"
    result = run_cli(app, "export", "--format", "yaml", "--with-secrets", "--output", str(path))
    assert result.exit_code == 0, result.output
    assert "hunter2" in path.read_text()
    result = run_cli(app, "export")
    assert result.exit_code == 0 and "hunter2" not in result.output
    assert json.loads(result.output)["upcron"] == 1

    with app.app_context():
        delete_everything()
    result = run_cli(app, "import", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Create" in result.output and "monitors: api" in result.output
    assert "Dry run: nothing was changed." in result.output
    with app.app_context():
        assert counts()["Monitor"] == 0

    result = run_cli(app, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "Applied." in result.output
    with app.app_context():
        assert db.session.execute(sa.select(Monitor).where(Monitor.slug == "api")).scalar_one()

    result = run_cli(app, "import", str(path))
    assert result.exit_code == 0 and "Create" not in result.output
    assert "Unchanged" in result.output


def test_cli_import_lists_every_error_and_fails(app, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            {
                "upcron": 1,
                "monitors": [
                    {"slug": "a", "name": "A", "url": "nope"},
                    {"slug": "b", "name": "", "url": "https://b.test/"},
                ],
            }
        )
    )
    result = run_cli(app, "import", str(path))
    assert result.exit_code == 1
    assert "monitors[a].url" in result.output and "monitors[b].name" in result.output
    with app.app_context():
        assert counts()["Monitor"] == 0


# --- the API ---------------------------------------------------------------------------------


def test_api_export_scopes_and_secrets(app, api):
    with app.app_context():
        populate()
    reader = api.key("settings:read")
    writer = api.key("settings:read", "settings:write")
    assert api.get("/api/export").status_code == 401
    assert api.get("/api/export", api.key("monitors:read")).status_code == 403
    response = api.get("/api/export", reader)
    assert response.status_code == 200
    jsonschema.validate(response.json, api.get("/api/export.schema.json").json)
    assert "hunter2" not in response.get_data(as_text=True)
    assert api.get("/api/export?with_secrets=1", reader).status_code == 403
    response = api.get("/api/export?with_secrets=1", writer)
    assert response.status_code == 200 and "hunter2" in response.get_data(as_text=True)
    response = api.get("/api/export?format=yaml", reader)
    assert response.mimetype == "application/yaml"
    assert yaml.safe_load(response.get_data())["upcron"] == 1


def test_api_import_dry_run_then_apply(app, api):
    with app.app_context():
        populate()
        document = config.export_document(with_secrets=True)
        delete_everything()
    writer = api.key("settings:write")
    assert api.post("/api/import", api.key("settings:read"), json=document).status_code == 403
    response = api.post("/api/import?dry_run=1", writer, json=document)
    assert response.status_code == 200, response.json
    assert response.json["applied"] is False
    assert {"section": "monitors", "name": "api"} in response.json["plan"]["create"]
    with app.app_context():
        assert counts()["Monitor"] == 0

    response = api.post("/api/import", writer, json=document)
    assert response.status_code == 200 and response.json["applied"] is True
    response = api.post(
        "/api/import?dry_run=1",
        writer,
        data=config.dump(document, "yaml"),
        content_type="application/yaml",
    )
    assert response.status_code == 200, response.json
    assert response.json["plan"]["create"] == [] and response.json["plan"]["update"] == []

    assert api.post("/api/import?source=nope", writer, json=document).status_code == 422
    response = api.post("/api/import", writer, data=b"\x00", content_type="application/json")
    assert response.status_code in (400, 422)


def test_api_import_refuses_hostile_bodies(app, api):
    writer = api.key("settings:write")
    cases = [
        (b"{" + b" " * (config.SIZE_MAX + 1) + b"}", 413),
        (b'{"upcron": 1, "tags": [{"name": "\\ud800"}]}', 422),
        (b'{"upcron": 1, "tags": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 422),
        (b'{"upcron": 1, "tags": [{"name": 5}], "monitors": [{"slug": 1}]}', 422),
        (b"", 400),
    ]
    for body, status in cases:
        response = api.post("/api/import", writer, data=body, content_type="application/json")
        assert response.status_code == status, (body[:60], response.json)
        assert "error" in response.json
    response = api.post(
        "/api/import", writer, data=b"a: &x [1]\nb: *x\n", content_type="application/yaml"
    )
    assert response.status_code == 422 and "aliases" in response.json["error"]
    with app.app_context():
        assert counts() == dict.fromkeys(counts(), 0)
