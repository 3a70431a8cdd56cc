"""What a redirect does to the next request (probe._redirect), hop by hop: the method and body
as browsers change them, and credentials kept only for the same host and never sent from
https down to http."""

from __future__ import annotations

import pytest

from app.engine.probe import _parse_url, _redirect

SECRET = {"Authorization": "Bearer s3cret", "Cookie": "session=1", "X-Trace": "t"}
BODY_HEADERS = {"Content-Type": "application/json", "Content-Length": "2", "X-Trace": "t"}


def follow(status, method, source, target, headers=BODY_HEADERS, body=b"{}"):
    return _redirect(status, method, body, dict(headers), _parse_url(source), _parse_url(target))


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_post_redirected_by_301_302_or_303_becomes_a_bodyless_get(status):
    method, body, headers = follow(status, "POST", "http://a.test/form", "http://a.test/done")
    assert (method, body, headers) == ("GET", None, {"X-Trace": "t"})


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_other_methods_keep_their_body_except_after_303(status):
    assert follow(status, "PUT", "http://a.test/x", "http://a.test/y") == (
        "PUT",
        b"{}",
        BODY_HEADERS,
    )
    assert follow(303, "PUT", "http://a.test/x", "http://a.test/y") == (
        "GET",
        None,
        {"X-Trace": "t"},
    )


@pytest.mark.parametrize("status", [307, 308])
def test_307_and_308_keep_a_post_as_it_was(status):
    assert follow(status, "POST", "http://a.test/x", "http://a.test/y") == (
        "POST",
        b"{}",
        BODY_HEADERS,
    )


def test_a_head_stays_a_head_even_after_303():
    assert follow(303, "HEAD", "http://a.test/x", "http://a.test/y", body=None) == (
        "HEAD",
        None,
        BODY_HEADERS,
    )


@pytest.mark.parametrize(
    ("source", "target", "kept"),
    [
        ("http://a.test/x", "http://a.test/y", True),
        ("https://a.test/x", "https://a.test/y", True),
        ("http://a.test/x", "https://a.test/y", True),  # up to https on the same host
        ("https://a.test/x", "http://a.test/y", False),  # never down to http
        ("https://a.test/x", "https://b.test/y", False),  # another host
        ("http://a.test/x", "http://b.test/y", False),
    ],
)
def test_credentials_follow_only_to_the_same_host_and_never_down_to_http(source, target, kept):
    _, _, headers = follow(302, "GET", source, target, headers=SECRET, body=None)
    assert headers == (SECRET if kept else {"X-Trace": "t"})
