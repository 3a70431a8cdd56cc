"""Monitors of kind tcp: the connection check against real listeners on loopback, the whole
pipeline through a real RQ worker, the target policy with a canary, and the API's rules."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.engine.tcp import ConnectRequest, connect
from app.extensions import db
from app.models import CheckResult, Incident, Monitor
from app.models.history import (
    FAILED_BLOCKED_TARGET,
    FAILED_CONNECT,
    FAILED_DNS,
    FAILED_TIMEOUT,
    FAILED_TLS,
    OK,
)
from app.services import monitors
from app.services.errors import ValidationError
from tests.conftest import page_text, post_form, swap_kind_fields
from tests.pipeline import check_results, run_due
from tests.targets import SilentListener, TargetServer, closed_port


@pytest.fixture
def listener():
    with SilentListener() as server:
        yield server


@pytest.fixture
def canary():
    """A listener that must never see a connection."""
    with SilentListener() as server:
        yield server
    assert server.accepted == 0


# --- the check itself --------------------------------------------------------------------


def test_a_listener_that_accepts_is_up_with_its_timings(listener):
    result = connect(ConnectRequest("127.0.0.1", listener.port, timeout_ms=2000))
    assert result.outcome == OK and result.error is None
    assert 0 <= result.dns_us <= result.connect_us <= result.total_us
    assert result.tls_us is None and result.status_code is None
    listener.close()
    assert listener.accepted == 1


def test_an_ipv6_listener_is_reached_by_its_bracketed_address():
    with SilentListener("::1") as server:
        result = connect(ConnectRequest("[::1]", server.port, timeout_ms=2000))
    assert result.outcome == OK, result.error
    assert result.final_url == f"[::1]:{server.port}"


def test_a_closed_port_is_refused():
    port = closed_port()
    result = connect(ConnectRequest("127.0.0.1", port, timeout_ms=2000))
    assert result.outcome == FAILED_CONNECT
    assert result.error == f"Connecting to 127.0.0.1 port {port} failed: Connection refused"


def test_a_full_backlog_that_never_completes_the_connection_times_out():
    """A listener that never accepts, with its backlog full: the kernel drops further SYNs,
    so the connection never completes."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as server:
        port = server.getsockname()[1]
        fillers = []
        try:
            for _ in range(4):  # more than a backlog of 0 holds
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                fillers.append(filler)
            time.sleep(0.1)
            started = time.monotonic()
            result = connect(ConnectRequest("127.0.0.1", port, timeout_ms=400))
            took = time.monotonic() - started
        finally:
            for filler in fillers:
                filler.close()
    assert result.outcome == FAILED_TIMEOUT, result.error
    assert result.error == f"Timed out after 400 ms while connecting to 127.0.0.1 port {port}"
    assert took < 2


def test_a_tls_handshake_that_never_ends_times_out(listener):
    started = time.monotonic()
    result = connect(ConnectRequest("127.0.0.1", listener.port, tls=True, timeout_ms=400))
    assert result.outcome == FAILED_TIMEOUT
    assert result.error == "Timed out after 400 ms while negotiating TLS with 127.0.0.1"
    assert result.connect_us is not None and result.tls_us is None
    assert time.monotonic() - started < 2


def test_tls_is_up_with_a_certificate_from_the_ca_bundle(ca, ca_bundle):
    with TargetServer(certificate=ca.issue_cert("localhost")) as server:
        request = ConnectRequest(
            "localhost", server.port, tls=True, timeout_ms=2000, ca_bundle=ca_bundle
        )
        result = connect(request, resolver=lambda host, port: ["127.0.0.1"])
    assert result.outcome == OK, result.error
    assert result.connect_us <= result.tls_us <= result.total_us
    assert server.server_names == ["localhost"]  # the host is the SNI


def test_tls_with_a_certificate_for_another_host_is_a_tls_failure(ca, ca_bundle):
    with TargetServer(certificate=ca.issue_cert("other.test")) as server:
        request = ConnectRequest(
            "localhost", server.port, tls=True, timeout_ms=2000, ca_bundle=ca_bundle
        )
        result = connect(request, resolver=lambda host, port: ["127.0.0.1"])
    assert result.outcome == FAILED_TLS
    assert result.error == (
        "Negotiating TLS with localhost failed: hostname mismatch: certificate is for other.test"
    )


def test_tls_with_an_unknown_issuer_is_a_tls_failure(ca):
    with TargetServer(certificate=ca.issue_cert("localhost")) as server:
        request = ConnectRequest("localhost", server.port, tls=True, timeout_ms=2000)
        result = connect(request, resolver=lambda host, port: ["127.0.0.1"])
    assert result.outcome == FAILED_TLS
    assert result.error.startswith("Negotiating TLS with localhost failed: unknown issuer: ")
    assert result.certificate.sans == ("localhost",)


def test_a_name_that_does_not_resolve_is_a_dns_failure(canary):
    def resolver(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    result = connect(ConnectRequest("db.invalid", canary.port, timeout_ms=1000), resolver)
    assert result.outcome == FAILED_DNS
    assert result.error == "Resolving db.invalid failed: Name or service not known"


def test_strict_refuses_localhost_before_connecting(canary):
    result = connect(ConnectRequest("localhost", canary.port, policy="strict", timeout_ms=1000))
    assert result.outcome == FAILED_BLOCKED_TARGET
    assert result.error.startswith("Refused by the target policy 'strict': ")
    assert "a loopback address (an address of localhost)" in result.error


# --- through the pipeline ------------------------------------------------------------------


def test_a_tcp_monitor_goes_down_when_the_port_closes_and_recovers(scheduler):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        monitor = monitors.create(
            {
                "name": "Database",
                "kind": "tcp",
                "host": "127.0.0.1",
                "port": port,
                "interval_sec": 10,
                "timeout_ms": 1000,
                "failure_threshold": 1,
            }
        )
        start = datetime.now(UTC)
        run_due(scheduler, start)
        assert db.session.get(Monitor, monitor.id).state == "up"
        [first] = check_results(monitor.id)
        assert first.outcome == OK and first.status_code is None
        assert 0 < first.connect_us <= first.total_us

    run_due(scheduler, start + timedelta(seconds=10))
    down = db.session.get(Monitor, monitor.id)
    refused = f"Connecting to 127.0.0.1 port {port} failed: Connection refused"
    assert down.state == "down" and down.last_error == refused
    [incident] = db.session.execute(sa.select(Incident).filter_by(monitor_id=monitor.id)).scalars()
    assert incident.title == "Database is down" and incident.cause == refused

    with socket.create_server(("127.0.0.1", port)):
        run_due(scheduler, start + timedelta(seconds=20))
    assert db.session.get(Monitor, monitor.id).state == "up"
    assert [r.outcome for r in check_results(monitor.id)] == [OK, FAILED_CONNECT, OK]


def test_strict_refuses_a_literal_when_saved_and_a_name_when_checked(app, scheduler, canary):
    app.config["TARGET_POLICY"] = "strict"
    with pytest.raises(ValidationError) as refused:
        monitors.create({"name": "Local", "kind": "tcp", "host": "127.0.0.1", "port": 22})
    assert refused.value.fields["host"].startswith("The target policy 'strict' refuses it: ")

    monitor = monitors.create(
        {"name": "Local", "kind": "tcp", "host": "localhost", "port": canary.port}
    )
    run_due(scheduler, datetime.now(UTC))
    [result] = check_results(monitor.id)
    assert result.outcome == FAILED_BLOCKED_TARGET
    assert result.error.startswith("Refused by the target policy 'strict': ")


# --- the API -----------------------------------------------------------------------------


@pytest.fixture
def key(api):
    return api.key("monitors:*")


def test_api_creates_reads_and_updates_a_tcp_monitor(api, key):
    created = api.post(
        "/api/monitors",
        key,
        json={"type": "tcp", "name": "SMTP", "host": "mail.example.com", "port": 465, "tls": True},
    )
    assert created.status_code == 201, created.json
    monitor = created.json
    assert (monitor["type"], monitor["host"], monitor["port"], monitor["tls"]) == (
        "tcp",
        "mail.example.com",
        465,
        True,
    )
    assert "url" not in monitor and "method" not in monitor
    assert monitor["timeout_ms"] == 10000 and monitor["state"] == "pending"
    path = f"/api/monitors/{monitor['id']}"
    assert api.get(path, key).json == monitor

    changed = api.put(path, key, json={"port": 587, "tls": False, "host": " mx.example.com "})
    assert changed.status_code == 200, changed.json
    assert (changed.json["host"], changed.json["port"], changed.json["tls"]) == (
        "mx.example.com",
        587,
        False,
    )
    listed = api.get("/api/monitors?type=tcp", key).json
    assert [m["id"] for m in listed] == [monitor["id"]]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"port": 0}, "port", "Must be a whole number from 1 to 65535."),
        ({"port": 70000}, "port", "Must be a whole number from 1 to 65535."),
        ({"port": "ssh"}, "port", "Must be a whole number from 1 to 65535."),
        ({"host": ""}, "host", "Enter the host name or IP address to connect to."),
        ({"host": "db server"}, "host", "A host cannot contain spaces or control characters."),
        ({"host": 5}, "host", "Must be text: a host name or an IP address."),
        ({"tls": "yes"}, "tls", "Must be true or false."),
        ({"tls": 1}, "tls", "Must be true or false."),
        ({"url": "https://example.com/"}, "url", "Not used by tcp monitors."),
    ],
)
def test_api_names_the_field_of_a_bad_tcp_monitor(api, key, body, field, message):
    base = {"type": "tcp", "name": "DB", "host": "db.example.com", "port": 5432}
    response = api.post("/api/monitors", key, json=base | body)
    assert response.status_code == 422
    assert response.json["fields"] == {field: message}


def test_api_requires_host_and_port_and_refuses_them_on_http_monitors(api, key):
    missing = api.post("/api/monitors", key, json={"type": "tcp", "name": "DB"})
    assert missing.status_code == 422
    assert set(missing.json["fields"]) == {"host", "port"}
    http = api.post(
        "/api/monitors",
        key,
        json={"name": "Web", "url": "https://example.com/", "host": "example.com", "port": 443},
    )
    assert http.status_code == 422
    assert http.json["fields"] == {
        "host": "Not used by http and keyword monitors.",
        "port": "Not used by http and keyword monitors.",
    }


def test_api_refuses_to_turn_an_http_monitor_into_a_tcp_one(api, key):
    monitor = api.post("/api/monitors", key, json={"name": "W", "url": "https://example.com/"})
    response = api.put(
        f"/api/monitors/{monitor.json['id']}",
        key,
        json={"type": "tcp", "host": "example.com", "port": 443},
    )
    assert response.status_code == 422
    assert response.json["fields"]["type"] == (
        "A monitor cannot change between HTTP and TCP checks; create a new monitor."
    )


# --- the dashboard -----------------------------------------------------------------------

TCP_FORM = {
    "name": "Postgres",
    "kind": "tcp",
    "host": "db.example.com",
    "port": "5432",
    "interval_sec": "30",
    "timeout_ms": "2000",
    "failure_threshold": "2",
    "recovery_threshold": "1",
}


def test_the_kind_select_swaps_in_the_fields_of_the_kind(logged_in):
    form = page_text(logged_in.get("/monitors/new"))
    assert 'hx-post="/monitors/kind-fields"' in form and 'hx-target="#kind-fields"' in form
    assert '<label for="url">URL</label>' in form and 'id="host"' not in form
    response = swap_kind_fields(logged_in, {"kind": "tcp", "host": "db.example.com"})
    assert response.status_code == 200
    fragment = page_text(response)
    assert "<html" not in fragment and fragment.strip().startswith('<div id="kind-fields"')
    assert '<label for="host">Host</label>' in fragment
    assert '<label for="port">Port</label>' in fragment
    assert '<label for="tls">Complete a TLS handshake too</label>' in fragment
    assert 'value="db.example.com"' in fragment  # what was typed is kept
    assert 'id="url"' not in fragment and 'id="expected_status"' not in fragment


def test_without_javascript_the_form_is_sent_again_for_the_kind(logged_in):
    response = post_form(
        logged_in, "/monitors/new", {"name": "DB", "kind": "tcp", "show_kind": "1"}
    )
    assert response.status_code == 200
    page = page_text(response)
    assert 'id="host"' in page and 'id="url"' not in page and 'id="host-error"' not in page
    with logged_in.application.app_context():
        assert monitors.list_monitors().total == 0


def test_create_edit_and_show_a_tcp_monitor_in_the_dashboard(logged_in):
    bad = post_form(logged_in, "/monitors/new", {**TCP_FORM, "port": "70000", "host": "a b"})
    assert bad.status_code == 422
    page = page_text(bad)
    assert 'id="port-error"' in page and "from 1 to 65535" in page
    assert 'id="host-error"' in page and 'id="url"' not in page

    created = post_form(logged_in, "/monitors/new", {**TCP_FORM, "tls": "y"})
    assert created.status_code == 302, page_text(created)
    with logged_in.application.app_context():
        [monitor] = monitors.list_monitors().items
        assert (monitor.kind, monitor.host, monitor.port, monitor.tls) == (
            "tcp",
            "db.example.com",
            5432,
            True,
        )
        assert monitor.url is None
        monitor_id = monitor.id
        now = datetime.now(UTC)
        db.session.add(  # a check as the tcp check records it: no status, no first byte
            CheckResult(
                monitor_id=monitor_id,
                planned_at=now,
                started_at=now,
                outcome=FAILED_TLS,
                error="Negotiating TLS with db.example.com failed: certificate verify failed",
                dns_us=400,
                connect_us=900,
                total_us=5000,
            )
        )
        db.session.commit()
    detail = page_text(logged_in.get(f"/monitors/{monitor_id}"))
    assert "<code>db.example.com:5432 over TLS</code>" in detail
    assert "Negotiating TLS with db.example.com failed" in detail
    listing = page_text(logged_in.get("/monitors/"))
    assert "TCP db.example.com:5432 over TLS" in listing
    assert "db.example.com:5432 over TLS" in page_text(logged_in.get("/"))

    edit = f"/monitors/{monitor_id}/edit"
    form = page_text(logged_in.get(edit))
    assert 'value="db.example.com"' in form and 'value="5432"' in form
    assert '<option selected value="tcp">' in form and 'value="http"' not in form
    saved = post_form(logged_in, edit, {**TCP_FORM, "port": "6432"})
    assert saved.status_code == 302, page_text(saved)
    with logged_in.application.app_context():
        monitor = monitors.get(monitor_id)
        assert (monitor.port, monitor.tls) == (6432, False)


def test_the_status_page_shows_a_public_tcp_monitor_without_its_host(app, client):
    with app.app_context():
        monitors.create(
            {
                "name": "Mail relay",
                "kind": "tcp",
                "host": "relay.internal.example",
                "port": 25,
                "public": True,
            }
        )
    page = page_text(client.get("/status"))
    assert "Mail relay" in page and "relay.internal.example" not in page
    for path in ("/api/status", "/compat/openuptimes/api/status"):
        answer = client.get(path)
        assert answer.status_code == 200 and "Mail relay" in page_text(answer)
        assert "relay.internal.example" not in page_text(answer)
