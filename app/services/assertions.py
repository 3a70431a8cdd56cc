"""The response assertions of http and keyword monitors as input: the rules a list of them
must meet to be saved, each error named by its place (``assertions[2].path``), and the
reading of a form's text into the typed values the API sends.

What an assertion means and how a check judges it is the engine's (``app.engine.assertions``);
here is only what may be saved, so that a check never meets an expression that does not
compile or a value it cannot compare.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from app.engine.assertions import (
    NUMBER_OPS,
    OPS,
    OPS_BY_SOURCE,
    PATH_SOURCES,
    PRESENCE_OPS,
    SOURCES,
    TEXT_OPS,
    Assertion,
    compile_path,
    compile_pattern,
)
from app.services.fields import FieldErrors, is_header_name

ASSERTIONS_MAX = 20
PATH_MAX = 200
TEXT_VALUE_MAX = 500
JSON_VALUE_MAX = 1000  # characters of a json eq/ne value, written as JSON
JSON_DEPTH_MAX = 20  # levels of lists and objects in it: comparing one recurses this deep
KEYS = ("source", "path", "op", "value")
NUMBER_SOURCES = ("status", "response_time_ms")

LIST_MESSAGE = (
    'Must be a list of assertions, such as [{"source": "json", "path": "queue.depth", '
    '"op": "lt", "value": 10}].'
)


def parse(value: Any) -> list[dict[str, Any]]:
    """A list of at most ASSERTIONS_MAX assertions, each stored with all four keys (path and
    value None where unused); null is the empty list."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(LIST_MESSAGE)
    if len(value) > ASSERTIONS_MAX:
        raise ValueError(f"Give at most {ASSERTIONS_MAX} assertions.")
    clean: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for index, item in enumerate(value):
        try:
            clean.append(_assertion(item))
        except FieldErrors as exc:
            errors |= {f"[{index}]{part}": message for part, message in exc.errors.items()}
    if errors:
        raise FieldErrors(errors)
    return clean


def _assertion(item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise FieldErrors({"": "Must be an object of source, path, op and value."})
    errors = {f".{key}": "Unknown field." for key in item if key not in KEYS}
    source, op = item.get("source"), item.get("op")
    if not isinstance(source, str) or source not in SOURCES:
        errors[".source"] = f"Choose one of {', '.join(SOURCES)}."
        source = None
    if not isinstance(op, str) or op not in OPS:
        errors[".op"] = f"Choose one of {', '.join(OPS)}."
        op = None
    elif source and op not in OPS_BY_SOURCE[source]:
        errors[".op"] = f"Not used with {source}: choose one of {', '.join(OPS_BY_SOURCE[source])}."
        op = None
    clean = {"source": source, "path": None, "op": op, "value": None}
    for key, parser in ((".path", _path), (".value", _value)):
        try:
            clean[key[1:]] = parser(source, op, item)
        except ValueError as exc:
            errors[key] = str(exc)
    if errors:
        raise FieldErrors(errors)
    return clean


def _path(source: str | None, op: str | None, item: Mapping) -> str | None:
    """A header's name, or a JMESPath expression into the JSON body; nothing for the other
    sources."""
    path = item.get("path")
    if source is None:
        return None  # its source is wrong: nothing to judge a path by
    if source not in PATH_SOURCES:
        if path is None or path == "":
            return None
        raise ValueError(f"Not used with {source}: leave it out.")
    if path is None or (isinstance(path, str) and not path.strip()):
        raise ValueError(
            "Enter the header's name, such as Content-Type."
            if source == "header"
            else "Enter a JMESPath expression, such as queue.depth."
        )
    if not isinstance(path, str):
        raise ValueError("Must be text.")
    path = path.strip()
    if len(path) > PATH_MAX:
        raise ValueError(f"Use at most {PATH_MAX} characters.")
    if source == "header":
        if not is_header_name(path):
            raise ValueError(
                "Not a header name: use letters, digits and !#$%&'*+-.^_`|~ (RFC 9110)."
            )
        return path
    try:
        compile_path(path)
    except ValueError as exc:
        raise ValueError(f"Not a valid JMESPath expression: {exc}.") from None
    return path


def _value(source: str | None, op: str | None, item: Mapping) -> Any:
    """What the op compares with: a number to order by (and for a status or a response
    time), text to find or match, any JSON value for json eq and ne, nothing for exists."""
    value = item.get("value")
    if op is None or source is None:
        return value if value is None else _json_value(value)
    if op in PRESENCE_OPS:
        if value is not None:
            raise ValueError(f"Leave it out: {op} asks only whether the value is there.")
        return None
    if value is None:
        raise ValueError(
            "Enter the value to compare with; to ask that it is missing or null, use not_exists."
            if source in PATH_SOURCES
            else "Enter the value to compare with."
        )
    if op in NUMBER_OPS or source in NUMBER_SOURCES:
        if not _is_number(value):
            raise ValueError("Must be a number.")
        return value
    if op in TEXT_OPS or source in ("body", "header"):
        if not isinstance(value, str) or not value:
            raise ValueError("Must be text.")
        if len(value) > TEXT_VALUE_MAX:
            raise ValueError(f"Use at most {TEXT_VALUE_MAX} characters.")
        if op == "matches":
            try:
                compile_pattern(value)
            except ValueError as exc:
                raise ValueError(f"Not a valid regular expression: {exc}.") from None
        return value
    return _json_value(value)


def _json_value(value: Any) -> Any:
    """Any JSON value of at most JSON_VALUE_MAX characters, its numbers finite."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        raise ValueError("Must be a JSON value with finite numbers.") from None
    if len(text) > JSON_VALUE_MAX:
        raise ValueError(f"Use at most {JSON_VALUE_MAX} characters, written as JSON.")
    if _depth(value) > JSON_DEPTH_MAX:
        raise ValueError(f"Nest lists and objects at most {JSON_DEPTH_MAX} levels deep.")
    return value


def _depth(value: Any) -> int:
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            pending += [(inner, depth + 1) for inner in item.values()]
        elif isinstance(item, list):
            pending += [(inner, depth + 1) for inner in item]
    return deepest


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (not isinstance(value, float) or math.isfinite(value))
    )


def from_text(source: str, op: str, text: str) -> Any:
    """The value a form's text box means, as the API would send it: a number where the op
    or source compares numbers, any JSON for json eq and ne (text that is not JSON stays
    text, so "ok" needs no quotes), the text itself otherwise; blank is no value. Text that
    should be a number and is not stays text, for ``parse`` to refuse with its message."""
    if not text.strip():
        return None
    if op in NUMBER_OPS or source in NUMBER_SOURCES:
        for number in (int, float):
            try:
                return number(text.strip())
            except ValueError:
                continue
        return text
    if source == "json" and op in ("eq", "ne"):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return text
    return text


def describe(item: Mapping[str, Any]) -> str:
    """A saved assertion as pages show it: ``json queue.depth lt 10``."""
    return str(Assertion.from_stored(item))


def to_text(source: str, op: str, value: Any) -> str:
    """A saved value as a form shows it, so that ``from_text`` reads it back the same: text
    as typed (quoted only where a json eq or ne would read it as JSON), the rest as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        read = from_text(source, op, value)
        return value if isinstance(read, str) and read == value else json.dumps(value)
    return json.dumps(value)
