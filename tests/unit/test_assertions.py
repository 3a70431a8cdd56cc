"""The judging of response assertions (app.engine.assertions) on answers as the probe returns
them, and the reading of a form's text into typed values (app.services.assertions)."""

from __future__ import annotations

import json
import time

import pytest

from app.engine.assertions import MATCH_TIMEOUT_SEC, Assertion, evaluate, needs_body, show
from app.engine.checks import Rules, judge
from app.engine.probe import ProbeResult
from app.models.history import FAILED_ASSERTION, FAILED_HTTP_STATUS, FAILED_KEYWORD, OK
from app.services.assertions import from_text

DOCUMENT = {"queue": {"depth": 57}, "ready": True, "tags": ["eu", 1], "note": None, "n": 1}


def answer(body: bytes | str = json.dumps(DOCUMENT), status=200, headers=None, total_us=12_400):
    body = body.encode() if isinstance(body, str) else body
    return ProbeResult(
        outcome=OK,
        status_code=status,
        headers=headers or {"x-count": "12", "content-type": "application/json"},
        body=body,
        body_size=len(body),
        total_us=total_us,
    )


def reason(*assertions: Assertion, result: ProbeResult | None = None) -> str | None:
    return evaluate(assertions, result or answer())


def test_every_assertion_that_holds_gives_no_reason():
    assert (
        reason(
            Assertion("status", "eq", value=200),
            Assertion("response_time_ms", "lt", value=13),
            Assertion("response_time_ms", "eq", value=12),
            Assertion("header", "gte", "X-Count", 12),
            Assertion("header", "contains", "Content-Type", "json"),
            Assertion("body", "contains", value='"depth": 57'),
            Assertion("json", "eq", "queue", {"depth": 57}),
            Assertion("json", "eq", "ready", True),
            Assertion("json", "contains", "tags", "eu"),
            Assertion("json", "not_exists", "note"),
            Assertion("json", "exists", "queue.depth"),
        )
        is None
    )


def test_the_first_that_fails_names_itself_and_the_actual_value():
    assert (
        reason(Assertion("status", "eq", value=200), Assertion("json", "lt", "queue.depth", 10))
        == "json queue.depth = 57, expected lt 10"
    )
    assert reason(Assertion("header", "eq", "X-Count", "13")) == (
        'header X-Count = "12", expected eq "13"'
    )
    assert reason(Assertion("json", "gt", "queue.missing", 1)) == (
        "json queue.missing is missing, expected gt 1"
    )
    assert reason(Assertion("header", "exists", "X-Other")) == (
        "header X-Other is missing, expected exists"
    )
    assert reason(Assertion("json", "not_exists", "ready")) == (
        "json ready = true, expected not_exists"
    )


def test_true_is_not_one_and_text_is_not_a_number():
    assert reason(Assertion("json", "eq", "ready", 1)) == "json ready = true, expected eq 1"
    assert reason(Assertion("json", "eq", "n", True)) == "json n = 1, expected eq true"
    assert reason(Assertion("json", "eq", "n", 1.0)) is None
    assert reason(Assertion("json", "lt", "tags[0]", 5)) == 'json tags[0] = "eu", expected lt 5'
    assert reason(Assertion("json", "contains", "tags", "1")) == (
        'json tags = ["eu", 1], expected contains "1"'
    )
    # A header is text: ordered against a number, it is the number it spells.
    assert reason(Assertion("header", "gt", "Content-Type", 1)) == (
        'header Content-Type = "application/json", expected gt 1'
    )


def test_a_body_that_is_not_json_fails_a_json_assertion_saying_so():
    result = answer("<html>busy</html>")
    assert evaluate((Assertion("json", "exists", "queue"),), result) == (
        "json queue: the body is not JSON (Expecting value: line 1 column 1 (char 0))"
    )
    deep = answer("[" * 100_000 + "]" * 100_000)
    assert evaluate((Assertion("json", "exists", "a"),), deep) == (
        "json a: the body is not JSON (nested too deeply)"
    )
    assert evaluate((Assertion("body", "contains", value="busy"),), result) is None


def test_a_value_nested_deeper_than_json_can_write_is_not_shown():
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    assert show(deep) == "(a value nested too deeply to show)"


def test_a_long_actual_value_is_shortened_in_the_reason():
    result = answer("x" * 5000)
    text = evaluate((Assertion("body", "eq", value="ok"),), result)
    assert text.startswith('body = "xxx') and text.endswith('\u2026, expected eq "ok"')
    assert len(text) < 120


def test_a_catastrophic_pattern_gives_up_within_its_time_limit():
    """(a|aa)+$ on a run of a's with no end backtracks through Fibonacci(n) ways to split
    it: 34 a's take seconds without a limit, 64 would take centuries."""
    hostile = answer("a" * 64 + "!")
    started = time.perf_counter()
    text = evaluate((Assertion("body", "matches", value="(a|aa)+$"),), hostile)
    elapsed = time.perf_counter() - started
    assert text.endswith(
        f'expected matches "(a|aa)+$" (the match took longer than '
        f"{round(MATCH_TIMEOUT_SEC * 1000)} ms)"
    )
    assert elapsed < MATCH_TIMEOUT_SEC + 1
    assert evaluate((Assertion("body", "matches", value="(a|aa)+!$"),), hostile) is None


def test_assertions_come_after_the_status_and_the_keyword():
    rules = Rules("200", "ok", assertions=(Assertion("json", "exists", "queue.length"),))
    assert judge(rules, answer(status=503))[0] == FAILED_HTTP_STATUS
    assert judge(rules, answer())[0] == FAILED_KEYWORD
    assert judge(rules, answer('{"queue": [], "ok": 1}')) == (
        FAILED_ASSERTION,
        "json queue.length is missing, expected exists",
    )
    assert judge(rules, answer('{"queue": {"length": 0}, "ok": 1}')) == (OK, None)


def test_only_body_and_json_assertions_need_the_body():
    assert not needs_body(
        (Assertion("status", "eq", value=200), Assertion("header", "exists", "A"))
    )
    assert needs_body((Assertion("status", "eq", value=200), Assertion("json", "exists", "a")))
    assert needs_body((Assertion("body", "contains", value="ok"),))


@pytest.mark.parametrize(
    ("source", "op", "text", "value"),
    [
        ("status", "eq", "200", 200),
        ("response_time_ms", "lt", " 250.5 ", 250.5),
        ("json", "lt", "10", 10),
        ("json", "eq", "10", 10),
        ("json", "eq", '"10"', "10"),
        ("json", "eq", "true", True),
        ("json", "eq", '["a"]', ["a"]),
        ("json", "eq", "ok", "ok"),  # not JSON: the text itself
        ("json", "contains", "10", "10"),
        ("header", "eq", "10", "10"),
        ("header", "gt", "ten", "ten"),  # for the service to refuse as not a number
        ("body", "matches", "^ok$", "^ok$"),
        ("json", "exists", "", None),
    ],
)
def test_a_forms_text_is_read_as_the_api_would_send_it(source, op, text, value):
    read = from_text(source, op, text)
    assert read == value and type(read) is type(value)
