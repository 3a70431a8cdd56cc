"""How the probe reads a URL into what it connects to and what it asks for (probe._parse_url)."""

from __future__ import annotations

import pytest

from app.engine.probe import _parse_url


@pytest.mark.parametrize(
    ("url", "https", "host", "port", "path"),
    [
        ("http://a.test", False, "a.test", 80, "/"),
        ("https://a.test", True, "a.test", 443, "/"),
        ("http://a.test:8080/x?y=1", False, "a.test", 8080, "/x?y=1"),
        ("HTTPS://A.test:8443", True, "a.test", 8443, "/"),
        ("http://0x7f.1/", False, "127.0.0.1", 80, "/"),
        ("http://bücher.test/", False, "xn--bcher-kva.test", 80, "/"),
        # What may stand in a path stays as it is; what may not is escaped.
        ("http://a.test/a;b=c,d@e:f/~g!h$i&j'k(l)m*n+o", False, "a.test", 80,
         "/a;b=c,d@e:f/~g!h$i&j'k(l)m*n+o"),
        ("http://a.test/a b", False, "a.test", 80, "/a%20b"),
    ],
)  # fmt: skip
def test_a_url_gives_scheme_host_port_and_request_target(url, https, host, port, path):
    target = _parse_url(url)
    assert (target.https, target.host, target.port, target.path) == (https, host, port, path)
