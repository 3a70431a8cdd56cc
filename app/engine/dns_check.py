"""A DNS check: ask a resolver for one record type of a name, and compare the answer.

The resolver is the monitor's own (``"ip"`` or ``"ip:port"``), judged by the target guard
like every address a user types, or else the servers the system is configured with
(``/etc/resolv.conf``): those are the operator's own setting, as the mail server is. One
query over UDP, again over TCP when the answer is truncated, all within one time budget
(the probe's ``_Clock``). The result is a ``ProbeResult``, so judging and recording treat
it like an HTTP check: ``dns_us`` is when the resolver's address was judged, and
``first_byte_us`` when the answer arrived.

Outcomes: ``ok``; ``failed_dns`` for NXDOMAIN, SERVFAIL (and the other error codes) and an
answer without records of the type; ``failed_dns_answer`` when an expected value is missing
(the reason names what came back); ``failed_timeout``; ``failed_connect`` (the resolver is
unreachable); ``failed_blocked_target``; ``failed_internal`` (a bug, logged).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.reversename

from app.engine.address_policy import Resolver
from app.engine.probe import (
    ProbeResult,
    _checked_addresses,
    _Clock,
    _Failure,
    _step,
    _Target,
    within_budget,
)
from app.models.history import (
    FAILED_CONNECT,
    FAILED_DNS,
    FAILED_DNS_ANSWER,
    FAILED_TIMEOUT,
)

RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "SRV", "CAA", "PTR")
DNS_PORT = 53


@dataclass(frozen=True)
class DnsRequest:
    """What to ask, whom, and what the answer must hold."""

    host: str  # the name to query; for PTR an IP address is turned into its reverse name
    record_type: str = "A"
    resolver: str | None = None  # "ip" or "ip:port"; None: the system's resolvers
    expected_values: tuple[str, ...] = ()  # each must appear; none: any answer will do
    timeout_ms: int = 10_000
    policy: str = "default"  # see address_policy


def parse_resolver(text: str) -> tuple[str, int]:
    """(address, port) of ``"ip"``, ``"ip:port"``, ``"[ipv6]"`` or ``"[ipv6]:port"``.

    Raises ValueError with a sentence for the person who typed it.
    """
    text = text.strip()
    port = DNS_PORT
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError("Write an IPv6 resolver as [address] or [address]:port.")
            port = _port(rest[1:])
    elif text.count(":") == 1:
        address, _, port_text = text.partition(":")
        port = _port(port_text)
    else:
        address = text  # an IPv4 address, or an IPv6 one without a port
    try:
        return str(ipaddress.ip_address(address)), port
    except ValueError:
        raise ValueError(
            "Enter the resolver's IP address, optionally with a port: 192.0.2.53, "
            "192.0.2.53:5353 or [2001:db8::53]:53."
        ) from None


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError("The resolver's port must be a whole number from 1 to 65535.")
    return int(text)


def resolver_name(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def normalise(value: str) -> str:
    """How answers and expected values are compared: any case, no trailing dot."""
    return value.strip().lower().rstrip(".")


def query(request: DnsRequest, resolver: Resolver | None = None) -> ProbeResult:
    """Ask and judge within the budget; never raises for what the resolver does.

    Args:
        resolver: ``(host, port) -> IP addresses``, which judges a resolver given by address
            (the system's lookup by default).
    """
    shown = f"{request.record_type} {request.host}"
    return within_budget(_run, request, shown, "querying", resolver)


def _servers(
    request: DnsRequest, resolver: Resolver, clock: _Clock, result: ProbeResult
) -> list[tuple[str, int]]:
    """The monitor's resolver, once the guard allows it, or the system's."""
    if request.resolver:
        address, port = parse_resolver(request.resolver)
        target = _Target(url=request.resolver, https=False, host=address, port=port, path="")
        _checked_addresses(target, request.policy, resolver, clock, result)  # a literal
        return [(address, port)]
    try:
        system = dns.resolver.Resolver()
    except dns.resolver.NoResolverConfiguration:
        raise _Failure(FAILED_DNS, "The system has no DNS resolvers configured") from None
    result.dns_us = clock.elapsed_us()
    # From the system's configuration every server is an address (as text).
    return [(server, system.port) for server in system.nameservers if isinstance(server, str)]


def _run(request: DnsRequest, resolver: Resolver, clock: _Clock, result: ProbeResult) -> None:
    name = _query_name(request)
    rdtype = dns.rdatatype.from_text(request.record_type)
    servers = _servers(request, resolver, clock, result)
    response, server = _ask(dns.message.make_query(name, rdtype), servers, clock)
    result.first_byte_us = clock.elapsed_us()
    shown = request.host.strip()
    code = response.rcode()
    if code == dns.rcode.NXDOMAIN:
        raise _Failure(FAILED_DNS, f"NXDOMAIN: {shown} does not exist")
    if code == dns.rcode.SERVFAIL:
        raise _Failure(FAILED_DNS, f"SERVFAIL: the resolver {server} failed to answer for {shown}")
    if code != dns.rcode.NOERROR:
        text = dns.rcode.to_text(code)
        raise _Failure(FAILED_DNS, f"{text}: the resolver {server} answered {text} for {shown}")
    records = [rd for rrset in response.answer if rrset.rdtype == rdtype for rd in rrset]
    if not records:
        raise _Failure(FAILED_DNS, f"No answer: {shown} has no {request.record_type} records")
    answered = [_text(record) for record in records]
    found = {normalise(value) for record in records for value in _forms(record)}
    if any(normalise(value) not in found for value in request.expected_values):
        raise _Failure(
            FAILED_DNS_ANSWER,
            f"{request.record_type} {shown} answered {', '.join(answered)}, "
            f"expected {', '.join(request.expected_values)}",
        )


def _query_name(request: DnsRequest) -> dns.name.Name:
    host = request.host.strip()
    if request.record_type == "PTR":
        try:
            return dns.reversename.from_address(host)
        except (ValueError, dns.exception.SyntaxError):
            pass  # already a name, such as 4.3.2.1.in-addr.arpa
    try:
        return dns.name.from_text(host)
    except dns.exception.DNSException as exc:
        raise _Failure(FAILED_DNS, f"{host} is not a name that can be queried: {exc}") from None


def _ask(message, servers: list[tuple[str, int]], clock: _Clock):
    """The first answer of the servers in turn (the next one when one cannot be reached),
    over UDP and over TCP when truncated."""
    failure = _Failure(FAILED_DNS, "No DNS server to ask")
    for address, port in servers:
        server = resolver_name(address, port)
        try:
            with _step(clock, f"querying {server}", FAILED_CONNECT):
                try:
                    response, _ = dns.query.udp_with_fallback(
                        message, address, timeout=clock.remaining(), port=port
                    )
                except dns.exception.Timeout:
                    raise TimeoutError from None
                except dns.exception.DNSException as exc:  # a malformed or mismatched reply
                    raise OSError(f"an unreadable answer ({exc})") from None
                return response, server
        except _Failure as exc:
            if exc.outcome == FAILED_TIMEOUT:
                raise
            failure = exc
    raise failure


def _text(record) -> str:
    """A record as people write it: text records without their quotes, names without the
    trailing dot."""
    if record.rdtype == dns.rdatatype.TXT:
        return "".join(part.decode("utf-8", "replace") for part in record.strings)
    return record.to_text().rstrip(".")


def _forms(record) -> list[str]:
    """The ways an expected value may name this record: its text, and for MX and SRV also
    the host they point to."""
    forms = [_text(record)]
    if record.rdtype == dns.rdatatype.MX:
        forms.append(record.exchange.to_text())
    elif record.rdtype == dns.rdatatype.SRV:
        forms.append(record.target.to_text())
    return forms
