"""A ping check: ICMP echo requests to a host, up when no more than ``max_loss_pct`` of them
go unanswered.

The host passes the target guard like every destination: a name is resolved by the guard,
and the echo requests go to the first address it judged, never to the name. One time budget
(the probe's ``_Clock``) covers the lookup and every packet: the packets go one after the
other, each waiting for its reply at most its share of what is left, so a host that does not
answer costs the monitor's timeout, not packets × timeout.

ICMP needs a socket the system may refuse: a raw one (root, or CAP_NET_RAW), else the
datagram ICMP socket Linux offers to the groups in ``net.ipv4.ping_group_range``. Each check
takes the first of the two it may open; :func:`unavailable` tells why neither is allowed, so
a ping monitor is refused when it is saved instead of failing every check.

The result is a ``ProbeResult``, so judging and recording treat it like the other checks:
``dns_us`` is when the address was judged, ``first_byte_us`` when the first reply arrived,
``total_us`` the whole check; ``packets_sent``, ``packets_received`` and the round trips
(``rtt_min_us``, ``rtt_avg_us``, ``rtt_max_us``, of the answered packets) are its own.

Outcomes: ``ok``; ``failed_packet_loss`` (more lost than allowed; an ICMP error such as
"destination unreachable" counts as a lost packet and is named); ``failed_dns``;
``failed_timeout`` (the lookup used up the budget); ``failed_connect`` (no ICMP socket of the
address's IP version, as on a machine without IPv6); ``failed_blocked_target``;
``failed_internal`` (this process may not send ICMP, or a bug, logged).
"""

from __future__ import annotations

from dataclasses import dataclass

from icmplib import ICMPRequest, ICMPv4Socket, ICMPv6Socket
from icmplib.exceptions import ICMPError, ICMPSocketError, SocketPermissionError, TimeoutExceeded
from icmplib.utils import unique_identifier

from app.engine.address_policy import IPAddress, Refused, Resolver, parse_host
from app.engine.probe import (
    ProbeResult,
    _checked_addresses,
    _Clock,
    _Failure,
    _Target,
    within_budget,
)
from app.models.history import FAILED_CONNECT, FAILED_INTERNAL, FAILED_PACKET_LOSS, loss_pct

PACKETS_MAX = 10

NO_ICMP = (
    "This server may not send ICMP echo requests: ping checks need it to run as root (or "
    "with CAP_NET_RAW) for raw sockets, or in a group within net.ipv4.ping_group_range for "
    "unprivileged ICMP sockets."
)


@dataclass(frozen=True)
class EchoRequest:
    """Whom to ping, how many times, and how much loss still counts as up."""

    host: str  # a name, or an IP address (IPv6 with or without brackets)
    packets: int = 3
    max_loss_pct: int = 0
    timeout_ms: int = 10_000  # total budget: the lookup and every packet
    policy: str = "default"  # see address_policy


def _open(version: int, privileged: bool):
    return (ICMPv6Socket if version == 6 else ICMPv4Socket)(privileged=privileged)


def _icmp_socket(version: int):
    """A raw ICMP socket where the system allows one, else a datagram ICMP socket."""
    for privileged in (True, False):
        try:
            return _open(version, privileged)
        except SocketPermissionError:
            continue
        except ICMPSocketError as exc:  # such as IPv6 switched off on this machine
            raise _Failure(FAILED_CONNECT, f"Cannot open an IPv{version} ICMP socket: {exc}")
    raise _Failure(FAILED_INTERNAL, NO_ICMP)


def unavailable() -> str | None:
    """Why this process cannot send ICMP echo requests, or None when it can (by either
    kind of socket). The web process answers for the workers, so they must run as the same
    user with the same capabilities (``upcron up`` runs them all as one)."""
    for privileged in (True, False):
        try:
            _open(4, privileged).close()
            return None
        except SocketPermissionError:
            continue
        except ICMPSocketError as exc:
            return f"This server cannot open an ICMP socket: {exc}"
    return NO_ICMP


def ping(request: EchoRequest, resolver: Resolver | None = None) -> ProbeResult:
    """Ping within the budget and judge the loss; never raises for what the host does.

    Args:
        resolver: ``(host, port) -> IP addresses``; the system's by default.
    """
    return within_budget(_run, request, request.host.strip(), "pinging", resolver)


def _run(request: EchoRequest, resolver: Resolver, clock: _Clock, result: ProbeResult) -> None:
    host = request.host.strip()
    try:
        literal = parse_host(host)
    except Refused:
        literal = None  # not a host at all: the guard refuses it before any packet
    target = _Target(url=host, https=False, host=str(literal) if literal else host, port=0, path="")
    address = _checked_addresses(target, request.policy, resolver, clock, result)[0]
    rtts, problem = _echo(address, request.packets, clock, result)
    result.packets_received = len(rtts)
    if rtts:
        result.rtt_min_us, result.rtt_max_us = min(rtts), max(rtts)
        result.rtt_avg_us = round(sum(rtts) / len(rtts))
    lost = loss_pct(request.packets, len(rtts))
    if lost > request.max_loss_pct:
        shown = host if host == str(address) else f"{host} ({address})"
        if (result.packets_sent or 0) < request.packets:
            problem = f"the {request.timeout_ms} ms ran out after {result.packets_sent} were sent"
        raise _Failure(
            FAILED_PACKET_LOSS,
            f"{lost:.0f}% of {request.packets} echo requests to {shown} lost, at most "
            f"{request.max_loss_pct}% allowed" + (f"; {problem}" if problem else ""),
        )


def _echo(address: IPAddress, packets: int, clock: _Clock, result: ProbeResult):
    """Send the echo requests one after the other, counting them in ``result``; returns the
    round trips (µs) of those answered, and the last ICMP error or socket failure met."""
    rtts: list[int] = []
    problem = None
    identifier = unique_identifier()
    sock = _icmp_socket(address.version)
    result.packets_sent = 0
    try:
        for sequence in range(1, packets + 1):
            try:
                wait = clock.remaining() / (packets - sequence + 1)
            except TimeoutError:
                break  # the rest count as lost
            echo = ICMPRequest(str(address), id=identifier, sequence=sequence)
            try:
                sock.send(echo)
                result.packets_sent += 1
                reply = sock.receive(echo, timeout=wait)
                reply.raise_for_status()
            except TimeoutExceeded:
                continue
            except ICMPError as exc:
                problem = f"{exc.reply.source} answered: {exc}"
                continue
            except ICMPSocketError as exc:
                problem = f"the echo to {address} failed: {exc}"
                continue
            rtts.append(max(0, round((reply.time - echo.time) * 1_000_000)))
            if result.first_byte_us is None:
                result.first_byte_us = clock.elapsed_us()
    finally:
        sock.close()
    return rtts, problem
