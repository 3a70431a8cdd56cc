"""The one way Upcron makes an outbound HTTP request: monitors, cron jobs and webhooks alike.

Each hop of a request (the URL, then every redirect) is resolved here, every address the name
has is checked against the target policy, and the TCP connection is pinned to a checked address
while the Host header, TLS SNI and certificate verification keep the URL's host name. A name
that resolves to an allowed address for the check and a refused one for the connection (DNS
rebinding), or a redirect to the metadata service, is therefore refused before any connection
is made. No proxy from the environment is ever used.

One deadline bounds the whole request: name lookup, connect, TLS, sending, response headers and
every byte of the body. A target that trickles its answer cannot hold a worker past the
check's timeout.

Outcomes (``app.models.history``):

- ``ok``: a response arrived and was read in full; status and keywords are judged elsewhere.
- ``failed_dns``: the name does not resolve.
- ``failed_connect``: no usable HTTP exchange: refused, unreachable, reset, closed early, or the
  target does not speak HTTP.
- ``failed_timeout``: the budget ran out, whatever step it was in.
- ``failed_tls``: the TLS handshake failed, or verification refused the certificate; the
  error names why (``certificate expired on 2026-11-30``, ``hostname mismatch: certificate
  is for a.example, b.example``, ``unknown issuer: Example CA``).
- ``failed_too_much_data``: the body is larger than ``max_body_bytes``.
- ``failed_blocked_target``: the policy refuses an address of the target, or the URL is not
  http or https.
- ``failed_internal``: a malformed URL, more than ``max_redirects`` redirects, or a bug (logged
  with its traceback).
"""

from __future__ import annotations

import functools
import http.client
import io
import logging
import socket
import ssl
import threading
import time
from base64 import b64encode
from collections.abc import Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit

import certifi

from app.engine import certificates
from app.engine.address_policy import (
    IPAddress,
    Refused,
    Resolver,
    Unresolved,
    check_address,
    guard,
    parse_host,
    resolve,
)
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

__all__ = ["USER_AGENT", "ProbeRequest", "ProbeResult", "check_address", "probe"]

log = logging.getLogger(__name__)

USER_AGENT = "Upcron/0.1 (+uptime monitor)"

_CHUNK = 64 * 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# What requests leaves unquoted in a URL: reserved characters and "%" of existing escapes.
_SAFE_IN_TARGET = "!#$%&'()*+,/:;=?@[]~"
# Sent only to the host they were given for (see _redirect).
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})
_BODY_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding"})


@dataclass(frozen=True)
class ProbeRequest:
    """What to fetch and within which limits.

    Credentials written into the URL (``user:pass@``) are not used; pass ``auth``.
    """

    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | bytes | None = None  # a str is sent as UTF-8
    auth: tuple[str, str] | None = None  # HTTP basic auth
    timeout_ms: int = 10_000  # total budget: DNS + connect + TLS + headers + body
    follow_redirects: bool = True
    max_redirects: int = 10
    max_body_bytes: int = 1_048_576  # more than this is failed_too_much_data
    keep_body_bytes: int = 65_536  # at most this much of the body is kept in the result
    policy: str = "default"  # "default" | "strict" | "open", see address_policy
    ca_bundle: str | None = None  # extra PEM CAs trusted on top of certifi's
    tls_verify: bool = True  # False: any certificate is accepted (and still recorded)


@dataclass
class ProbeResult:
    """What happened. Timings are microseconds from the start of ``probe()`` to the end of
    each step of the last hop; a step that was not reached is None. For an IP address in the
    URL there is nothing to look up, and ``dns_us`` is the moment it was read."""

    outcome: str
    error: str | None = None  # a sentence a person can act on
    status_code: int | None = None
    # Of the last hop; names in lower case, a repeated header's values joined by ", ".
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""  # at most keep_body_bytes, as received (never decompressed)
    body_size: int = 0  # bytes of body read in total
    final_url: str = ""
    redirects: int = 0
    dns_us: int | None = None
    connect_us: int | None = None
    tls_us: int | None = None
    first_byte_us: int | None = None  # response headers received
    total_us: int = 0
    # Ping checks only (app.engine.icmp): echo requests sent and answered, and the round
    # trips of those answered.
    packets_sent: int | None = None
    packets_received: int | None = None
    rtt_min_us: int | None = None
    rtt_avg_us: int | None = None
    rtt_max_us: int | None = None
    # The peer's certificate of the last TLS handshake, also of one verification refused.
    certificate: certificates.Certificate | None = None


class _Unverified(Exception):
    """The handshake refused the certificate; ``open_connection`` names the reason."""

    def __init__(self, error: ssl.SSLCertVerificationError):
        super().__init__(error.verify_message)
        self.error = error


class _Failure(Exception):
    """Ends the probe with ``outcome``; ``message`` becomes the result's error."""

    def __init__(self, outcome: str, message: str):
        super().__init__(message)
        self.outcome = outcome
        self.message = message


@dataclass(frozen=True)
class _Target:
    """One hop's URL, split into what we connect to and what we send."""

    url: str
    https: bool
    host: str  # ASCII; an IP address in its standard form
    port: int
    path: str  # the request target: path and query, quoted

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == (443 if self.https else 80) else f"{name}:{self.port}"


class _Clock:
    """The request's single time budget, and the timings measured from its start."""

    def __init__(self, timeout_ms: int):
        self.timeout_ms = timeout_ms
        self._start = time.perf_counter()
        self._deadline = self._start + timeout_ms / 1000

    def elapsed_us(self) -> int:
        return int((time.perf_counter() - self._start) * 1_000_000)

    def remaining(self) -> float:
        """Seconds left of the budget; TimeoutError once it is spent."""
        left = self._deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError
        return left


class _DeadlineReader(io.RawIOBase):
    """The response side of the socket: every receive may wait only for what is left.

    http.client reads the status line, headers and chunk sizes line by line, with as many
    receives as the target cares to split them into. A timeout per receive would let a target
    that sends one byte every 100 ms go on forever; this one shrinks with each receive.
    """

    def __init__(self, sock: socket.socket, clock: _Clock):
        self._sock = sock
        self._clock = clock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._sock.settimeout(self._clock.remaining())
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str) -> io.BufferedReader:
        """http.client.HTTPResponse reads through ``sock.makefile("rb")``: hand it ourselves."""
        return io.BufferedReader(self)


def probe(request: ProbeRequest, resolver: Resolver | None = None) -> ProbeResult:
    """Fetch ``request.url``, following redirects if asked, within the time budget.

    Never raises for anything the target does; every failure is a ProbeResult outcome.

    Args:
        resolver: ``(host, port) -> IP addresses``; ``socket.getaddrinfo`` by default. Tests
            pass their own to make a name resolve to chosen addresses.
    """
    return within_budget(_run, request, request.url, "probing", resolver)


def within_budget(run, request, target: str, doing: str, resolver: Resolver | None):
    """Run a check's steps, ``run(request, resolver, clock, result)``, on one time budget:
    a step's failure becomes the result's outcome, anything unexpected ``failed_internal``
    with a log line, so a check never raises. The HTTP probe and the tcp, dns and ping checks
    share it."""
    clock = _Clock(request.timeout_ms)
    result = ProbeResult(outcome=OK, final_url=target)
    try:
        run(request, resolver or resolve, clock, result)
    except _Failure as failure:
        result.outcome, result.error = failure.outcome, failure.message
    except Exception:
        log.exception("%s %s failed unexpectedly", doing.capitalize(), target)
        result.outcome = FAILED_INTERNAL
        result.error = f"Internal error while {doing}; the worker log has the details"
    result.total_us = clock.elapsed_us()
    return result


def _run(request: ProbeRequest, resolver: Resolver, clock: _Clock, result: ProbeResult) -> None:
    method = request.method.upper()
    body = request.body.encode() if isinstance(request.body, str) else request.body
    headers = dict(request.headers)
    if request.auth:
        credentials = ":".join(request.auth).encode()
        headers["Authorization"] = "Basic " + b64encode(credentials).decode("ascii")
    target = _parse_url(request.url)
    while True:
        status, location = _fetch(target, method, body, headers, request, resolver, clock, result)
        if location is None:
            return
        try:
            next_url = urljoin(target.url, location)
        except ValueError as exc:  # e.g. an IPv4 address in brackets
            raise _Failure(FAILED_INTERNAL, f"Malformed redirect to {location!r}: {exc}") from None
        if result.redirects == request.max_redirects:
            raise _Failure(
                FAILED_INTERNAL,
                f"More than {request.max_redirects} redirects (the next one was to {next_url})",
            )
        result.redirects += 1
        following = _parse_url(next_url)
        method, body, headers = _redirect(status, method, body, headers, target, following)
        target = following


def _parse_url(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
        if host and not host.isascii():
            host = host.encode("idna").decode("ascii")
    except (ValueError, UnicodeError) as exc:
        raise _Failure(FAILED_INTERNAL, f"Malformed URL {url!r}: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _Failure(FAILED_BLOCKED_TARGET, f"Only http and https URLs can be probed: {url!r}")
    if not host:
        raise _Failure(FAILED_INTERNAL, f"Malformed URL {url!r}: it has no host")
    https = parts.scheme.lower() == "https"
    try:
        literal = parse_host(host)
    except Refused:
        literal = None  # not a host at all: the guard refuses it before any connection
    path = quote(parts.path or "/", safe=_SAFE_IN_TARGET)
    if parts.query:
        path += "?" + quote(parts.query, safe=_SAFE_IN_TARGET)
    return _Target(
        url=url,
        https=https,
        # The standard form is what browsers send for 0x7f.1 too, and what certificates name.
        host=str(literal) if literal else host,
        port=port or (443 if https else 80),
        path=path,
    )


def _redirect(
    status: int,
    method: str,
    body: bytes | None,
    headers: dict[str, str],
    source: _Target,
    target: _Target,
) -> tuple[str, bytes | None, dict[str, str]]:
    """The method, body and headers of the request a redirect asks for, as browsers do it.

    Credentials go only to the host they were given for, and never from https down to http.
    """
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = {k: v for k, v in headers.items() if k.lower() not in _BODY_HEADERS}
    if target.host != source.host or (source.https and not target.https):
        headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
    return method, body, headers


def _fetch(target, method, body, headers, request, resolver, clock, result):
    """One hop: resolve, check, connect, send, read. Returns the status code and, when this
    is a redirect to follow, its Location."""
    result.final_url = target.url
    result.status_code, result.headers = None, {}
    result.dns_us = result.connect_us = result.tls_us = result.first_byte_us = None
    sock = open_connection(
        target, request.policy, request.ca_bundle, resolver, clock, result, request.tls_verify
    )
    try:
        return _exchange(sock, target, method, body, headers, request, clock, result)
    finally:
        sock.close()


def open_connection(
    target, policy, ca_bundle, resolver, clock, result, verify: bool = True
) -> socket.socket:
    """Judge the target's addresses, connect to one of them and, for TLS, shake hands (SNI
    and certificate for ``target.host``; any certificate without ``verify``), recording the
    times and the peer's certificate; the caller closes the socket. The HTTP probe and the
    tcp check share it.

    A certificate that verification refuses is fetched again over a second connection
    that does not verify, so the failure can say why (expired on which day, for which
    names, from which issuer) and the certificate is recorded all the same."""
    addresses = _checked_addresses(target, policy, resolver, clock, result)
    sock = _connect(addresses, target, clock)
    result.connect_us = clock.elapsed_us()
    if target.https:
        try:
            sock = _shake_hands(sock, target, _tls_context(ca_bundle, verify), clock)
        except _Unverified as refused:
            result.certificate = _unverified_certificate(addresses, target, clock)
            reason = certificates.refusal(refused.error, result.certificate)
            raise _Failure(FAILED_TLS, f"Negotiating TLS with {target.host} failed: {reason}")
        result.tls_us = clock.elapsed_us()
        result.certificate = certificates.parse(sock.getpeercert(binary_form=True))
    return sock


def _shake_hands(sock, target, context: ssl.SSLContext, clock: _Clock) -> ssl.SSLSocket:
    """The TLS handshake on a connected socket, which is closed if it fails."""
    try:
        with _step(clock, f"negotiating TLS with {target.host}"):
            sock.settimeout(clock.remaining())
            try:
                return context.wrap_socket(sock, server_hostname=target.host)
            except ssl.SSLCertVerificationError as exc:
                raise _Unverified(exc) from None
    except BaseException:
        sock.close()
        raise


def _unverified_certificate(addresses, target, clock) -> certificates.Certificate | None:
    """The certificate a refused server presents, over a new connection to the same checked
    addresses that accepts any; None when that fails too or the budget is spent."""
    try:
        sock = _connect(addresses, target, clock)
        sock = _shake_hands(sock, target, _tls_context(None, verify=False), clock)
    except (_Failure, _Unverified):
        return None
    try:
        return certificates.parse(sock.getpeercert(binary_form=True))
    finally:
        sock.close()


def _checked_addresses(target, policy, resolver, clock, result) -> list[IPAddress]:
    """Every address of the hop's host, all of them allowed by the policy (see ``guard``)."""

    def within_budget(host: str, port: int) -> list[str]:
        return _within_budget(clock, resolver, host, port)

    with _step(clock, f"resolving {target.host}", FAILED_DNS):  # a timeout, nothing else
        try:
            addresses = guard(target.host, target.port, policy, within_budget)
        except Unresolved as exc:
            raise _Failure(FAILED_DNS, str(exc)) from None
        except Refused as exc:
            if result.redirects:
                by = f" by the target policy '{exc.policy}'" if exc.policy else ""
                message = f"Redirect to {target.url} refused{by}: {exc.reason}"
            else:
                message = str(exc)
            raise _Failure(FAILED_BLOCKED_TARGET, message) from None
    result.dns_us = clock.elapsed_us()
    return addresses


def _within_budget(clock: _Clock, resolver: Resolver, host: str, port: int) -> list[str]:
    """Run the resolver in a thread so a slow DNS server cannot outlast the budget.

    getaddrinfo cannot be interrupted; on timeout its thread is left to finish on its own.
    """
    future: Future = Future()

    def resolve():
        try:
            future.set_result(resolver(host, port))
        except Exception as exc:
            future.set_exception(exc)

    threading.Thread(target=resolve, name=f"resolve {host}", daemon=True).start()
    return future.result(timeout=clock.remaining())


def _connect(addresses: list[IPAddress], target: _Target, clock: _Clock) -> socket.socket:
    """A TCP connection to the first checked address that accepts one.

    The socket is given the address itself, never a name, so nothing resolves it again.
    """
    failure = _Failure(FAILED_CONNECT, f"No address to connect to for {target.host}")
    for address in addresses:
        sock = socket.socket(socket.AF_INET6 if address.version == 6 else socket.AF_INET)
        try:
            with _step(clock, f"connecting to {address} port {target.port}"):
                sock.settimeout(clock.remaining())
                sock.connect((str(address), target.port))
        except BaseException as exc:
            sock.close()
            if not isinstance(exc, _Failure) or exc.outcome == FAILED_TIMEOUT:
                raise
            failure = exc  # refused or unreachable: try the next address
        else:
            return sock
    raise failure


def _exchange(sock, target, method, body, headers, request, clock, result):
    """Send the request on the connected socket and read the response into ``result``."""
    given = {name.lower() for name in headers}
    defaults = {"Host": target.host_header, "User-Agent": USER_AGENT, "Accept": "*/*"}
    headers = {k: v for k, v in defaults.items() if k.lower() not in given} | dict(headers)
    connection = http.client.HTTPConnection(target.host, target.port)
    connection.sock = sock  # already connected to the checked address
    with _step(clock, "sending the request"):
        sock.settimeout(clock.remaining())
        connection.request(method, target.path, body, headers)
    response = http.client.HTTPResponse(_DeadlineReader(sock, clock), method=method)
    try:
        with _step(clock, "waiting for the response headers"):
            response.begin()
        result.first_byte_us = clock.elapsed_us()
        result.status_code = response.status
        for name, value in response.getheaders():
            previous = result.headers.get(name.lower())
            result.headers[name.lower()] = value if previous is None else f"{previous}, {value}"
        location = response.getheader("Location")
        if request.follow_redirects and response.status in _REDIRECT_STATUSES and location:
            return response.status, location
        with _step(clock, "reading the body"):
            _read_body(response, request, result)
        return response.status, None
    finally:
        response.close()


def _read_body(response: http.client.HTTPResponse, request: ProbeRequest, result: ProbeResult):
    """Read at most one byte more than the cap, keeping only the first keep_body_bytes."""
    kept = bytearray()
    try:
        while chunk := response.read1(min(_CHUNK, request.max_body_bytes + 1 - result.body_size)):
            result.body_size += len(chunk)
            kept += chunk[: request.keep_body_bytes - len(kept)]
            if result.body_size > request.max_body_bytes:
                raise _Failure(
                    FAILED_TOO_MUCH_DATA,
                    f"The response body is larger than {request.max_body_bytes} bytes",
                )
    finally:
        result.body = bytes(kept)
    if response.length:  # read1 reports a body cut short by the target as a plain end
        raise http.client.IncompleteRead(b"", response.length)


@functools.lru_cache(maxsize=8)
def _tls_context(ca_bundle: str | None, verify: bool = True) -> ssl.SSLContext:
    """Verification on: certifi's roots plus the operator's CAs. Off (a monitor's
    ``tls_verify`` false): any certificate, for any name. Cached because loading the roots
    takes milliseconds, and a context is safe to share between threads."""
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


@contextmanager
def _step(clock: _Clock, doing: str, outcome: str = FAILED_CONNECT):
    """Turn what the target does wrong during one step into a _Failure that names the step."""
    try:
        yield
    except TimeoutError:
        raise _Failure(
            FAILED_TIMEOUT, f"Timed out after {clock.timeout_ms} ms while {doing}"
        ) from None
    except ssl.SSLError as exc:
        raise _Failure(FAILED_TLS, f"{_sentence(doing)} failed: {_describe(exc)}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise _Failure(outcome, f"{_sentence(doing)} failed: {_describe(exc)}") from None


def _sentence(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]


def _describe(exc: Exception) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return exc.reason.replace("_", " ").lower()
    if isinstance(exc, http.client.IncompleteRead):
        return f"the connection closed {exc.expected} bytes before the end of the body"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
