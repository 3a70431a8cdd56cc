"""The target policy, address by address. Only the policy function runs here: nothing connects."""

import ipaddress

import pytest

from app.config import TARGET_POLICIES
from app.engine.address_policy import POLICIES, check_address, parse_ip

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
