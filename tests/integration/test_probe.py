"""The probe against real servers on the loopback interface, one outcome at a time.

No request may leave the machine: ``loopback_only`` fails any test whose code under test tries
to connect anywhere but 127.0.0.1 or ::1, so refused addresses are safe to aim at (the refusal
must come before any connection) and allowed public ones are never used here.
"""

import base64
import contextlib
import ipaddress
import socket
import threading
import time

import pytest

from app.engine.probe import USER_AGENT, ProbeRequest, probe
from app.models.history import (
    FAILED_BLOCKED_TARGET,
    FAILED_CONNECT,
    FAILED_DNS,
    FAILED_INTERNAL,
    FAILED_TIMEOUT,
    FAILED_TLS,
    FAILED_TOO_MUCH_DATA,
    OK,
)
from tests.targets import SilentListener, TargetServer, ca_name, closed_port

SLACK = 0.2  # seconds a timed-out probe may run past its budget on a busy machine


def is_loopback(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: the probe connects to addresses it has checked, never to names
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback here")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Refuse, and fail the test on, any connection to an address other than loopback."""
    attempts = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        if not is_loopback(address[0]):
            attempts.append(address)
            raise AssertionError(f"tests may only connect to loopback, not {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield
    assert attempts == []


@pytest.fixture
def server():
    with TargetServer() as target:
        yield target


@pytest.fixture
def canary():
    """A listener that must never see a connection."""
    listener = SilentListener()
    yield listener
    listener.close()
    assert listener.accepted == 0


def resolving(table):
    """A resolver for names in ``table`` only; it records every lookup."""

    def resolve(host, port):
        resolve.lookups.append(host)
        return list(table[host])

    resolve.lookups = []
    return resolve


def timed(request, **kwargs):
    started = time.perf_counter()
    result = probe(request, **kwargs)
    return result, time.perf_counter() - started


def assert_timings_in_order(result):
    steps = [result.dns_us, result.connect_us, result.tls_us, result.first_byte_us]
    steps = [us for us in steps if us is not None]
    assert steps == sorted(steps)
    assert steps[-1] <= result.total_us


# Success


def test_a_response_is_read_with_status_headers_body_and_timings(server):
    url = server.route("/health", status=201, body="all good", headers={"X-Build": "42"})

    result = probe(ProbeRequest(url))

    assert result.outcome == OK
    assert result.error is None
    assert result.status_code == 201
    assert result.headers["x-build"] == "42"
    assert result.headers["content-length"] == "8"
    assert (result.body, result.body_size) == (b"all good", 8)
    assert (result.final_url, result.redirects) == (url, 0)
    assert result.tls_us is None
    assert None not in (result.dns_us, result.connect_us, result.first_byte_us)
    assert_timings_in_order(result)


def test_method_body_headers_and_basic_auth_arrive(server):
    url = server.route("/hook", body="ok")

    result = probe(
        ProbeRequest(
            url + "?ref=a b",
            method="put",
            headers={"X-Custom": "yes", "Content-Type": "text/plain; charset=utf-8"},
            body="café",
            auth=("deploy", "pa:ss"),
        )
    )

    assert result.outcome == OK
    [received] = server.requests
    assert received.method == "PUT"
    assert received.target == "/hook?ref=a%20b"
    assert received.body == "café".encode()
    assert received.headers["x-custom"] == "yes"
    assert received.headers["content-type"] == "text/plain; charset=utf-8"
    credentials = base64.b64encode(b"deploy:pa:ss").decode("ascii")
    assert received.headers["authorization"] == f"Basic {credentials}"
    assert received.headers["user-agent"] == USER_AGENT
    assert received.headers["host"] == f"127.0.0.1:{server.port}"


def test_the_request_may_set_its_own_user_agent(server):
    url = server.route("/", body="ok")

    probe(ProbeRequest(url, headers={"user-agent": "custom/1"}))

    assert server.requests[0].headers["user-agent"] == "custom/1"


def test_head_requests_read_no_body(server):
    url = server.route("/", body="not sent")

    result = probe(ProbeRequest(url, method="HEAD"))

    assert (result.outcome, result.status_code, result.body_size) == (OK, 200, 0)


def test_chunked_and_close_delimited_bodies_are_read_in_full(server):
    chunked = server.route(
        "/chunked",
        body=b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        headers={"Content-Length": None, "Transfer-Encoding": "chunked"},
    )
    until_close = server.route("/close", body="until the end", headers={"Content-Length": None})

    assert probe(ProbeRequest(chunked)).body == b"hello world"
    assert probe(ProbeRequest(until_close)).body == b"until the end"


def test_odd_spellings_of_an_allowed_address_reach_it(server):
    server.route("/", body="ok")

    for host in ("0x7f.0.0.1", "2130706433", "127.1"):
        result = probe(ProbeRequest(f"http://{host}:{server.port}/"))
        assert (result.outcome, result.body) == (OK, b"ok"), host
    # The Host header names the address in its standard form, as browsers do.
    assert {r.headers["host"] for r in server.requests} == {f"127.0.0.1:{server.port}"}


@needs_ipv6
def test_ipv6_loopback_is_reachable():
    with TargetServer(host="::1") as target:
        result = probe(ProbeRequest(target.route("/", body="six")))

    assert (result.outcome, result.body) == (OK, b"six")
    assert target.requests[0].headers["host"] == f"[::1]:{target.port}"


@needs_ipv6
def test_an_ipv4_mapped_address_reaches_the_ipv4_server(server):
    server.route("/", body="ok")

    result = probe(ProbeRequest(f"http://[::ffff:127.0.0.1]:{server.port}/"))

    assert (result.outcome, result.body) == (OK, b"ok")


# Failures before a response


def test_a_closed_port_is_failed_connect():
    port = closed_port()

    result = probe(ProbeRequest(f"http://127.0.0.1:{port}/", timeout_ms=1000))

    assert result.outcome == FAILED_CONNECT
    assert result.error == f"Connecting to 127.0.0.1 port {port} failed: Connection refused"
    assert result.connect_us is None
    assert result.status_code is None


def test_a_name_that_does_not_resolve_is_failed_dns():
    result = probe(ProbeRequest("http://does-not-exist.invalid/", timeout_ms=1500))

    assert result.outcome == FAILED_DNS
    assert result.error.startswith("Resolving does-not-exist.invalid failed: ")
    assert result.dns_us is None


def test_a_name_without_addresses_is_failed_dns():
    result = probe(ProbeRequest("http://empty.test/"), resolver=resolving({"empty.test": []}))

    assert (result.outcome, result.error) == (FAILED_DNS, "empty.test has no IP addresses")


def test_a_slow_name_lookup_ends_at_the_budget(server):
    server.route("/", body="ok")
    answer = threading.Event()

    def slow(host, port):
        answer.wait(5)
        return ["127.0.0.1"]

    try:
        result, took = timed(
            ProbeRequest(f"http://slow.test:{server.port}/", timeout_ms=300), resolver=slow
        )
    finally:
        answer.set()

    assert result.outcome == FAILED_TIMEOUT
    assert result.error == "Timed out after 300 ms while resolving slow.test"
    assert took < 0.3 + SLACK
    assert server.requests == []


def test_a_server_that_accepts_and_never_answers_ends_at_the_budget():
    with SilentListener() as listener:
        result, took = timed(ProbeRequest(listener.url(), timeout_ms=500))

    assert result.outcome == FAILED_TIMEOUT
    assert result.error == "Timed out after 500 ms while waiting for the response headers"
    assert result.connect_us is not None
    assert result.first_byte_us is None
    assert 0.5 <= took < 0.5 + SLACK
    assert 500_000 <= result.total_us < (0.5 + SLACK) * 1_000_000


def test_headers_trickled_byte_by_byte_end_at_the_budget(server):
    url = server.route("/", body="x", trickle=0.05, trickle_headers=True)

    result, took = timed(ProbeRequest(url, timeout_ms=600))

    assert result.outcome == FAILED_TIMEOUT
    assert result.error == "Timed out after 600 ms while waiting for the response headers"
    assert 0.6 <= took < 0.6 + SLACK


# Failures while reading the body


def test_a_body_that_stalls_after_the_headers_ends_at_the_budget(server):
    url = server.route("/", body="late", stall=5)

    result, took = timed(ProbeRequest(url, timeout_ms=500))

    assert result.outcome == FAILED_TIMEOUT
    assert result.error == "Timed out after 500 ms while reading the body"
    assert result.status_code == 200
    assert result.first_byte_us is not None
    assert 0.5 <= took < 0.5 + SLACK


def test_a_body_trickled_forever_ends_at_the_budget(server):
    url = server.route("/", body=b"x" * 100_000, trickle=0.1)

    result, took = timed(ProbeRequest(url, timeout_ms=800))

    assert result.outcome == FAILED_TIMEOUT
    assert result.error == "Timed out after 800 ms while reading the body"
    assert 3 <= result.body_size <= 9
    assert result.body == b"x" * result.body_size
    assert 0.8 <= took < 0.8 + SLACK


def test_a_body_over_the_cap_is_too_much_data_and_only_the_head_is_kept(server):
    url = server.route("/", body=b"a" * 5000)

    result = probe(ProbeRequest(url, max_body_bytes=1000, keep_body_bytes=100))

    assert result.outcome == FAILED_TOO_MUCH_DATA
    assert result.error == "The response body is larger than 1000 bytes"
    assert result.body_size == 1001
    assert result.body == b"a" * 100
    assert result.status_code == 200


def test_a_body_exactly_at_the_cap_is_fine(server):
    url = server.route("/", body=b"a" * 1000)

    result = probe(ProbeRequest(url, max_body_bytes=1000, keep_body_bytes=0))

    assert (result.outcome, result.body_size, result.body) == (OK, 1000, b"")


def test_a_body_cut_short_is_failed_connect(server):
    url = server.route("/", body="short", headers={"Content-Length": "100"})

    result = probe(ProbeRequest(url, timeout_ms=1000))

    assert result.outcome == FAILED_CONNECT
    assert result.error == (
        "Reading the body failed: the connection closed 95 bytes before the end of the body"
    )


# TLS


def test_https_keeps_the_host_name_for_sni_host_and_certificate(ca, ca_bundle):
    with TargetServer(certificate=ca.issue_cert("localhost")) as target:
        target.route("/", body="secure")
        result = probe(ProbeRequest(target.url(host="localhost"), ca_bundle=ca_bundle))

    assert (result.outcome, result.body) == (OK, b"secure")
    assert target.server_names == ["localhost"]
    assert target.requests[0].headers["host"] == f"localhost:{target.port}"
    assert result.tls_us is not None
    assert_timings_in_order(result)


def test_a_certificate_for_another_host_is_failed_tls(ca, ca_bundle):
    with TargetServer(certificate=ca.issue_cert("wrong.test")) as target:
        result = probe(ProbeRequest(target.url(host="localhost"), ca_bundle=ca_bundle))

    assert result.outcome == FAILED_TLS
    assert result.error == (
        "Negotiating TLS with localhost failed: hostname mismatch: certificate is for wrong.test"
    )
    assert result.certificate.sans == ("wrong.test",)
    assert target.requests == []


def test_a_certificate_from_an_untrusted_ca_is_failed_tls(ca):
    with TargetServer(certificate=ca.issue_cert("localhost")) as target:
        result = probe(ProbeRequest(target.url(host="localhost")))

    assert result.outcome == FAILED_TLS
    issuer = ca_name(ca)
    assert result.error == f"Negotiating TLS with localhost failed: unknown issuer: {issuer}"
    assert result.certificate.issuer == issuer


def test_https_to_a_plain_http_port_is_failed_tls(server):
    server.route("/", body="plain")

    result = probe(ProbeRequest(f"https://127.0.0.1:{server.port}/", timeout_ms=1000))

    assert result.outcome == FAILED_TLS
    assert result.error.startswith("Negotiating TLS with 127.0.0.1 failed: ")
    assert result.tls_us is None


def test_a_tls_handshake_that_never_ends_is_failed_timeout():
    with SilentListener() as listener:
        result, took = timed(ProbeRequest(listener.url(scheme="https"), timeout_ms=400))

    assert result.outcome == FAILED_TIMEOUT
    assert result.error == "Timed out after 400 ms while negotiating TLS with 127.0.0.1"
    assert took < 0.4 + SLACK


# Redirects


def test_redirects_are_followed_and_counted(server):
    server.route("/a", redirect="/b", status=301)
    server.route("/b", redirect=server.url("/c"), status=308)
    server.route("/c", body="arrived")

    result = probe(ProbeRequest(server.url("/a")))

    assert (result.outcome, result.status_code, result.body) == (OK, 200, b"arrived")
    assert result.redirects == 2
    assert result.final_url == server.url("/c")
    assert [r.target for r in server.requests] == ["/a", "/b", "/c"]
    assert_timings_in_order(result)


def test_without_following_a_redirect_is_the_answer(server):
    url = server.route("/old", redirect="/new", body="moved")

    result = probe(ProbeRequest(url, follow_redirects=False))

    assert (result.outcome, result.status_code) == (OK, 302)
    assert result.headers["location"] == "/new"
    assert (result.redirects, result.final_url, result.body) == (0, url, b"moved")
    assert len(server.requests) == 1


def test_more_redirects_than_allowed_is_failed_internal(server):
    url = server.route("/loop", redirect="/loop")

    result = probe(ProbeRequest(url, max_redirects=3))

    assert result.outcome == FAILED_INTERNAL
    assert result.error == f"More than 3 redirects (the next one was to {url})"
    assert (result.redirects, result.status_code) == (3, 302)
    assert len(server.requests) == 4


def test_see_other_turns_a_post_into_a_get_and_307_keeps_it(server):
    server.route("/form", redirect="/thanks", status=303)
    server.route("/thanks", body="ok")
    server.route("/moved", redirect="/form-v2", status=307)
    server.route("/form-v2", body="ok")
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    probe(ProbeRequest(server.url("/form"), method="POST", body="a=1", headers=form))
    probe(ProbeRequest(server.url("/moved"), method="POST", body="a=1", headers=form))

    _, get, _, post_kept = server.requests
    assert (get.method, get.body, "content-type" in get.headers) == ("GET", b"", False)
    assert (post_kept.method, post_kept.body) == ("POST", b"a=1")
    assert post_kept.headers["content-type"] == form["Content-Type"]


def test_see_other_keeps_a_head_a_head(server):
    server.route("/report", redirect="/latest", status=303)
    server.route("/latest", body="ok")

    result = probe(ProbeRequest(server.url("/report"), method="HEAD"))

    assert (result.outcome, result.redirects) == (OK, 1)
    assert [r.method for r in server.requests] == ["HEAD", "HEAD"]


def test_credentials_do_not_follow_a_redirect_to_another_host(server):
    server.route("/same", redirect="/other-host")
    server.route("/other-host", redirect=server.url("/end", host="localhost"))
    server.route("/end", body="ok")

    result = probe(
        ProbeRequest(server.url("/same"), auth=("u", "p"), headers={"Cookie": "session=1"})
    )

    assert result.outcome == OK
    first, same_host, other_host = server.requests
    assert "authorization" in same_host.headers and "cookie" in same_host.headers
    assert "authorization" not in other_host.headers and "cookie" not in other_host.headers


def test_a_redirect_to_another_scheme_is_blocked(server):
    url = server.route("/", redirect="file:///etc/passwd")

    result = probe(ProbeRequest(url))

    assert result.outcome == FAILED_BLOCKED_TARGET
    assert result.error == "Only http and https URLs can be probed: 'file:///etc/passwd'"


@pytest.mark.parametrize(
    "metadata",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://0xa9fea9fe/latest/meta-data/",
    ],
)
def test_every_redirect_hop_is_checked_again(server, metadata):
    url = server.route("/", redirect=metadata)

    result = probe(ProbeRequest(url))

    assert result.outcome == FAILED_BLOCKED_TARGET
    assert result.error.startswith(
        f"Redirect to {metadata} refused by the target policy 'default': "
    )
    assert result.error.endswith("is a link-local address")
    assert (result.redirects, result.final_url, result.status_code) == (1, metadata, None)
    assert result.connect_us is None


def test_every_hop_resolves_again_so_rebinding_is_caught(server):
    server.route("/first", redirect="/second")
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])

    def rebinding(host, port):
        return next(answers)

    result = probe(ProbeRequest(f"http://rebind.test:{server.port}/first"), resolver=rebinding)

    assert result.outcome == FAILED_BLOCKED_TARGET
    assert result.error.endswith(
        "169.254.169.254 is a link-local address (an address of rebind.test)"
    )
    assert [r.target for r in server.requests] == ["/first"]


# The policy, with a canary that must never be connected to


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",
        "0x7f000001",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[64:ff9b::7f00:1]",
        "localhost",
    ],
)
def test_strict_refuses_every_spelling_of_loopback_before_connecting(canary, host):
    result = probe(ProbeRequest(f"http://{host}:{canary.port}/", policy="strict"))

    assert result.outcome == FAILED_BLOCKED_TARGET
    assert result.error.startswith("Refused by the target policy 'strict': ")
    assert "is a loopback address" in result.error
    assert result.connect_us is None


def test_strict_refuses_a_name_resolving_to_loopback(canary):
    resolver = resolving({"app.test": ["127.0.0.1"]})

    result = probe(ProbeRequest(f"http://app.test:{canary.port}/", policy="strict"), resolver)

    assert result.outcome == FAILED_BLOCKED_TARGET
    assert result.error == (
        "Refused by the target policy 'strict': 127.0.0.1 is a loopback address"
        " (an address of app.test)"
    )
    assert resolver.lookups == ["app.test"]


@pytest.mark.parametrize(
    ("policy", "records"),
    [
        ("strict", ["93.184.216.34", "127.0.0.1"]),
        ("default", ["127.0.0.1", "169.254.169.254"]),
        ("default", ["169.254.169.254", "127.0.0.1"]),
    ],
)
def test_one_refused_record_refuses_the_whole_name(canary, policy, records):
    resolver = resolving({"mixed.test": records})

    result = probe(
        ProbeRequest(f"http://mixed.test:{canary.port}/", policy=policy), resolver=resolver
    )

    assert result.outcome == FAILED_BLOCKED_TARGET
    assert result.error.endswith("(an address of mixed.test)")


def test_a_redirect_to_a_refused_name_never_reaches_it(server, canary):
    url = server.route("/", redirect=f"http://mixed.test:{canary.port}/")
    resolver = resolving({"mixed.test": ["127.0.0.1", "169.254.169.254"]})

    result = probe(ProbeRequest(url), resolver=resolver)

    assert result.outcome == FAILED_BLOCKED_TARGET
    assert result.error.startswith(f"Redirect to http://mixed.test:{canary.port}/ refused")
    assert resolver.lookups == ["mixed.test"]


def test_default_refuses_the_metadata_service_under_any_name():
    resolver = resolving({"metadata.google.internal": ["169.254.169.254"]})

    result = probe(ProbeRequest("http://metadata.google.internal/"), resolver=resolver)

    assert result.outcome == FAILED_BLOCKED_TARGET
    assert result.error == (
        "Refused by the target policy 'default': 169.254.169.254 is a link-local address"
        " (an address of metadata.google.internal)"
    )


def test_open_allows_loopback(server):
    server.route("/", body="ok")

    result = probe(ProbeRequest(server.url(host="localhost"), policy="open"))

    assert result.outcome == OK


# URLs the probe does not take


@pytest.mark.parametrize(
    ("url", "outcome", "error"),
    [
        ("ftp://127.0.0.1/", FAILED_BLOCKED_TARGET, "Only http and https URLs can be probed"),
        ("file:///etc/passwd", FAILED_BLOCKED_TARGET, "Only http and https URLs can be probed"),
        ("localhost:8080", FAILED_BLOCKED_TARGET, "Only http and https URLs can be probed"),
        ("http:///no-host", FAILED_INTERNAL, "Malformed URL 'http:///no-host': it has no host"),
        ("http://127.0.0.1:99999/", FAILED_INTERNAL, "Malformed URL 'http://127.0.0.1:99999/'"),
        ("http://[::1/", FAILED_INTERNAL, "Malformed URL 'http://[::1/'"),
    ],
)
def test_urls_that_cannot_be_probed_fail_before_connecting(url, outcome, error):
    result = probe(ProbeRequest(url))

    assert result.outcome == outcome
    assert result.error.startswith(error)


def test_an_unknown_policy_is_an_internal_error_not_an_exception(server, caplog):
    url = server.route("/", body="ok")

    result = probe(ProbeRequest(url, policy="lenient"))

    assert result.outcome == FAILED_INTERNAL
    assert "unknown target policy" in caplog.text
    assert server.requests == []


# Resolving and connecting, address by address


@pytest.fixture
def unanswered_port():
    """A port on 127.0.0.1 whose listener's queue is full: a connection there is neither
    accepted nor refused, it waits (as behind a firewall that drops packets)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    filler = socket.create_connection(listener.getsockname())
    yield listener.getsockname()[1]
    filler.close()
    listener.close()


def test_the_resolver_is_asked_for_the_targets_host_and_port(server):
    server.route("/", body="ok")
    asked = []

    def resolver(host, port):
        asked.append((host, port))
        return ["127.0.0.1"]

    result = probe(ProbeRequest(f"http://app.test:{server.port}/"), resolver=resolver)

    assert result.outcome == OK
    assert asked == [("app.test", server.port)]


def test_a_connection_never_accepted_ends_at_the_budget(unanswered_port):
    result, took = timed(ProbeRequest(f"http://127.0.0.1:{unanswered_port}/", timeout_ms=300))

    assert (result.outcome, result.error) == (
        FAILED_TIMEOUT,
        f"Timed out after 300 ms while connecting to 127.0.0.1 port {unanswered_port}",
    )
    assert result.connect_us is None


@needs_ipv6
def test_a_refused_address_gives_way_to_the_next_one():
    with TargetServer(host="::1") as target:
        target.route("/", body="ok")
        port = target.port
        with contextlib.suppress(OSError), socket.create_server(("127.0.0.1", port)):
            pass  # the port is free on IPv4 too: a connection there is refused
        result = probe(
            ProbeRequest(f"http://both.test:{port}/"),
            resolver=resolving({"both.test": ["127.0.0.1", "::1"]}),
        )

        assert result.outcome == OK
        assert [r.target for r in target.requests] == ["/"]


@needs_ipv6
def test_a_timeout_on_one_address_ends_the_probe_without_trying_the_next():
    with TargetServer(host="::1") as target:
        target.route("/", body="ok")
        listener = socket.create_server(("127.0.0.1", target.port), backlog=0)
        filler = socket.create_connection(listener.getsockname())
        try:
            result = probe(
                ProbeRequest(f"http://both.test:{target.port}/", timeout_ms=300),
                resolver=resolving({"both.test": ["127.0.0.1", "::1"]}),
            )
        finally:
            filler.close()
            listener.close()

        assert (result.outcome, result.error) == (
            FAILED_TIMEOUT,
            f"Timed out after 300 ms while connecting to 127.0.0.1 port {target.port}",
        )
        assert target.requests == []


def test_a_redirect_to_what_is_not_a_host_is_refused_without_naming_a_policy(server):
    url = server.route("/", redirect="http://-x-/")

    result = probe(ProbeRequest(url))

    assert (result.outcome, result.error) == (
        FAILED_BLOCKED_TARGET,
        "Redirect to http://-x-/ refused: '-x-' is neither an IP address nor a host name",
    )


def test_a_malformed_redirect_is_said_so_not_an_internal_error(server, caplog):
    url = server.route("/", redirect="http://[1.2.3.4]/")

    result = probe(ProbeRequest(url))

    assert (result.outcome, result.error) == (
        FAILED_INTERNAL,
        "Malformed redirect to 'http://[1.2.3.4]/': An IPv4 address cannot be in brackets",
    )
    assert "Traceback" not in caplog.text
