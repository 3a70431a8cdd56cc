"""A TCP check: connect to a host and port, and with ``tls`` complete a TLS handshake.

It takes the same steps as the HTTP probe up to the first byte it would send, with the
probe's own pieces: one time budget (``within_budget``) and ``open_connection``: the target
guard on every address the host resolves to, a connection to exactly those addresses, and the
probe's TLS context (certifi's roots plus ``UPCRON_CA_BUNDLE``, the
host as SNI and as the name the certificate must carry), which records the peer's
certificate (``result.certificate``). The result is a ``ProbeResult``, so
judging and recording treat both kinds alike.

Outcomes: ``ok`` (connected, and the handshake done with ``tls``), ``failed_dns``,
``failed_connect`` (refused, unreachable), ``failed_timeout``, ``failed_tls`` (with the
reason verification refused the certificate), ``failed_blocked_target`` (the target policy
refuses an address) and ``failed_internal`` (a bug, logged).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.engine.address_policy import Refused, Resolver, parse_host
from app.engine.probe import ProbeResult, _Clock, _Target, open_connection, within_budget


@dataclass(frozen=True)
class ConnectRequest:
    """Where to connect, and within which limits."""

    host: str  # a name, or an IP address (IPv6 with or without brackets)
    port: int
    tls: bool = False
    timeout_ms: int = 10_000  # total budget: DNS + connect + TLS
    policy: str = "default"  # see address_policy
    ca_bundle: str | None = None  # extra PEM CAs trusted on top of certifi's
    tls_verify: bool = True  # False: any certificate is accepted (and still recorded)


def target_name(host: str, port: int) -> str:
    """``host:port`` as people write it: an IPv6 address in brackets."""
    host = host.strip().removeprefix("[").removesuffix("]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connect(request: ConnectRequest, resolver: Resolver | None = None) -> ProbeResult:
    """Connect (and shake hands) within the budget; never raises for what the target does.

    Args:
        resolver: ``(host, port) -> IP addresses``; the system's by default.
    """
    target = target_name(request.host, request.port)
    return within_budget(_run, request, target, "connecting", resolver)


def _run(request: ConnectRequest, resolver: Resolver, clock: _Clock, result: ProbeResult):
    host = request.host.strip()
    try:
        literal = parse_host(host)
    except Refused:
        literal = None  # not a host at all: the guard refuses it before any connection
    if literal is None and not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass  # the guard refuses it
    target = _Target(
        url=result.final_url,
        https=request.tls,
        host=str(literal) if literal else host,
        port=request.port,
        path="",
    )
    sock = open_connection(
        target, request.policy, request.ca_bundle, resolver, clock, result, request.tls_verify
    )
    sock.close()
