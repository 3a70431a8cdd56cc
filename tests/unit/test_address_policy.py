"""The target policy, address by address, and the guard that applies it to a host and port.
Nothing connects here; names resolve through the system resolver or one given by the test."""

import ipaddress
import socket

import pytest

from app.config import TARGET_POLICIES
from app.engine import address_policy
from app.engine.address_policy import (
    POLICIES,
    Refused,
    Unresolved,
    check_address,
    guard,
    literal_refusal,
    parse_host,
    parse_ip,
)

# 127.0.0.1 and 169.254.169.254 in every spelling a URL host can use.
LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "2130706433",  # decimal
    "0x7f000001",  # hex
    "0x7f.0.0.1",  # hex part
    "0177.0.0.1",  # octal
    "127.1",  # short
    "127.0.1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:7f00:1",
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "64:ff9b::7f00:1",  # NAT64
    "64:ff9b::127.0.0.1",
    "2002:7f00:1::",  # 6to4
]
METADATA_SPELLINGS = [
    "169.254.169.254",
    "2852039166",
    "0xa9fea9fe",
    "0251.0376.0251.0376",
    "169.254.43518",
    "::ffff:169.254.169.254",
    "::ffff:a9fe:a9fe",
    "64:ff9b::a9fe:a9fe",
    "2002:a9fe:a9fe::1",
]
# Refused by every policy but "open".
NEVER_A_TARGET = [
    *METADATA_SPELLINGS,
    "169.254.0.1",
    "fe80::1",
    "fe80::1%eth0",
    "100.100.100.200",  # Alibaba Cloud metadata
    "fd00:ec2::254",  # AWS metadata over IPv6
    "0.0.0.0",
    "0",
    "::",
    "::ffff:0.0.0.0",
    "224.0.0.1",
    "239.255.255.250",
    "ff02::1",
    "255.255.255.255",
    "::ffff:255.255.255.255",
]
# Allowed by default (self-hosters watch their own network), refused by strict.
LOCAL_OR_SPECIAL = [
    *LOOPBACK_SPELLINGS,
    "::1",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "::ffff:192.168.1.1",
    "fc00::1",
    "fd12:3456::1",
    "100.64.0.1",  # shared address space, which is_private misses
    "100.127.255.255",
    "0.1.2.3",
    "192.0.0.1",
    "192.0.2.1",  # documentation
    "198.51.100.7",
    "203.0.113.9",
    "2001:db8::1",
    "3fff::1",
    "198.18.0.1",  # benchmarking
    "198.19.255.255",
    "192.88.99.1",
    "240.0.0.1",  # reserved
    "2001::1",  # Teredo, in the IETF protocol assignments
    "64:ff9b:1::1",  # local-use NAT64
    "fec0::1",  # site-local
    "100::1",  # discard-only
]
GLOBAL = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "11.0.0.1",
    "172.32.0.1",
    "100.128.0.1",
    "198.20.0.1",
    "2606:4700::1",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


def test_policies_are_the_settings_choices():
    assert POLICIES == TARGET_POLICIES


@pytest.mark.parametrize("ip", NEVER_A_TARGET)
def test_default_and_strict_refuse_what_is_never_a_target(ip):
    assert check_address(ip, "default")
    assert check_address(ip, "strict")


@pytest.mark.parametrize("ip", LOCAL_OR_SPECIAL)
def test_default_allows_local_networks_that_strict_refuses(ip):
    assert check_address(ip, "default") is None
    assert check_address(ip, "strict")


@pytest.mark.parametrize("ip", GLOBAL)
def test_every_policy_allows_globally_routable_addresses(ip):
    assert check_address(ip, "default") is None
    assert check_address(ip, "strict") is None


@pytest.mark.parametrize("ip", NEVER_A_TARGET + LOCAL_OR_SPECIAL + GLOBAL)
def test_open_allows_everything(ip):
    assert check_address(ip, "open") is None


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_is_judged_as_127_0_0_1(spelling):
    reason = check_address(spelling, "strict")
    assert reason.endswith("is a loopback address")
    assert "127.0.0.1" in reason


@pytest.mark.parametrize(
    ("ip", "policy", "reason"),
    [
        ("169.254.169.254", "default", "169.254.169.254 is a link-local address"),
        ("2852039166", "default", "169.254.169.254 is a link-local address"),
        ("0x7f.1", "strict", "127.0.0.1 is a loopback address"),
        ("::1", "strict", "::1 is a loopback address"),
        ("fe80::1", "default", "fe80::1 is a link-local address"),
        ("0.0.0.0", "default", "0.0.0.0 is the unspecified address"),
        ("255.255.255.255", "default", "255.255.255.255 is the broadcast address"),
        ("224.0.0.251", "default", "224.0.0.251 is a multicast address"),
        ("100.100.100.200", "default", "100.100.100.200 is a cloud metadata address"),
        ("10.0.0.1", "strict", "10.0.0.1 is a private address"),
        ("100.64.0.1", "strict", "100.64.0.1 is a shared address (carrier-grade NAT)"),
        ("192.0.2.1", "strict", "192.0.2.1 is a documentation address"),
        ("198.18.0.1", "strict", "198.18.0.1 is a benchmarking address"),
        ("240.0.0.1", "strict", "240.0.0.1 is a reserved address"),
        ("fc00::1", "strict", "fc00::1 is a unique local (private) address"),
        ("fec0::1", "strict", "fec0::1 is outside the global unicast range 2000::/3"),
        (
            "64:ff9b::a9fe:a9fe",
            "default",
            "64:ff9b::a9fe:a9fe (NAT64 for 169.254.169.254) is a link-local address",
        ),
        (
            "2002:a9fe:a9fe::",
            "default",
            "2002:a9fe:a9fe:: (6to4 for 169.254.169.254) is a link-local address",
        ),
    ],
)
def test_reasons_name_the_address_and_what_it_is(ip, policy, reason):
    assert check_address(ip, policy) == reason


def test_mapped_addresses_name_the_ipv4_inside():
    reason = check_address("::ffff:169.254.169.254", "default")
    assert reason.endswith("(IPv4-mapped 169.254.169.254) is a link-local address")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("2606:4700::1", "2606:4700::1"),
    ],
)
def test_parse_ip_reads_every_spelling(text, expected):
    assert parse_ip(text) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    "name", ["localhost", "example.com", "cafe.be", "1.2.3.4.5", "256.1.1.1", "127.0.0.1 x", ""]
)
def test_parse_ip_leaves_names_alone(name):
    assert parse_ip(name) is None


def test_names_and_unknown_policies_are_programming_errors():
    with pytest.raises(ValueError, match="not an IP address"):
        check_address("localhost", "default")
    with pytest.raises(ValueError, match="unknown target policy"):
        check_address("127.0.0.1", "lenient")


# --- the guard: a host as a user types it, and a port ---------------------------------------

# Every way a user can write a loopback host, with the address the guard must judge.
LOOPBACK_HOSTS = [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("::1", "::1"),
    ("[::1]", "::1"),
    ("::1%lo", "::1%lo"),
    ("[::1%25lo]", "::1%lo"),  # a zone id as RFC 6874 writes it in a URL
    ("::ffff:127.0.0.1", "::ffff:7f00:1"),
    ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
    ("::127.0.0.1", "::7f00:1"),
    ("[::127.0.0.1]", "::7f00:1"),
    ("[64:ff9b::7f00:1]", "64:ff9b::7f00:1"),
]


@pytest.mark.parametrize(("host", "address"), LOOPBACK_HOSTS)
def test_the_guard_reads_every_spelling_of_a_host(host, address):
    assert str(parse_host(host)) == address
    assert [str(a) for a in guard(host, 80, "open")] == [address]


@pytest.mark.parametrize(("host", "address"), LOOPBACK_HOSTS)
def test_the_guard_refuses_every_spelling_of_loopback_under_strict(host, address):
    with pytest.raises(Refused) as info:
        guard(host, 80, "strict")
    assert not isinstance(info.value, Unresolved)
    assert info.value.policy == "strict"
    assert str(info.value).startswith(f"Refused by the target policy 'strict': {address}")
    assert str(info.value).endswith("is a loopback address")


@pytest.mark.parametrize("host", ["fe80::1%eth0", "[fe80::1%25eth0]", "[::ffff:169.254.169.254]"])
def test_the_guard_refuses_link_local_with_or_without_zone_under_default(host):
    with pytest.raises(Refused, match="is a link-local address"):
        guard(host, 80, "default")


@pytest.mark.parametrize(
    "host",
    [
        "",
        " ",
        "[127.0.0.1]",
        "[::1",
        "::1]",
        "a b",
        "exa mple.com",
        "host/path",
        "user@host",
        "127.0.0.1%lo",
        "[::1%]",
        "::g",
        "-bad-.example",
        "a" * 64 + ".example",
        "%00",
    ],
)
def test_a_host_the_guard_cannot_read_is_refused_under_every_policy(host):
    for policy in POLICIES:
        with pytest.raises(Refused) as info:
            guard(host, 80, policy, resolver=lambda name, port: ["8.8.8.8"])
        assert not isinstance(info.value, Unresolved)
        assert info.value.policy is None and repr(host) in str(info.value)


def test_a_name_that_does_not_resolve_is_refused_with_the_reason():
    with pytest.raises(Unresolved) as info:
        guard("does-not-exist.invalid", 80, "open")
    assert str(info.value).startswith("Resolving does-not-exist.invalid failed: ")


def test_a_name_without_addresses_is_refused():
    with pytest.raises(Unresolved, match="^empty.test has no IP addresses$"):
        guard("empty.test", 80, "strict", resolver=lambda name, port: [])


def test_localhost_is_judged_by_what_it_resolves_to():
    with pytest.raises(Refused, match=r"loopback address \(an address of localhost\)$"):
        guard("localhost", 80, "strict")
    assert all(a.is_loopback for a in guard("localhost", 80, "default"))


def test_one_forbidden_record_refuses_the_whole_name():
    def mixed(name, port):
        return ["93.184.216.34", "10.0.0.1"]

    with pytest.raises(Refused, match="10.0.0.1 is a private address"):
        guard("mixed.test", 443, "strict", resolver=mixed)
    assert [str(a) for a in guard("mixed.test", 443, "default", mixed)] == [
        "93.184.216.34",
        "10.0.0.1",
    ]


def test_the_resolver_is_asked_for_the_name_and_port():
    asked = []

    def resolver(name, port):
        asked.append((name, port))
        return ["2606:4700::1", "2606:4700::1"]

    assert [str(a) for a in guard("Bücher.example", 8443, "strict", resolver)] == ["2606:4700::1"]
    assert asked == [("Bücher.example", 8443)]


def test_a_resolver_timeout_is_not_a_refusal():
    def slow(name, port):
        raise TimeoutError

    with pytest.raises(TimeoutError):
        guard("slow.test", 80, "strict", resolver=slow)


@pytest.mark.parametrize(
    ("host", "policy", "refusal"),
    [
        ("[::1]", "strict", "The target policy 'strict' refuses it: ::1 is a loopback address"),
        (
            "0x7f.1",
            "strict",
            "The target policy 'strict' refuses it: 127.0.0.1 is a loopback address",
        ),
        (
            "169.254.169.254",
            "default",
            "The target policy 'default' refuses it: 169.254.169.254 is a link-local address",
        ),
        ("a b", "open", "'a b' is neither an IP address nor a host name"),
        ("localhost", "strict", None),  # a name: judged when connecting
        ("127.0.0.1", "default", None),
        ("8.8.8.8", "strict", None),
    ],
)
def test_literal_refusal_judges_without_a_lookup(host, policy, refusal):
    assert literal_refusal(host, policy) == refusal


def test_an_ipv4_compatible_address_is_named_as_such():
    assert check_address("::a9fe:a9fe", "default") == (
        "::a9fe:a9fe (IPv4-compatible 169.254.169.254) is a link-local address"
    )


def test_a_resolver_that_cannot_read_the_name_is_unresolved_with_its_reason():
    def resolver(host, port):
        raise ValueError("label too long")

    with pytest.raises(Unresolved) as unresolved:
        guard("example.test", 80, "default", resolver)
    assert str(unresolved.value) == "Resolving example.test failed: label too long"


def test_the_system_resolver_lists_each_address_once():
    # One answer per address, not one per socket type (stream, datagram, raw).
    assert address_policy.resolve("127.0.0.1", 80) == ["127.0.0.1"]
    assert address_policy.resolve("::1", 80) == ["::1"]


@pytest.mark.parametrize(
    ("host", "address"),
    [("::1%25", "::1%25"), ("[fe80::1%251]", "fe80::1%1"), ("[fe80::1%2501]", "fe80::1%01")],
)
def test_a_zone_id_loses_its_url_escape_only_when_something_follows_it(host, address):
    assert str(parse_host(host)) == address


@pytest.mark.parametrize("host", ["é" * 70 + ".test", "a b.test", "-a-.test"])
def test_what_no_resolver_should_see_is_refused_as_no_host(host):
    with pytest.raises(Refused, match="is neither an IP address nor a host name"):
        parse_host(host)


def test_a_lookup_that_fails_says_why_in_words():
    def failing(host, port):
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(Unresolved) as info:
        guard("gone.test", 80, "open", failing)
    assert str(info.value) == "Resolving gone.test failed: Name or service not known"


def test_guarded_lookups_keep_the_callers_arguments():
    answers = socket.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)  # installed or not
    with address_policy.guarded_resolution("open"):
        assert socket.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM) == answers
        assert socket.getaddrinfo("127.0.0.1", 80, socket.AF_INET, socket.SOCK_STREAM) == answers
    assert len(answers) == 1
    assert socket.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM) == answers


def test_a_guarded_lookup_of_a_name_given_as_bytes_names_it():
    with address_policy.guarded_resolution("strict"), pytest.raises(Refused) as info:
        socket.getaddrinfo(b"localhost", 80, type=socket.SOCK_STREAM)
    assert str(info.value).endswith("(an address of localhost)")
