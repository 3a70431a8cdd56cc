"""Response assertions of http and keyword monitors: what each one asks of an answer, how it
is judged, and the reason a failed one gives.

An assertion reads one value of the answer (its ``source``): the status code, a header, the
body as text, a value inside the JSON body (a JMESPath expression) or the response time, and
compares it (``op``) with ``value``. Every assertion must hold; the first that does not is
the check's reason, naming what was asked and what came back:
``json queue.depth = 57, expected lt 10``.

Regular expressions run in the ``regex`` package with a time limit, never in ``re``: ``re``
cannot be interrupted, so a pattern that backtracks catastrophically on a hostile body would
hold a probing thread for as long as it likes. A match that runs out of time fails the
assertion. The parsing helpers here are what the services call to refuse a bad assertion when
it is saved, so a check never meets an expression it cannot compile.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jmespath
import jmespath.exceptions
import jmespath.functions
import regex

from app.engine.probe import ProbeResult

SOURCES = ("status", "header", "body", "json", "response_time_ms")
OPS = (
    "eq",
    "ne",
    "lt",
    "lte",
    "gt",
    "gte",
    "contains",
    "not_contains",
    "matches",
    "exists",
    "not_exists",
)
NUMBER_OPS = ("lt", "lte", "gt", "gte")
TEXT_OPS = ("contains", "not_contains", "matches")
PRESENCE_OPS = ("exists", "not_exists")
# Which comparisons make sense for each source: a status code is a number, a body is text,
# a header or a JSON value may be anything (and may be missing).
OPS_BY_SOURCE = {
    "status": ("eq", "ne", *NUMBER_OPS),
    "response_time_ms": ("eq", "ne", *NUMBER_OPS),
    "body": ("eq", "ne", *TEXT_OPS),
    "header": OPS,
    "json": OPS,
}
# Sources whose assertions need the body kept by the probe.
BODY_SOURCES = ("body", "json")
PATH_SOURCES = ("header", "json")

# Long enough for any sane pattern over the largest body we keep; short enough that twenty
# hostile ones cannot hold a worker for long.
MATCH_TIMEOUT_SEC = 0.2
SHOWN_CHARS = 80  # of an actual value in a reason

_FUNCTIONS = frozenset(jmespath.functions.Functions.FUNCTION_TABLE)


@dataclass(frozen=True)
class Assertion:
    """One stored assertion, a plain copy safe to use in probing threads."""

    source: str
    op: str
    path: str | None = None
    value: Any = None

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> Assertion:
        return cls(data["source"], data["op"], data.get("path"), data.get("value"))

    @property
    def subject(self) -> str:
        """How a reason names what was asked of: ``json queue.depth``, ``status``."""
        return f"{self.source} {self.path}" if self.path else self.source

    def expectation(self) -> str:
        if self.op in PRESENCE_OPS:
            return self.op
        return f"{self.op} {show(self.value)}"

    def __str__(self) -> str:
        """As pages show it, in the words of its reasons: ``json queue.depth lt 10``."""
        return f"{self.subject} {self.expectation()}"


def compile_path(path: str) -> None:
    """Raise ValueError, in the parser's words and at its column, for a JMESPath expression
    that does not compile or calls a function JMESPath does not have (which it would
    otherwise find out only when a check runs)."""
    try:
        parsed = jmespath.compile(path).parsed
    except jmespath.exceptions.IncompleteExpressionError:
        raise ValueError("the expression ends too early") from None
    except jmespath.exceptions.LexerError as exc:
        raise ValueError(f"{exc.message} at column {exc.lexer_position}") from None
    except jmespath.exceptions.ParseError as exc:
        raise ValueError(f"{exc.msg} at column {exc.lex_position}") from None
    except (jmespath.exceptions.JMESPathError, RecursionError, ValueError, TypeError):
        raise ValueError("the expression cannot be read") from None
    pending = [parsed]
    while pending:
        node = pending.pop()
        if node.get("type") == "function_expression" and node["value"] not in _FUNCTIONS:
            raise ValueError(f"there is no function {node['value']}()")
        pending += [child for child in node.get("children", ()) if isinstance(child, dict)]


def compile_pattern(pattern: str) -> None:
    """Raise ValueError, with the compiler's words, for a regular expression that does not
    compile."""
    try:
        regex.compile(pattern)
    except regex.error as exc:
        raise ValueError(str(exc)) from None
    except (RecursionError, OverflowError, ValueError, TypeError, MemoryError):
        raise ValueError("the pattern is too complex") from None


def show(value: Any) -> str:
    """A value as a reason shows it: JSON, at most SHOWN_CHARS characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except RecursionError:  # a body may nest as deep as the JSON parser allows
        return "(a value nested too deeply to show)"
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "\u2026"


def needs_body(assertions: tuple[Assertion, ...]) -> bool:
    return any(a.source in BODY_SOURCES for a in assertions)


def evaluate(assertions: tuple[Assertion, ...], result: ProbeResult) -> str | None:
    """The reason the first assertion that does not hold gives, or None when all hold.

    The body is parsed as JSON once, and only if a json assertion asks for it.
    """
    document: list = []  # [parsed] once parsed; a list, so "not parsed yet" is not None
    for assertion in assertions:
        reason = _judge(assertion, result, document)
        if reason is not None:
            return reason
    return None


_MISSING = object()


def _judge(assertion: Assertion, result: ProbeResult, document: list) -> str | None:
    if assertion.source == "json":
        if not document:
            document.append(_parse_json(result.body))
        parsed = document[0]
        if isinstance(parsed, _NotJson):
            return f"{assertion.subject}: the body is not JSON ({parsed.reason})"
        try:
            actual = jmespath.search(assertion.path, parsed)
        except (jmespath.exceptions.JMESPathError, RecursionError, ValueError, TypeError) as exc:
            return (
                f"{assertion.subject}: the expression failed on this body ({_first_line(str(exc))})"
            )
        actual = _MISSING if actual is None else actual
    else:
        actual = _actual(assertion, result)
    failure = _compare(assertion, actual)
    if failure is None:
        return None
    if actual is _MISSING:
        return f"{assertion.subject} is missing, expected {assertion.expectation()}"
    return f"{assertion.subject} = {show(actual)}, expected {assertion.expectation()}{failure}"


def _actual(assertion: Assertion, result: ProbeResult) -> Any:
    if assertion.source == "status":
        return result.status_code
    if assertion.source == "response_time_ms":
        return round(result.total_us / 1000)
    if assertion.source == "body":
        return result.body.decode("utf-8", errors="replace")
    return result.headers.get((assertion.path or "").lower(), _MISSING)


def _compare(assertion: Assertion, actual: Any) -> str | None:
    """None when ``actual`` satisfies the assertion; otherwise "" or a note for the reason
    (such as the match that ran out of time)."""
    op, expected = assertion.op, assertion.value
    if op == "exists":
        return None if actual is not _MISSING else ""
    if op == "not_exists":
        return None if actual is _MISSING else ""
    if actual is _MISSING:
        return ""
    if assertion.source == "header" and _is_number(expected):
        actual = _header_number(actual)  # a header is text; compared with a number, it is one
    if op in ("eq", "ne"):
        return None if _same(actual, expected) == (op == "eq") else ""
    if op in NUMBER_OPS:
        if not _is_number(actual):
            return ""
        holds = {
            "lt": actual < expected,
            "lte": actual <= expected,
            "gt": actual > expected,
            "gte": actual >= expected,
        }[op]
        return None if holds else ""
    if op in ("contains", "not_contains"):
        found = _contains(actual, expected)
        if found is None:
            return ""
        return None if found == (op == "contains") else ""
    # matches
    if not isinstance(actual, str):
        return ""
    try:
        found = regex.search(expected, actual, timeout=MATCH_TIMEOUT_SEC, concurrent=True)
    except TimeoutError:
        return f" (the match took longer than {round(MATCH_TIMEOUT_SEC * 1000)} ms)"
    return None if found else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _header_number(text: str) -> float | str:
    """The number a header's text spells, or the text when it spells none."""
    try:
        number = float(text.strip())
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def _same(actual: Any, expected: Any) -> bool:
    """Equality of JSON values in which true is not 1 (as it is in Python)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(map(_same, actual, expected))
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            _same(actual[key], expected[key]) for key in actual
        )
    if _is_number(actual) and _is_number(expected):
        return actual == expected
    return type(actual) is type(expected) and actual == expected


def _contains(actual: Any, expected: str) -> bool | None:
    """Text contains the text; a JSON list contains it as an item. None: neither."""
    if isinstance(actual, str):
        return expected in actual
    if isinstance(actual, list):
        return any(_same(item, expected) for item in actual)
    return None


@dataclass(frozen=True)
class _NotJson:
    reason: str


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except RecursionError:
        return _NotJson("nested too deeply")
    except (ValueError, UnicodeDecodeError) as exc:
        return _NotJson(_first_line(str(exc)))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "invalid"
