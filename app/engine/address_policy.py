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

IPv6 addresses that carry an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged as that IPv4
address, because that is where a connection to them ends up.
"""

from __future__ import annotations

import ipaddress
import re
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

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
    if policy not in POLICIES:
        raise ValueError(f"unknown target policy {policy!r}")
    address = parse_ip(ip)
    if address is None:
        raise ValueError(f"{ip!r} is not an IP address")
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
    if address in _NAT64:
        return "NAT64 for", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour:
        return "6to4 for", address.sixtofour
    return None


def _refusal(address: IPAddress, policy: str) -> str | None:
    tables = _REFUSED_BY_DEFAULT + (_REFUSED_BY_STRICT if policy == "strict" else ())
    for network, name in tables:
        if address in network:
            return name
    if policy == "strict" and address.version == 6 and address not in _GLOBAL_UNICAST:
        return "outside the global unicast range 2000::/3"
    return None
