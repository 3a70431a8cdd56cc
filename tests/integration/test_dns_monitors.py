"""Monitors of kind dns: the query against a real DNS server on loopback (dnslib's), the
whole pipeline through a real RQ worker, the target policy with canaries, the API's rules
and the dashboard's form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.engine.dns_check import DnsRequest, query
from app.extensions import db
from app.models import CheckResult, Incident, Monitor
from app.models.history import (
    FAILED_BLOCKED_TARGET,
    FAILED_DNS,
    FAILED_DNS_ANSWER,
    FAILED_TIMEOUT,
    OK,
)
from app.services import monitors
from app.services.errors import ValidationError
from tests.conftest import csrf_token, page_text, post_form, swap_kind_fields
from tests.dns_server import DnsServer, SilentResolver
from tests.pipeline import check_results, run_due
from tests.targets import SilentListener

ZONE = """
example.test. 60 A 192.0.2.10
example.test. 60 A 192.0.2.11
example.test. 60 AAAA 2001:db8::10
example.test. 60 MX 10 Mail.Example.Test.
example.test. 60 TXT "v=spf1 -all"
www.example.test. 60 CNAME example.test.
"""


@pytest.fixture
def server():
    with DnsServer(ZONE) as dns_server:
        yield dns_server


def ask(server, host, record_type="A", *expected, timeout_ms=2000):
    return query(DnsRequest(host, record_type, server.resolver, expected, timeout_ms))


# --- the check itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "record_type", "expected"),
    [
        ("example.test", "A", ("192.0.2.11", "192.0.2.10")),
        ("example.test", "AAAA", ("2001:DB8::10",)),
        ("example.test", "MX", ("10 mail.example.test.",)),
        ("example.test", "MX", ("mail.example.test",)),  # the exchange alone
        ("EXAMPLE.test", "TXT", ("V=SPF1 -all",)),
        ("www.example.test", "CNAME", ("example.test.",)),
        ("www.example.test", "A", ("192.0.2.10",)),  # through the alias
        ("example.test", "A", ()),  # any answer will do
    ],
)
def test_an_answer_with_every_expected_value_is_up(server, host, record_type, expected):
    result = ask(server, host, record_type, *expected)
    assert result.outcome == OK, result.error
    assert result.error is None and result.status_code is None
    assert 0 <= result.dns_us <= result.first_byte_us <= result.total_us


def test_a_wrong_answer_is_down_naming_what_came_back(server):
    result = ask(server, "example.test", "A", "192.0.2.10", "10.0.0.1")
    assert result.outcome == FAILED_DNS_ANSWER
    assert result.error == (
        "A example.test answered 192.0.2.10, 192.0.2.11, expected 192.0.2.10, 10.0.0.1"
    )
    txt = ask(server, "example.test", "TXT", "v=spf1 ~all")
    assert txt.error == "TXT example.test answered v=spf1 -all, expected v=spf1 ~all"


def test_nxdomain_servfail_and_no_answer_are_told_apart(server):
    missing = ask(server, "nowhere.test")
    assert (missing.outcome, missing.error) == (FAILED_DNS, "NXDOMAIN: nowhere.test does not exist")
    no_answer = ask(server, "example.test", "NS")
    assert (no_answer.outcome, no_answer.error) == (
        FAILED_DNS,
        "No answer: example.test has no NS records",
    )
    server.set_zone(ZONE, failing=("example.test.",))
    failing = ask(server, "example.test")
    assert failing.outcome == FAILED_DNS
    assert failing.error == (
        f"SERVFAIL: the resolver {server.resolver} failed to answer for example.test"
    )


def test_a_resolver_that_never_answers_times_out():
    with SilentResolver() as silent:
        result = query(DnsRequest("example.test", "A", silent.resolver, timeout_ms=300))
    assert result.outcome == FAILED_TIMEOUT
    assert result.error == f"Timed out after 300 ms while querying {silent.resolver}"
    assert silent.received == 1
    assert 300_000 <= result.total_us < 1_000_000


def test_a_truncated_answer_is_asked_again_over_tcp(server):
    long_text = " ".join(f'"{c * 200}"' for c in "abcde")
    server.set_zone(f"big.test. 60 TXT {long_text}")
    result = ask(server, "big.test", "TXT", "".join(c * 200 for c in "abcde"))
    assert result.outcome == OK, result.error


def test_strict_refuses_a_loopback_resolver_before_any_packet():
    with SilentResolver() as udp_canary, SilentListener() as tcp_canary:
        result = query(
            DnsRequest("example.test", "A", udp_canary.resolver, timeout_ms=500, policy="strict")
        )
        tcp = query(
            DnsRequest(
                "example.test", "A", f"127.0.0.1:{tcp_canary.port}", timeout_ms=500, policy="strict"
            )
        )
    assert result.outcome == tcp.outcome == FAILED_BLOCKED_TARGET
    assert result.error == "Refused by the target policy 'strict': 127.0.0.1 is a loopback address"
    assert udp_canary.received == 0 and tcp_canary.accepted == 0


# --- through the pipeline ------------------------------------------------------------------


def test_a_dns_monitor_goes_down_on_a_wrong_answer_and_recovers(scheduler, server):
    monitor = monitors.create(
        {
            "name": "Web address",
            "kind": "dns",
            "host": "example.test",
            "record_type": "a",
            "resolver": server.resolver,
            "expected_values": ["192.0.2.10"],
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
    assert 0 < first.first_byte_us <= first.total_us

    server.set_zone("example.test. 60 A 203.0.113.5")
    run_due(scheduler, start + timedelta(seconds=10))
    down = db.session.get(Monitor, monitor.id)
    wrong = "A example.test answered 203.0.113.5, expected 192.0.2.10"
    assert down.state == "down" and down.last_error == wrong
    [incident] = db.session.execute(sa.select(Incident).filter_by(monitor_id=monitor.id)).scalars()
    assert incident.title == "Web address is down" and incident.cause == wrong

    server.set_zone(ZONE)
    run_due(scheduler, start + timedelta(seconds=20))
    assert db.session.get(Monitor, monitor.id).state == "up"
    assert [r.outcome for r in check_results(monitor.id)] == [OK, FAILED_DNS_ANSWER, OK]


def test_strict_refuses_a_loopback_resolver_when_saved_and_when_checked(app, scheduler):
    with SilentResolver() as canary:
        monitor = monitors.create(
            {"name": "Local", "kind": "dns", "host": "example.test", "resolver": canary.resolver}
        )
        app.config["TARGET_POLICY"] = "strict"
        with pytest.raises(ValidationError) as refused:
            monitors.create(
                {"name": "Other", "kind": "dns", "host": "example.test", "resolver": "127.0.0.1"}
            )
        assert refused.value.fields["resolver"] == (
            "The target policy 'strict' refuses it: 127.0.0.1 is a loopback address."
        )
        run_due(scheduler, datetime.now(UTC))
    [result] = check_results(monitor.id)
    assert result.outcome == FAILED_BLOCKED_TARGET
    assert result.error.startswith("Refused by the target policy 'strict': ")
    assert canary.received == 0


def test_the_migration_goes_down_and_up_keeping_other_monitors(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        kept = monitors.create({"name": "DB", "kind": "tcp", "host": "db.example", "port": 5432})
        db.session.remove()
        downgrade(revision="0008")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("monitors")}
        assert not columns & {"record_type", "resolver", "expected_values"}
        upgrade()
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        monitor = monitors.create({"name": "N", "kind": "dns", "host": "example.com"})
        assert (monitor.record_type, monitor.expected_values) == ("A", [])
        assert monitors.get(kept.id).host == "db.example"


# --- the API -----------------------------------------------------------------------------


@pytest.fixture
def key(api):
    return api.key("monitors:*")


def test_api_creates_reads_and_updates_a_dns_monitor(api, key):
    created = api.post(
        "/api/monitors",
        key,
        json={
            "type": "dns",
            "name": "Mail exchanger",
            "host": "example.com",
            "record_type": "mx",
            "resolver": "[2001:db8::53]:5353",
            "expected_values": ["10 mx.example.com"],
        },
    )
    assert created.status_code == 201, created.json
    monitor = created.json
    assert {k: monitor[k] for k in ("type", "host", "record_type", "resolver")} == {
        "type": "dns",
        "host": "example.com",
        "record_type": "MX",
        "resolver": "[2001:db8::53]:5353",
    }
    assert monitor["expected_values"] == ["10 mx.example.com"]
    assert "url" not in monitor and "port" not in monitor and "tls" not in monitor
    path = f"/api/monitors/{monitor['id']}"
    assert api.get(path, key).json == monitor

    changed = api.put(path, key, json={"resolver": "", "expected_values": [], "record_type": "A"})
    assert changed.status_code == 200, changed.json
    assert (changed.json["resolver"], changed.json["expected_values"]) == (None, [])
    assert changed.json["record_type"] == "A"
    listed = api.get("/api/monitors?type=dns", key).json
    assert [m["id"] for m in listed] == [monitor["id"]]

    plain = api.post("/api/monitors", key, json={"type": "dns", "name": "N", "host": "a.example"})
    assert plain.status_code == 201, plain.json
    assert (plain.json["record_type"], plain.json["resolver"], plain.json["expected_values"]) == (
        "A",
        None,
        [],
    )


RECORD_TYPES_MESSAGE = "Choose one of A, AAAA, CNAME, MX, NS, TXT, SOA, SRV, CAA, PTR."


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"record_type": "AXFR"}, "record_type", RECORD_TYPES_MESSAGE),
        ({"record_type": 1}, "record_type", RECORD_TYPES_MESSAGE),
        (
            {"resolver": "8.8.8.8:99999"},
            "resolver",
            "The resolver's port must be a whole number from 1 to 65535.",
        ),
        (
            {"resolver": "dns.google"},
            "resolver",
            "Enter the resolver's IP address, optionally with a port: 192.0.2.53, "
            "192.0.2.53:5353 or [2001:db8::53]:53.",
        ),
        ({"resolver": 8}, "resolver", "Must be text: an IP address, optionally with a port."),
        (
            {"expected_values": "192.0.2.1"},
            "expected_values",
            'Must be a list of text values, such as ["192.0.2.10"].',
        ),
        (
            {"expected_values": ["192.0.2.1", 5]},
            "expected_values",
            'Must be a list of text values, such as ["192.0.2.10"].',
        ),
        ({"host": ""}, "host", "Enter the name to look up, such as example.com."),
        ({"host": "a b"}, "host", "A name cannot contain spaces or control characters."),
        ({"url": "https://example.com/"}, "url", "Not used by dns monitors."),
        ({"port": 53}, "port", "Not used by dns monitors."),
        ({"tls": True}, "tls", "Not used by dns monitors."),
        ({"keyword": "ok"}, "keyword", "Not used by dns monitors."),
    ],
)
def test_api_names_the_field_of_a_bad_dns_monitor(api, key, body, field, message):
    base = {"type": "dns", "name": "Name", "host": "example.com"}
    response = api.post("/api/monitors", key, json=base | body)
    assert response.status_code == 422
    assert response.json["fields"] == {field: message}


def test_api_refuses_dns_fields_on_other_kinds_and_a_change_of_kind(api, key):
    missing = api.post("/api/monitors", key, json={"type": "dns", "name": "N"})
    assert missing.status_code == 422 and set(missing.json["fields"]) == {"host"}
    http = api.post(
        "/api/monitors",
        key,
        json={"name": "W", "url": "https://example.com/", "record_type": "A"},
    )
    assert http.json["fields"] == {"record_type": "Not used by http and keyword monitors."}
    tcp = api.post(
        "/api/monitors",
        key,
        json={"type": "tcp", "name": "T", "host": "a.example", "port": 1, "resolver": "1.1.1.1"},
    )
    assert tcp.json["fields"] == {"resolver": "Not used by tcp monitors."}
    dns = api.post("/api/monitors", key, json={"type": "dns", "name": "D", "host": "a.example"})
    turned = api.put(f"/api/monitors/{dns.json['id']}", key, json={"type": "tcp", "port": 53})
    assert turned.status_code == 422
    assert turned.json["fields"]["type"] == (
        "A monitor cannot change between DNS and TCP checks; create a new monitor."
    )


# --- the dashboard -----------------------------------------------------------------------

DNS_FORM = {
    "name": "Apex",
    "kind": "dns",
    "host": "example.com",
    "record_type": "AAAA",
    "resolver": "192.0.2.53:5353",
    "expected_values": "2001:db8::1\r\n\r\n2001:db8::2\r\n",
    "interval_sec": "30",
    "timeout_ms": "2000",
    "failure_threshold": "2",
    "recovery_threshold": "1",
}


def test_the_kind_select_swaps_in_the_fields_of_a_dns_monitor(logged_in):
    form = page_text(logged_in.get("/monitors/new"))
    assert '<option value="dns">' in form and 'id="record_type"' not in form
    response = swap_kind_fields(logged_in, {"kind": "dns", "host": "example.com"})
    assert response.status_code == 200
    fragment = page_text(response)
    assert fragment.strip().startswith('<div id="kind-fields"')
    for label in ("Host", "Record type", "Resolver", "Expected values"):
        assert f">{label}</label>" in fragment
    assert "The name to look up, such as example.com." in fragment
    assert 'value="example.com"' in fragment
    assert 'id="url"' not in fragment and 'id="port"' not in fragment and 'id="tls"' not in fragment


def test_without_javascript_and_live_the_dns_fields_are_shown_and_judged(logged_in):
    response = post_form(logged_in, "/monitors/new", {"name": "N", "kind": "dns", "show_kind": "1"})
    assert response.status_code == 200
    page = page_text(response)
    assert 'id="record_type"' in page and 'id="url"' not in page
    token = csrf_token(logged_in, "/monitors/new")
    live = logged_in.post(
        "/monitors/validate/resolver",
        data={**DNS_FORM, "resolver": "dns.google"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert live.status_code == 200
    assert 'id="resolver-error"' in page_text(live)
    assert "Enter the resolver&#39;s IP address" in page_text(live)
    with logged_in.application.app_context():
        assert monitors.list_monitors().total == 0


def test_create_edit_and_show_a_dns_monitor_in_the_dashboard(logged_in):
    bad = post_form(logged_in, "/monitors/new", {**DNS_FORM, "resolver": "8.8.8.8:99999"})
    assert bad.status_code == 422
    page = page_text(bad)
    assert 'id="resolver-error"' in page and "from 1 to 65535" in page and 'id="url"' not in page

    created = post_form(logged_in, "/monitors/new", DNS_FORM)
    assert created.status_code == 302, page_text(created)
    with logged_in.application.app_context():
        [monitor] = monitors.list_monitors().items
        assert (monitor.kind, monitor.host, monitor.record_type, monitor.resolver) == (
            "dns",
            "example.com",
            "AAAA",
            "192.0.2.53:5353",
        )
        assert monitor.expected_values == ["2001:db8::1", "2001:db8::2"]
        assert monitor.url is None and monitor.port is None
        monitor_id = monitor.id
        now = datetime.now(UTC)
        db.session.add(
            CheckResult(
                monitor_id=monitor_id,
                planned_at=now,
                started_at=now,
                outcome=FAILED_DNS,
                error="NXDOMAIN: example.com does not exist",
                dns_us=100,
                first_byte_us=900,
                total_us=1000,
            )
        )
        db.session.commit()
    shown = "AAAA example.com via 192.0.2.53:5353"
    detail = page_text(logged_in.get(f"/monitors/{monitor_id}"))
    assert f"<code>{shown}</code>" in detail
    assert "NXDOMAIN: example.com does not exist" in detail
    assert "holds 2001:db8::1, 2001:db8::2" in detail
    assert f"DNS {shown}" in page_text(logged_in.get("/monitors/"))
    assert shown in page_text(logged_in.get("/"))

    edit = f"/monitors/{monitor_id}/edit"
    form = page_text(logged_in.get(edit))
    assert 'value="192.0.2.53:5353"' in form and "2001:db8::1\n2001:db8::2" in form
    assert '<option selected value="AAAA">' in form
    saved = post_form(logged_in, edit, {**DNS_FORM, "resolver": "", "expected_values": ""})
    assert saved.status_code == 302, page_text(saved)
    with logged_in.application.app_context():
        monitor = monitors.get(monitor_id)
        assert (monitor.resolver, monitor.expected_values) == (None, [])
    assert "AAAA example.com via the system&#39;s resolvers" in page_text(
        logged_in.get(f"/monitors/{monitor_id}")
    )


def test_the_status_page_shows_a_public_dns_monitor_without_its_name(app, client):
    with app.app_context():
        monitors.create(
            {"name": "Resolver", "kind": "dns", "host": "vpn.internal.example", "public": True}
        )
    page = page_text(client.get("/status"))
    assert "Resolver" in page and "vpn.internal.example" not in page
    for path in ("/api/status", "/compat/openuptimes/api/status"):
        answer = client.get(path)
        assert answer.status_code == 200 and "Resolver" in page_text(answer)
        assert "vpn.internal.example" not in page_text(answer)
