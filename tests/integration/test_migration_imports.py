"""Migrating in one step: an Uptime Kuma database and a Healthchecks export go through the
same plan and import as a configuration document, from the shell and the API; what they
create answers its old URLs with only the host changed, and importing again changes nothing."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Monitor
from app.services import monitors
from tests import import_sources
from tests.conftest import run_cli


@pytest.fixture
def kuma_file(tmp_path):
    path = tmp_path / "kuma.db"
    path.write_bytes(import_sources.kuma_database(tmp_path, "1.23"))
    return path


def heartbeat_slugs(app) -> list[str]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Monitor.slug).where(Monitor.kind == "heartbeat").order_by(Monitor.slug)
        )
        return list(rows.scalars())


def test_an_uptime_kuma_database_is_planned_then_imported_and_its_push_url_keeps_working(
    app, client, kuma_file
):
    dry = run_cli(app, "import", "--from", "uptime-kuma", "--dry-run", str(kuma_file))
    assert dry.exit_code == 0, dry.output
    assert "Create (" in dry.output and "heartbeats: backup" in dry.output
    assert "Skipped (" in dry.output  # kinds Upcron lacks are listed, never dropped silently
    assert dry.output.rstrip().endswith("Dry run: nothing was changed.")
    assert heartbeat_slugs(app) == []

    applied = run_cli(app, "import", "--from", "uptime-kuma", str(kuma_file))
    assert applied.exit_code == 0 and applied.output.rstrip().endswith("Applied.")
    assert "backup" in heartbeat_slugs(app)
    with app.app_context():
        backup = monitors.list_monitors(kind="heartbeat", search="Backup").items[0]
        assert backup.push_token == import_sources.PUSH_TOKEN
    pushed = client.get(f"/api/push/{import_sources.PUSH_TOKEN}?status=up&msg=OK&ping=")
    assert pushed.json == {"ok": True}

    again = run_cli(app, "import", "--from", "uptime-kuma", str(kuma_file))
    assert again.exit_code == 0
    assert "Create (" not in again.output and "Update (" not in again.output


def test_a_healthchecks_export_keeps_each_checks_uuid_through_the_api(app, api, client):
    key = api.key("settings:write")
    raw = json.dumps(import_sources.healthchecks_checks()).encode()
    planned = api.post("/api/import?source=healthchecks&dry_run=1", key, data=raw)
    assert planned.status_code == 200, planned.json
    assert planned.json["applied"] is False
    assert {e["section"] for e in planned.json["plan"]["create"]} >= {"heartbeats"}
    assert planned.json["skipped"]  # the read-only check says why it cannot come
    assert heartbeat_slugs(app) == []

    done = api.post("/api/import?source=healthchecks", key, data=raw)
    assert done.status_code == 200 and done.json["applied"] is True
    assert client.get(f"/ping/{import_sources.HC_BACKUP}").get_data(as_text=True) == "OK"
    with app.app_context():
        assert monitors.get_by_code(import_sources.HC_BACKUP).state == "up"

    again = api.post("/api/import?source=healthchecks&dry_run=1", key, data=raw).json
    assert again["plan"]["create"] == [] and again["plan"]["update"] == []


def test_a_file_that_is_not_what_it_claims_is_refused_with_nothing_written(app, api):
    key = api.key("settings:write")
    refused = api.post("/api/import?source=uptime-kuma", key, data=b"not a database")
    assert refused.status_code == 422
    assert refused.json["error"].startswith("The file cannot be read as uptime-kuma")
    bad_json = api.post("/api/import?source=healthchecks", key, data=b"{")
    assert bad_json.status_code == 422
    assert api.post("/api/import?source=nothing", key, data=b"{}").status_code == 422
    assert heartbeat_slugs(app) == []
