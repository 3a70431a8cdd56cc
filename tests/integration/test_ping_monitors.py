"""Monitors of kind ping: real ICMP echo to 127.0.0.1 and ::1, the whole pipeline through a
real RQ worker, the target policy with a canary that counts echo requests, the API's rules
and the dashboard's form. Nothing is sent beyond loopback: lost packets and a process that
may not send ICMP are made in a network namespace of their own (tests/icmp.py)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.engine.icmp import NO_ICMP, EchoRequest, ping, unavailable
from app.extensions import db
from app.models import CheckResult, Incident, Monitor
from app.models.history import FAILED_BLOCKED_TARGET, FAILED_PACKET_LOSS, OK
from app.services import monitors
from app.services.errors import ValidationError
from tests.conftest import page_text, post_form, swap_kind_fields
from tests.icmp import EchoCanary, isolated_unavailable_reason, run_isolated
from tests.pipeline import check_results, run_due


def _raw_sockets_allowed() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    except PermissionError:
        return False
    return True


needs_icmp = pytest.mark.skipif(
    unavailable() is not None,
    reason="this machine allows neither raw ICMP sockets (root or CAP_NET_RAW) nor datagram "
    "ICMP sockets (net.ipv4.ping_group_range): nothing can be pinged",
)
needs_canary = pytest.mark.skipif(
    not _raw_sockets_allowed(),
    reason="the canary that counts echo requests needs a raw ICMP socket (root or CAP_NET_RAW)",
)
_ISOLATION = isolated_unavailable_reason()
needs_isolation = pytest.mark.skipif(_ISOLATION is not None, reason=str(_ISOLATION))

# Run in a namespace of its own by run_isolated: pings loopback and says how it went.
_PING_LOOPBACK = """
import json, socket
from dataclasses import asdict
from app.engine.icmp import EchoRequest, ping, unavailable

def raw_allowed():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
        return True
    except PermissionError:
        return False

def check(host, **limits):
    result = asdict(ping(EchoRequest(host, **limits)))
    result.pop("body")
    return result

print(json.dumps({
    "raw_allowed": raw_allowed(),
    "unavailable": unavailable(),
    "v4": check("127.0.0.1", packets=3, timeout_ms=600),
    "v6": check("::1", packets=2, timeout_ms=400),
    "tolerant": check("127.0.0.1", packets=2, timeout_ms=200, max_loss_pct=100),
}))
"""
_NO_ECHO_REPLIES = {"net.ipv4.icmp_echo_ignore_all": "1", "net.ipv6.icmp.echo_ignore_all": "1"}


# --- the check itself --------------------------------------------------------------------


@needs_icmp
@pytest.mark.parametrize(
    ("host", "address"),
    [("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("[::1]", "::1"), ("localhost", None)],
)
def test_loopback_answers_every_echo_with_its_round_trip(host, address):
    result = ping(EchoRequest(host, packets=4, timeout_ms=2000))
    assert result.outcome == OK, result.error
    assert (result.packets_sent, result.packets_received) == (4, 4)
    assert 0 <= result.rtt_min_us <= result.rtt_avg_us <= result.rtt_max_us < result.total_us
    assert 0 <= result.dns_us <= result.first_byte_us <= result.total_us
    assert result.status_code is None and result.final_url == host


@needs_icmp
@needs_canary
@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_strict_refuses_loopback_and_the_address_is_never_pinged(address):
    with EchoCanary(address) as canary:
        allowed = ping(EchoRequest(address, packets=2, timeout_ms=1000))
        assert allowed.outcome == OK and canary.count() == 2  # the canary sees what is sent
        refused = ping(EchoRequest(address, packets=3, timeout_ms=1000, policy="strict"))
        by_name = ping(EchoRequest("localhost", packets=3, timeout_ms=1000, policy="strict"))
        assert canary.count() == 2
    assert refused.outcome == by_name.outcome == FAILED_BLOCKED_TARGET
    assert refused.error == (
        f"Refused by the target policy 'strict': {address} is a loopback address"
    )
    assert "a loopback address (an address of localhost)" in by_name.error
    assert refused.packets_sent is None and refused.rtt_avg_us is None


def test_a_host_that_is_no_host_is_refused_before_any_packet():
    result = ping(EchoRequest("not a host", timeout_ms=500))
    assert result.outcome == FAILED_BLOCKED_TARGET
    assert result.error == "'not a host' is neither an IP address nor a host name"


@needs_isolation
def test_unanswered_echoes_are_lost_within_the_timeout_of_the_whole_check():
    """Loopback that answers no echo: every packet waits its share of the one timeout."""
    seen = run_isolated(_PING_LOOPBACK, _NO_ECHO_REPLIES)
    v4, v6, tolerant = seen["v4"], seen["v6"], seen["tolerant"]
    assert v4["outcome"] == v6["outcome"] == FAILED_PACKET_LOSS
    assert v4["error"] == "100% of 3 echo requests to 127.0.0.1 lost, at most 0% allowed"
    assert v6["error"] == "100% of 2 echo requests to ::1 lost, at most 0% allowed"
    assert (v4["packets_sent"], v4["packets_received"], v4["rtt_avg_us"]) == (3, 0, None)
    assert 600_000 <= v4["total_us"] < 1_000_000  # one timeout, not three
    assert 400_000 <= v6["total_us"] < 700_000
    assert tolerant["outcome"] == OK and tolerant["packets_received"] == 0  # 100% allowed


@needs_isolation
def test_without_raw_sockets_datagram_icmp_sockets_ping():
    """What a server not running as root does, where the system lets its group ping."""
    seen = run_isolated(_PING_LOOPBACK, {"net.ipv4.ping_group_range": "0 0"}, raw_sockets=False)
    assert seen["raw_allowed"] is False and seen["unavailable"] is None
    for answer, packets in ((seen["v4"], 3), (seen["v6"], 2)):
        assert answer["outcome"] == OK, answer["error"]
        assert answer["packets_received"] == packets
        assert 0 <= answer["rtt_min_us"] <= answer["rtt_max_us"]


@needs_isolation
def test_when_neither_socket_is_allowed_a_ping_monitor_is_refused_saying_why(tmp_path):
    script = _REFUSED_IN_A_FRESH_APP.replace("{folder}", str(tmp_path))
    seen = run_isolated(script, {"net.ipv4.ping_group_range": "1 0"}, raw_sockets=False)
    assert seen["unavailable"] == NO_ICMP
    assert seen["check"] == ["failed_internal", NO_ICMP]
    assert seen["service"] == {"kind": NO_ICMP}
    assert seen["api"] == [422, {"type": NO_ICMP}]
    status, kind_error = seen["form"]
    assert status == 422 and kind_error == NO_ICMP  # inline, by the kind
    assert seen["monitors"] == 0  # nothing half-written


# Run by run_isolated where no ICMP socket is allowed: the check, and the answers of the
# service, the API and the dashboard's form to a new ping monitor, in an app of its own
# (a SQLite file and an embedded Redis on a unix socket, in the test's folder).
_REFUSED_IN_A_FRESH_APP = """
import json, re, subprocess
from flask_migrate import upgrade
from app import create_app
from app.engine.icmp import EchoRequest, ping, unavailable
from app.extensions import db, login_manager
from app.models import Monitor
from app.processes import embedded_redis_argv
from app.services import accounts, api_keys, monitors
from app.services.errors import ValidationError

result = ping(EchoRequest("127.0.0.1", timeout_ms=500))
redis = subprocess.Popen(embedded_redis_argv("{folder}/redis.sock", "{folder}"),
                         stdout=subprocess.DEVNULL)
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite:///{folder}/app.db",
                  "REDIS_URL": "unix://{folder}/redis.sock"})
new = {"name": "Gateway", "kind": "ping", "host": "127.0.0.1"}
try:
    with app.app_context():
        upgrade()
        try:
            monitors.create(new)
            service = {}
        except ValidationError as exc:
            service = exc.fields
        _, secret = api_keys.create({"name": "k", "scopes": ["*"]})
        user_id = accounts.create_admin("admin@example.com", "correct horse battery").get_id()
    client = app.test_client()
    answer = client.post("/api/monitors", headers={"Authorization": f"Bearer {secret}"},
                         json={**new, "type": new.pop("kind")})
    with app.test_request_context():
        identifier = login_manager._session_identifier_generator()
    with client.session_transaction() as session:
        session.update({"_user_id": user_id, "_fresh": True, "_id": identifier})
    page = client.get("/monitors/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = client.post("/monitors/new", data={**new, "kind": "ping", "csrf_token": token})
    kind_error = re.search(r'id="kind-error">([^<]*)<', form.get_data(as_text=True))
    with app.app_context():
        count = db.session.query(Monitor).count()
finally:
    redis.terminate()
    redis.wait(10)
print(json.dumps({
    "unavailable": unavailable(),
    "check": [result.outcome, result.error],
    "service": service,
    "api": [answer.status_code, answer.json["fields"]],
    "form": [form.status_code, kind_error and kind_error.group(1)],
    "monitors": count,
}))
"""


# --- through the pipeline ------------------------------------------------------------------


@needs_icmp
def test_a_ping_monitor_records_round_trips_goes_down_when_refused_and_recovers(app, scheduler):
    monitor = monitors.create(
        {
            "name": "Gateway",
            "kind": "ping",
            "host": "::1",
            "packets": 3,
            "interval_sec": 10,
            "timeout_ms": 1000,
            "failure_threshold": 1,
        }
    )
    assert (monitor.packets, monitor.max_loss_pct) == (3, 0)
    start = datetime.now(UTC)
    run_due(scheduler, start)
    assert db.session.get(Monitor, monitor.id).state == "up"
    [first] = check_results(monitor.id)
    assert first.outcome == OK and first.status_code is None and first.error is None
    assert (first.packets_sent, first.packets_received) == (3, 3)
    assert 0 <= first.rtt_min_us <= first.rtt_avg_us <= first.rtt_max_us <= first.total_us

    # The policy changes under a saved monitor: the next check is refused before any packet.
    app.config["TARGET_POLICY"] = "strict"
    run_due(scheduler, start + timedelta(seconds=10))
    down = db.session.get(Monitor, monitor.id)
    refused = "Refused by the target policy 'strict': ::1 is a loopback address"
    assert down.state == "down" and down.last_error == refused
    [incident] = db.session.execute(sa.select(Incident).filter_by(monitor_id=monitor.id)).scalars()
    assert incident.title == "Gateway is down" and incident.cause == refused

    app.config["TARGET_POLICY"] = "default"
    run_due(scheduler, start + timedelta(seconds=20))
    assert db.session.get(Monitor, monitor.id).state == "up"
    results = check_results(monitor.id)
    assert [r.outcome for r in results] == [OK, FAILED_BLOCKED_TARGET, OK]
    assert results[1].packets_sent is None and results[2].packets_received == 3


@needs_icmp
@needs_canary
def test_strict_refuses_a_loopback_literal_when_saved_and_a_name_when_checked(app, scheduler):
    app.config["TARGET_POLICY"] = "strict"
    with pytest.raises(ValidationError) as refused:
        monitors.create({"name": "Local", "kind": "ping", "host": "127.0.0.1"})
    assert refused.value.fields["host"] == (
        "The target policy 'strict' refuses it: 127.0.0.1 is a loopback address."
    )
    monitor = monitors.create({"name": "Local", "kind": "ping", "host": "localhost"})
    with EchoCanary("127.0.0.1") as v4, EchoCanary("::1") as v6:
        run_due(scheduler, datetime.now(UTC))
    [result] = check_results(monitor.id)
    assert result.outcome == FAILED_BLOCKED_TARGET
    assert "a loopback address (an address of localhost)" in result.error
    assert v4.requests == v6.requests == 0


def test_the_migration_goes_down_and_up_keeping_other_monitors(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        kept = monitors.create({"name": "N", "kind": "dns", "host": "example.com"})
        db.session.remove()
        downgrade(revision="0009")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("monitors")}
        assert not columns & {"packets", "max_loss_pct"}
        result_columns = {c["name"] for c in sa.inspect(db.engine).get_columns("check_results")}
        assert "rtt_avg_us" not in result_columns and "packets_sent" not in result_columns
        upgrade()
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        assert monitors.get(kept.id).record_type == "A"


# --- the API -----------------------------------------------------------------------------


@pytest.fixture
def key(api):
    return api.key("monitors:*")


@needs_icmp
def test_api_creates_reads_and_updates_a_ping_monitor(api, key):
    created = api.post(
        "/api/monitors",
        key,
        json={"type": "ping", "name": "Router", "host": "gw.example.com", "packets": 5},
    )
    assert created.status_code == 201, created.json
    monitor = created.json
    assert {k: monitor[k] for k in ("type", "host", "packets", "max_loss_pct")} == {
        "type": "ping",
        "host": "gw.example.com",
        "packets": 5,
        "max_loss_pct": 0,
    }
    for other in ("url", "port", "tls", "record_type", "resolver", "expected_values"):
        assert other not in monitor
    path = f"/api/monitors/{monitor['id']}"
    assert api.get(path, key).json == monitor

    changed = api.put(path, key, json={"packets": "10", "max_loss_pct": 20, "host": "[::1]"})
    assert changed.status_code == 200, changed.json
    assert (changed.json["packets"], changed.json["max_loss_pct"]) == (10, 20)
    assert changed.json["host"] == "::1"
    listed = api.get("/api/monitors?type=ping", key).json
    assert [m["id"] for m in listed] == [monitor["id"]]

    plain = api.post("/api/monitors", key, json={"type": "ping", "name": "P", "host": "::1"})
    assert (plain.json["packets"], plain.json["max_loss_pct"]) == (3, 0)


@needs_icmp
def test_api_check_results_carry_the_echoes(api, key, app):
    created = api.post(
        "/api/monitors", key, json={"type": "ping", "name": "L", "host": "127.0.0.1"}
    ).json
    with app.app_context():
        [outcome] = monitors.run_checks([created["id"]])
        assert outcome.outcome == OK, outcome.error
    [check] = api.get(f"/api/monitors/{created['id']}/history", key).json
    echo = check["echo"]
    assert (echo["packets_sent"], echo["packets_received"], echo["loss_pct"]) == (3, 3, 0.0)
    assert 0 <= echo["rtt_min_us"] <= echo["rtt_avg_us"] <= echo["rtt_max_us"]
    assert check["timings"]["total_us"] >= echo["rtt_max_us"]


RANGE_OF_PACKETS = "Must be a whole number from 1 to 10."
RANGE_OF_LOSS = "Must be a whole number from 0 to 100."


@needs_icmp
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"packets": 0}, "packets", RANGE_OF_PACKETS),
        ({"packets": 11}, "packets", RANGE_OF_PACKETS),
        ({"packets": "three"}, "packets", RANGE_OF_PACKETS),
        ({"packets": True}, "packets", RANGE_OF_PACKETS),
        ({"packets": 2.5}, "packets", RANGE_OF_PACKETS),
        ({"max_loss_pct": -1}, "max_loss_pct", RANGE_OF_LOSS),
        ({"max_loss_pct": 101}, "max_loss_pct", RANGE_OF_LOSS),
        ({"max_loss_pct": "half"}, "max_loss_pct", RANGE_OF_LOSS),
        ({"max_loss_pct": None}, "max_loss_pct", RANGE_OF_LOSS),
        ({"host": ""}, "host", "Enter the host name or IP address to connect to."),
        ({"host": "gw example"}, "host", "A host cannot contain spaces or control characters."),
        (
            {"host": "gw..example"},
            "host",
            "'gw..example' is neither an IP address nor a host name.",
        ),
        ({"host": 5}, "host", "Must be text: a host name or an IP address."),
        (
            {"host": "169.254.169.254"},
            "host",
            "The target policy 'default' refuses it: 169.254.169.254 is a link-local address.",
        ),
        ({"port": 7}, "port", "Not used by ping monitors."),
        ({"url": "https://example.com/"}, "url", "Not used by ping monitors."),
        ({"record_type": "A"}, "record_type", "Not used by ping monitors."),
    ],
)
def test_api_names_the_field_of_a_bad_ping_monitor(api, key, body, field, message):
    base = {"type": "ping", "name": "Gateway", "host": "gw.example.com"}
    response = api.post("/api/monitors", key, json=base | body)
    assert response.status_code == 422
    assert response.json["fields"] == {field: message}
    assert api.get("/api/monitors", key).json == []


def test_api_refuses_ping_fields_on_other_kinds_and_a_change_of_kind(api, key):
    missing = api.post("/api/monitors", key, json={"type": "ping", "name": "N"})
    assert missing.status_code == 422
    assert missing.json["fields"]["host"] == "Enter the host name or IP address to connect to."
    http = api.post(
        "/api/monitors", key, json={"name": "W", "url": "https://example.com/", "packets": 3}
    )
    assert http.json["fields"] == {"packets": "Not used by http and keyword monitors."}
    tcp = api.post(
        "/api/monitors",
        key,
        json={"type": "tcp", "name": "T", "host": "a.example", "port": 1, "max_loss_pct": 5},
    )
    assert tcp.json["fields"] == {"max_loss_pct": "Not used by tcp monitors."}
    dns = api.post("/api/monitors", key, json={"type": "dns", "name": "D", "host": "a.example"})
    turned = api.put(f"/api/monitors/{dns.json['id']}", key, json={"type": "ping"})
    assert turned.status_code == 422
    assert turned.json["fields"]["type"] == (
        "A monitor cannot change between DNS and PING checks; create a new monitor."
    )


# --- the dashboard -----------------------------------------------------------------------

PING_FORM = {
    "name": "Core switch",
    "kind": "ping",
    "host": "switch.example.com",
    "packets": "5",
    "max_loss_pct": "20",
    "interval_sec": "30",
    "timeout_ms": "2000",
    "failure_threshold": "2",
    "recovery_threshold": "1",
}


def test_the_kind_select_swaps_in_only_the_fields_of_a_ping_monitor(logged_in):
    form = page_text(logged_in.get("/monitors/new"))
    assert '<option value="ping">' in form and 'id="packets"' not in form
    response = swap_kind_fields(logged_in, {"kind": "ping", "host": "switch.example.com"})
    assert response.status_code == 200
    fragment = page_text(response)
    assert fragment.strip().startswith('<div id="kind-fields"')
    for label in ("Host", "Packets", "Loss allowed (%)"):
        assert f">{label}</label>" in fragment
    assert "The host name or IP address to ping" in fragment
    assert 'value="switch.example.com"' in fragment and 'value="3"' in fragment
    for other in ("url", "port", "tls", "record_type", "resolver", "expected_status"):
        assert f'id="{other}"' not in fragment


@needs_icmp
def test_create_edit_and_show_a_ping_monitor_in_the_dashboard(logged_in):
    bad = post_form(logged_in, "/monitors/new", {**PING_FORM, "packets": "11"})
    assert bad.status_code == 422
    page = page_text(bad)
    assert 'id="packets-error"' in page and RANGE_OF_PACKETS in page and 'id="url"' not in page

    created = post_form(logged_in, "/monitors/new", PING_FORM)
    assert created.status_code == 302, page_text(created)
    with logged_in.application.app_context():
        [monitor] = monitors.list_monitors().items
        assert (monitor.kind, monitor.host, monitor.packets, monitor.max_loss_pct) == (
            "ping",
            "switch.example.com",
            5,
            20,
        )
        assert monitor.url is None and monitor.port is None and monitor.record_type is None
        monitor_id = monitor.id
        now = datetime.now(UTC)
        db.session.add(  # a check as the ping check records it
            CheckResult(
                monitor_id=monitor_id,
                planned_at=now,
                started_at=now,
                outcome=FAILED_PACKET_LOSS,
                error="40% of 5 echo requests to switch.example.com lost, at most 20% allowed",
                dns_us=300,
                first_byte_us=900,
                total_us=1_500_000,
                packets_sent=5,
                packets_received=3,
                rtt_min_us=410,
                rtt_avg_us=1250,
                rtt_max_us=2600,
            )
        )
        db.session.commit()
    detail = page_text(logged_in.get(f"/monitors/{monitor_id}"))
    assert "<code>switch.example.com</code>" in detail
    assert "5 echo requests within 2000 ms, up when at most 20% are lost" in detail
    assert "40% of 5 echo requests to switch.example.com lost" in detail
    assert "3 of 5" in detail and ">40%<" in detail
    for shown in ("0.41 ms", "1.25 ms", "2.60 ms"):
        assert shown in detail
    target = "switch.example.com, 5 packets, at most 20% lost"
    assert f"PING {target}" in page_text(logged_in.get("/monitors/"))
    assert target in page_text(logged_in.get("/"))

    edit = f"/monitors/{monitor_id}/edit"
    form = page_text(logged_in.get(edit))
    assert 'value="switch.example.com"' in form and 'value="5"' in form and 'value="20"' in form
    assert '<option selected value="ping">' in form and 'value="http"' not in form
    saved = post_form(logged_in, edit, {**PING_FORM, "packets": "1", "max_loss_pct": "0"})
    assert saved.status_code == 302, page_text(saved)
    with logged_in.application.app_context():
        monitor = monitors.get(monitor_id)
        assert (monitor.packets, monitor.max_loss_pct) == (1, 0)


@needs_icmp
def test_the_status_page_shows_a_public_ping_monitor_without_its_host(app, client):
    with app.app_context():
        monitors.create(
            {"name": "Uplink", "kind": "ping", "host": "uplink.internal.example", "public": True}
        )
    page = page_text(client.get("/status"))
    assert "Uplink" in page and "uplink.internal.example" not in page
    for path in ("/api/status", "/compat/openuptimes/api/status"):
        answer = client.get(path)
        assert answer.status_code == 200 and "Uplink" in page_text(answer)
        assert "uplink.internal.example" not in page_text(answer)
