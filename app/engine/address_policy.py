"""Which addresses Upcron may send requests to (``UPCRON_TARGET_POLICY``).

A monitoring server makes requests to URLs its users type in, so without a policy anyone who
may add a monitor can make it fetch the cloud metadata service or poke at the host's own
network. The policies:

- ``default`` refuses what is never a legitimate target: link-local addresses (home of the
  cloud metadata services), the known metadata addresses outside that range, unspecified,
  multicast and broadcast. It allows private networks and loopback, because self-hosters watch
  their own LAN.
- ``strict`` allows only globally routable addresses.
- ``open`` allows everything.

IPv6 addresses that carry an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are
judged as that IPv4 address, because that is where a connection to them ends up.

Every destination a user types and the server then connects to passes :func:`guard` with its
host and port: monitor and cron job URLs and webhooks (through the probe, which connects to the
addresses the guard returned), the host of an Apprise URL and the mail server typed in the
dashboard. The guard fails closed: a host it cannot read as an IP address or a host name, and a
name that does not resolve, are refused like a forbidden address. Where a library makes the
connection itself (Apprise, smtplib), :func:`guarded_resolution` judges every answer the
library's own name lookups get, so the address it connects to is the one that was checked.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

POLICIES = ("default", "strict", "open")


def _table(*rows: tuple[str, str]) -> tuple:
    return tuple((ipaddress.ip_network(network), name) for network, name in rows)


# First match wins, so the more specific networks come first.
_REFUSED_BY_DEFAULT = _table(
    ("0.0.0.0/32", "the unspecified address"),
    ("255.255.255.255/32", "the broadcast address"),
    ("169.254.0.0/16", "a link-local address"),
    ("100.100.100.200/32", "a cloud metadata address"),  # Alibaba Cloud
    ("224.0.0.0/4", "a multicast address"),
    ("::/128", "the unspecified address"),
    ("fe80::/10", "a link-local address"),
    ("fd00:ec2::254/128", "a cloud metadata address"),  # AWS, over IPv6
    ("ff00::/8", "a multicast address"),
)

# Strict refuses these as well: everything the IANA special-purpose registries list as not
# globally reachable. Python's ``is_private``/``is_global`` miss some of them (100.64.0.0/10,
# multicast) and change between versions, so the table is explicit.
_REFUSED_BY_STRICT = _table(
    ("0.0.0.0/8", "in the 'this network' block"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a shared address (carrier-grade NAT)"),
    ("127.0.0.0/8", "a loopback address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol assignment"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a 6to4 relay anycast address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("240.0.0.0/4", "a reserved address"),
    ("::1/128", "a loopback address"),
    ("fc00::/7", "a unique local (private) address"),
    ("2001:db8::/32", "a documentation address"),
    ("3fff::/20", "a documentation address"),
    ("2001::/23", "an IETF protocol assignment"),
)

# Every globally routable IPv6 unicast address is in 2000::/3.
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# The deprecated IPv4-compatible form ::a.b.c.d; :: and ::1 are themselves.
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

# What inet_aton may read as an IPv4 address: digits, hex digits, "x" and dots.
_LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)


def parse_ip(text: str) -> IPAddress | None:
    """The address ``text`` spells, or None if it is a name.

    Besides the standard forms this reads every legacy IPv4 spelling resolvers and browsers
    accept (``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``), so a URL cannot sneak
    a literal address past the policy by writing it oddly.
    """
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def check_address(ip: str, policy: str) -> str | None:
    """None if ``policy`` allows connecting to ``ip``, else the reason, naming the address.

    ``ip`` may be in any spelling :func:`parse_ip` reads; anything else is a ``ValueError``,
    as is an unknown policy.
    """
    address = parse_ip(ip)
    if address is None:
        raise ValueError(f"{ip!r} is not an IP address")
    return judge(address, policy)


def judge(address: IPAddress, policy: str) -> str | None:
    """:func:`check_address` for an address already parsed (the guard's, for each address a
    name resolves to)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown target policy {policy!r}")
    if policy == "open":
        return None
    judged, described = address, str(address)
    if address.version == 6 and (embedded := _embedded_ipv4(address)):
        kind, judged = embedded
        described = f"{address} ({kind} {judged})"
    reason = _refusal(judged, policy)
    return None if reason is None else f"{described} is {reason}"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    if address.ipv4_mapped:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return "IPv4-compatible", ipaddress.IPv4Address(int(address))
    if address in _NAT64:
        return "NAT64 for", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour:
        return "6to4 for", address.sixtofour
    return None


# Each policy's refused networks of one IP version, in the order above: an address is only
# ever compared with networks of its own version (the guard judges every address a check
# connects to, so this runs on every probe).
_REFUSED = {
    (policy, version): tuple(
        (network, name)
        for network, name in _REFUSED_BY_DEFAULT
        + (_REFUSED_BY_STRICT if policy == "strict" else ())
        if network.version == version
    )
    for policy in ("default", "strict")
    for version in (4, 6)
}


def _refusal(address: IPAddress, policy: str) -> str | None:
    for network, name in _REFUSED[policy, address.version]:
        if address in network:
            return name
    if policy == "strict" and address.version == 6 and address not in _GLOBAL_UNICAST:
        return "outside the global unicast range 2000::/3"
    return None


# --- the guard -------------------------------------------------------------------------------


class Refused(OSError):
    """A destination the guard refuses: a forbidden address, or a host it cannot judge.

    An ``OSError``, so a library that meets it inside :func:`guarded_resolution` handles it
    as the connection failure it is. ``policy`` is None when the host was not a host at all.
    """

    def __init__(self, reason: str, policy: str | None = None):
        self.reason = reason
        self.policy = policy
        super().__init__(f"Refused by the target policy '{policy}': {reason}" if policy else reason)


class Unresolved(Refused):
    """A name that does not resolve: nothing to connect to, and perhaps only for a while."""


# A host name: labels of letters, digits, "-" and "_" (SRV-style names), at most 253
# characters, an optional final dot. Anything else cannot be a name a resolver should see.
_HOST_NAME = re.compile(
    r"(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
    r"(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?",
    re.IGNORECASE,
)


def parse_host(host: str) -> IPAddress | None:
    """The address a host spells, or None if it is a host name; :class:`Refused` otherwise.

    Reads what URLs and settings carry: IPv6 literals with or without brackets, zone ids
    (``fe80::1%eth0``, ``[::1%25lo]`` as RFC 6874 writes them in URLs), every legacy IPv4
    spelling :func:`parse_ip` reads, and IDNA names.
    """
    text = host.strip() if isinstance(host, str) else ""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
        if ":" not in text:
            raise Refused(f"{host!r} has brackets but is not an IPv6 address")
    if "%" in text:
        address, _, zone = text.partition("%")
        zone = zone[2:] if zone.startswith("25") and len(zone) > 2 else zone
        try:
            return ipaddress.IPv6Address(f"{address}%{zone}")
        except ValueError:
            raise Refused(f"{host!r} is not an IPv6 address with a zone id") from None
    literal = parse_ip(text)
    if literal is not None:
        return literal
    try:
        name = text.encode("idna").decode("ascii") if not text.isascii() else text
    except UnicodeError:
        name = ""
    if not _HOST_NAME.fullmatch(name) or ":" in text:
        raise Refused(f"{host!r} is neither an IP address nor a host name")
    return None


def literal_refusal(host: str, policy: str) -> str | None:
    """Why ``policy`` refuses ``host`` without looking anything up, or None.

    For checks when a destination is saved: an IP address the policy refuses, or a host that
    is no host. Names pass; they are judged by :func:`guard` when connecting.
    """
    try:
        literal = parse_host(host)
    except Refused as refused:
        return str(refused)
    reason = None if literal is None else check_address(str(literal), policy)
    return None if reason is None else f"The target policy '{policy}' refuses it: {reason}"


def resolve(host: str, port: int) -> list[str]:
    """The IP addresses of ``host``, by the system's resolver."""
    answers = _system_getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in answers]  # (host, port, ...): host is a str for IP


def guard(host: str, port: int, policy: str, resolver: Resolver | None = None) -> list[IPAddress]:
    """The addresses to connect to for ``host``, every one allowed by ``policy``.

    The one check for every destination a user types (URLs, channels, mail servers, and any
    later kind that connects to a host and port). Raises :class:`Refused`, naming the address
    and what it is, when the host cannot be read or any of its addresses is refused (a name
    with mixed records is a mistake or an attempt to slip one past), and :class:`Unresolved`
    when a name has no addresses. Connect only to the addresses returned, never to the name,
    so that a second lookup cannot answer differently.

    Args:
        resolver: ``(host, port) -> IP addresses``; :func:`resolve` by default. A timeout
            it raises passes through, so the caller can tell a slow resolver from a refusal.
    """
    literal = parse_host(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            found = (resolver or resolve)(host, port)
        except (TimeoutError, Refused):
            raise
        except (OSError, ValueError) as exc:  # UnicodeError is a ValueError
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise Unresolved(f"Resolving {host} failed: {why}") from None
        if not found:
            raise Unresolved(f"{host} has no IP addresses")
        addresses = list(dict.fromkeys(ipaddress.ip_address(a) for a in found))
    for address in addresses:
        reason = judge(address, policy)
        if reason:
            raise Refused(reason if literal else f"{reason} (an address of {host})", policy)
    return addresses


# --- libraries that connect by themselves ----------------------------------------------------

_system_getaddrinfo = socket.getaddrinfo
# (policy, refusals) while a block of guarded_resolution runs in this context.
_guarding: ContextVar[tuple[str, list[Refused]] | None] = ContextVar(
    "upcron_guarded_resolution", default=None
)
_install_lock = threading.Lock()


def _guarded_getaddrinfo(host, port, *args, **kwargs):
    """socket.getaddrinfo, judging each answer inside :func:`guarded_resolution`."""
    guarding = _guarding.get()
    if guarding is None:
        return _system_getaddrinfo(host, port, *args, **kwargs)
    policy, refusals = guarding
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        literal = parse_host(name)  # a host the guard cannot read is refused here too
        answers = _system_getaddrinfo(host, port, *args, **kwargs)
        for *_, sockaddr in answers:
            reason = check_address(str(sockaddr[0]), policy)
            if reason:
                raise Refused(reason if literal else f"{reason} (an address of {name})", policy)
    except Refused as refused:
        refusals.append(refused)
        raise
    return answers


@contextmanager
def guarded_resolution(policy: str) -> Iterator[list[Refused]]:
    """Judge every name lookup made through ``socket.getaddrinfo`` inside the block.

    For libraries that make their own connections (Apprise's plugins through requests and
    urllib3, smtplib): they connect to the addresses getaddrinfo answered, so refusing the
    answer refuses the connection, with no second lookup in between. The lookup raises
    :class:`Refused`, which libraries report as a failed connection; the list yielded
    collects the refusals so the caller can say why. The scope is a context variable: other
    threads are untouched, except those the block hands its context to (Apprise's worker
    threads do). A library that passes a name straight to the C library (a UDP ``sendto``)
    is not seen; check its host with :func:`guard` before calling it.
    """
    with _install_lock:
        if socket.getaddrinfo is not _guarded_getaddrinfo:
            socket.getaddrinfo = _guarded_getaddrinfo
    refusals: list[Refused] = []
    token = _guarding.set((policy, refusals))
    try:
        yield refusals
    finally:
        _guarding.reset(token)
