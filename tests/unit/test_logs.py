"""Secrets redacted from log lines (app.logs), one line at a time; a real `upcron up` run is
grepped in tests/integration/test_logs.py."""

import io
import logging

import pytest

from app import logs
from app.services.api_keys import PREFIX_LEN, SECRET_PREFIX

# Shaped as app.services.api_keys makes keys (token_urlsafe(32)); fixed, since it is in the
# tests' ids, which must be the same in each test process.
KEY = SECRET_PREFIX + "xdv7hjHavLZkZ-1V3TosgJGmfUTr-WuBvIt8cCHnOM4"
SHOWN = f"{KEY[:PREFIX_LEN]}…[redacted]"


def test_a_key_keeps_the_public_prefix_the_dashboard_shows():
    assert logs.redact(f"?token={KEY}") == f"?token={SHOWN}"
    assert SHOWN.startswith("upk_") and len(SHOWN.split("…")[0]) == 12


@pytest.mark.parametrize(
    ("line", "redacted"),
    [
        (
            f'"GET /compat/setcronjob/api/cron.list?token={KEY} HTTP/1.1" 200',
            f'"GET /compat/setcronjob/api/cron.list?token={SHOWN} HTTP/1.1" 200',
        ),
        (f"/api/x?a=1&Key={KEY}&b=2", f"/api/x?a=1&Key={SHOWN}&b=2"),
        (f"/api/x?API_KEY={KEY}", f"/api/x?API_KEY={SHOWN}"),
        (f'"https://example.com/?apikey={KEY}"', f'"https://example.com/?apikey={SHOWN}"'),
        (f"Authorization: Bearer {KEY}", f"Authorization: Bearer {SHOWN}"),
        (f"{{'x-api-key': '{KEY}'}}", f"{{'x-api-key': '{SHOWN}'}}"),
        (f"used {KEY}, alone", f"used {SHOWN}, alone"),
        # Other secrets: nothing of them is kept.
        ("/hook?access_token=abc123&page=2", "/hook?access_token=[redacted]&page=2"),
        ("token=hunter2", "token=[redacted]"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [redacted]"),
        ("Proxy-Authorization: secret", "Proxy-Authorization: [redacted]"),
        # Not secrets: a ping URL is the heartbeat's address; empty values stay empty.
        (
            '"GET /ping/4f1c2b8e-3a1d-4e8f-9b7a-2d6c5e4f3a21/fail HTTP/1.1"',
            '"GET /ping/4f1c2b8e-3a1d-4e8f-9b7a-2d6c5e4f3a21/fail HTTP/1.1"',
        ),
        ("/api/x?page=2&key=", "/api/x?page=2&key="),
        ("schedule rebuilt from SQL: 3 items", "schedule rebuilt from SQL: 3 items"),
    ],
)
def test_redact(line, redacted):
    assert logs.redact(line) == redacted
    assert logs.redact(redacted) == redacted  # twice is once


def test_the_filter_redacts_messages_and_tracebacks_before_any_handler_formats_them():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(logs.FORMAT))
    handler.addFilter(logs.REDACT)
    log = logging.getLogger("upcron-test-redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("probe of %s failed", f"https://example.com/hook?token={KEY}")
        try:
            raise ValueError(f"bad answer from /x?key={KEY}")
        except ValueError:
            log.exception("unexpected")
    finally:
        log.removeHandler(handler)
    output = stream.getvalue()
    assert KEY not in output
    assert f"upcron-test-redaction: probe of https://example.com/hook?token={SHOWN}" in output
    assert f"ValueError: bad answer from /x?key={SHOWN}" in output
