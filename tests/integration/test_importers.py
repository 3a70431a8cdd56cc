"""What the importers produce is accepted by the services as it stands: every group, tag,
channel, monitor and heartbeat of a converted Kuma database and Healthchecks export is
created through the same services the API uses, with the values the document gives, and a
heartbeat answers pings at the UUID the document carries."""

from __future__ import annotations

import json

import pytest

from app.engine import icmp
from app.extensions import db
from app.services import channels, groups, importers, monitors, tags
from tests import import_sources

ITEM_ONLY = ("slug", "type", "code", "channels", "group", "tags", "paused")


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def create_all(document: dict) -> dict[str, object]:
    """Create the document's items one by one through the services (no import plan: each
    item on its own, so a refusal names the item), returning the monitors by slug."""
    for group in document.get("groups", []):
        groups.create(group["name"])
    for tag in document.get("tags", []):
        tags.create(tag)
    channel_ids = {}
    for channel in document.get("channels", []):
        settings = {key: value for key, value in channel.items() if key != "type"}
        channel_ids[channel["name"]] = channels.create({"kind": channel["type"], **settings}).id
    created = {}
    for item in document.get("monitors", []) + document.get("heartbeats", []):
        if item.get("type") == "ping" and icmp.unavailable():
            continue  # this machine may not send ICMP; the service would refuse any ping monitor
        data = {key: value for key, value in item.items() if key not in ("slug", "type", "code")}
        data["kind"] = item.get("type", "heartbeat")
        if "channels" in item:
            data["channels"] = [channel_ids[name] for name in item["channels"]]
        monitor = monitors.create(data)
        if "code" in item:
            monitor.code = item["code"]
            db.session.commit()
        created[item["slug"]] = monitor
    return created


def assert_stored(document: dict, created: dict) -> None:
    """Each created monitor has the document's slug and every value the document gives."""
    for item in document.get("monitors", []) + document.get("heartbeats", []):
        monitor = created.get(item["slug"])
        if monitor is None:
            continue
        assert monitor.slug == item["slug"]
        assert monitor.kind == item.get("type", "heartbeat")
        for key, value in item.items():
            if key not in ITEM_ONLY:
                assert getattr(monitor, key) == value, (item["slug"], key)
        assert monitor.paused is item["paused"]
        assert (monitor.group.name if monitor.group else None) == item.get("group")
        assert [tag.name for tag in monitor.tags] == item["tags"]
        if "channels" in item:
            assert sorted(c.name for c in monitor.channels) == sorted(item["channels"])


@pytest.mark.parametrize("version", ["1.23", "2"])
def test_kuma_document_is_created_as_it_stands(ctx, tmp_path, version):
    raw = import_sources.kuma_database(tmp_path, version)
    document = importers.convert("uptime-kuma", raw).document
    created = create_all(document)
    assert_stored(document, created)
    assert {tag.name: tag.colour for tag, _ in tags.list_tags()} == {
        tag["name"]: tag["colour"] for tag in document["tags"]
    }
    by_name = {channel.name: channel for channel in channels.list_channels()}
    assert by_name["Ops mail"].config == {"addresses": ["ops@example.com", "oncall@example.com"]}
    assert (by_name["Ops mail"].is_default, by_name["Hook"].enabled) == (True, False)
    assert by_name["Chat"].config == {"url": "tgram://123456:ABCdef/-1001"}


def test_kuma_push_monitor_answers_pings_at_its_new_code(ctx, tmp_path):
    raw = import_sources.kuma_database(tmp_path, "2")
    document = importers.convert("uptime-kuma", raw).document
    created = create_all(document)
    code = created["backup"].code
    answer = ctx.test_client().get(f"/ping/{code}")
    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "OK")
    db.session.refresh(created["backup"])
    assert created["backup"].last_ping_at is not None


def test_healthchecks_document_is_created_and_pinged_at_the_same_uuid(ctx):
    raw = json.dumps(import_sources.healthchecks_checks()).encode()
    document = importers.convert("healthchecks", raw).document
    created = create_all(document)
    assert_stored(document, created)
    client = ctx.test_client()
    answer = client.post(f"/ping/{import_sources.HC_BACKUP}")
    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "OK")
    assert client.get(f"/ping/{import_sources.HC_NIGHTLY}/fail").status_code == 200
    db.session.refresh(created["nightly-report"])
    assert created["nightly-report"].state == "down"
