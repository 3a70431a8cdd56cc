"""Input parsing for the monitor and cron-job services: each field rule and message once.

Values arrive typed from JSON or as strings from forms; every parser accepts both and either
returns the clean value or raises ValueError with a message a person can act on. ``parse``
runs the parsers of every field given and collects all errors, so a form shows them at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from app.engine import schedule
from app.engine.address_policy import literal_refusal
from app.engine.dns_check import parse_resolver
from app.engine.status_codes import parse_status_ranges
from app.extensions import db
from app.services.errors import Conflict, NotFound, ValidationError

Parser = Callable[[Any], Any]
T = TypeVar("T")

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
URL_MAX = 2048
HEADERS_MAX = 50
SLUG_MAX = 100

NUL_MESSAGE = "Cannot contain NUL characters."

_TRUE = {"true", "on", "1"}
_FALSE = {"false", "0", ""}
# Bounded, so a form cannot make int() parse thousands of digits.
_INTEGER_RE = re.compile(r"[+-]?[0-9]{1,18}")
# A uuid as the models store them: lowercase, hyphenated (any case is accepted on input).
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# RFC 9110 token characters: what a header name may consist of.
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# What every surface shows instead of a secret header's value; sent back, it keeps the value.
MASK = "\u2022\u2022\u2022\u2022"
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_SECRET_HEADER_PARTS = ("token", "secret", "key", "password")


class FieldErrors(ValueError):
    """Errors in the parts of one field, by where they are in it: ``{"[2].path": "…"}``.
    ``parse`` names each after the field, as ``assertions[2].path``."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def parse(data: Any, parsers: Mapping[str, Parser]) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse every field present in ``data``; return (clean values, errors by field)."""
    if not isinstance(data, Mapping):
        raise ValidationError({}, "Send the fields as an object of names and values.")
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, raw in data.items():
        parser = parsers.get(name)
        if parser is None:
            errors[name] = "Unknown field."
            continue
        if _has_nul(raw):
            errors[name] = NUL_MESSAGE
            continue
        try:
            values[name] = parser(raw)
        except FieldErrors as exc:
            errors.update({f"{name}{part}": message for part, message in exc.errors.items()})
        except ValueError as exc:
            errors[name] = str(exc)
    return values, errors


def _has_nul(value: Any) -> bool:
    """PostgreSQL text cannot hold NUL characters; refuse them before they reach SQL.
    Walks without recursion: a JSON value (an assertion's) can nest deeply."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, Mapping):
            pending += [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple):
            pending += item
    return False


def search_term(value: str) -> str:
    """A free-text filter, trimmed and without NUL characters (which no stored text has)."""
    return value.replace("\x00", "").strip()


def by_uuid(model, value: Any, not_found: str):
    """The row of ``model`` whose stable ``uuid`` column is ``value``, or NotFound with the
    model's own message (anything that is not a uuid names no row)."""
    row = None
    if isinstance(value, str) and UUID_RE.fullmatch(value):
        row = db.session.execute(
            sa.select(model).where(model.uuid == value.lower())
        ).scalar_one_or_none()
    if row is None:
        raise NotFound(not_found)
    return row


def name_from_url(values: dict[str, Any], errors: dict[str, str], current, max_len: int) -> None:
    """``name_from_url``: an item (monitor or cron job with a URL) given no name of its own is
    named after its URL and follows it; a new name clears the flag (the same name sent back,
    as a form does on any edit, keeps it). The flag lets dialects whose items may be nameless
    answer such a name as none."""
    from_url = values.get("name_from_url", current.name_from_url if current else False)
    renamed = current is None or values.get("name") != current.name
    if "name" in values and not values.get("name_from_url") and renamed:
        values["name_from_url"] = from_url = False
    if not from_url or "url" in errors:
        return
    url = values.get("url", current.url if current else None)
    if url:
        values["name"] = url[:max_len]
        errors.pop("name", None)


def require(data: Mapping, errors: dict[str, str], messages: Mapping[str, str]) -> None:
    """On create: add ``messages[name]`` for each required field the input leaves out."""
    for name, message in messages.items():
        if name not in data and name not in errors:
            errors[name] = message


def optional(parser: Parser) -> Parser:
    """Wrap a parser so that null and blank text mean "none"."""

    def parse_optional(value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return parser(value)

    return parse_optional


def name(max_len: int, blank: str = "Enter a name.") -> Parser:
    """A required name (or title), trimmed; ``blank`` says what to enter when it is empty."""

    def parse_name(value: Any) -> str:
        if value is not None and not isinstance(value, str):
            raise ValueError("Must be text.")
        value = (value or "").strip()
        if not value:
            raise ValueError(blank)
        if len(value) > max_len:
            raise ValueError(f"Use at most {max_len} characters.")
        return value

    return parse_name


def text(max_len: int | None = None) -> Parser:
    """Free text, kept as typed (spaces may matter in a body or keyword); null becomes ""."""

    def parse_text(value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValueError("Must be text.")
        if max_len is not None and len(value) > max_len:
            raise ValueError(f"Use at most {max_len} characters.")
        return value

    return parse_text


def whole_number(low: int, high: int | None = None, message: str | None = None) -> Parser:
    """An int in [low, high]; digits in a string (form input) and 60.0 (JSON) count too."""
    expected = message or (
        f"Must be a whole number from {low} to {high}."
        if high is not None
        else f"Must be a whole number of at least {low}."
    )

    def parse_whole_number(value: Any) -> int:
        if isinstance(value, str) and _INTEGER_RE.fullmatch(value.strip()):
            value = int(value)
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        # bool is an int subclass, but true is not a number a person meant.
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(expected)
        if value < low or (high is not None and value > high):
            raise ValueError(expected)
        return value

    return parse_whole_number


def boolean(value: Any) -> bool:
    """true/false, or what a form sends: "on", "true", "1", "false", "0" or ""."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise ValueError("Must be true or false.")


def choice(options: tuple[str, ...], *, upper: bool = False) -> Parser:
    """One of ``options``; ``upper`` accepts any case and stores upper case."""
    message = f"Choose one of {', '.join(options)}."

    def parse_choice(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(message)
        value = value.strip().upper() if upper else value.strip()
        if value not in options:
            raise ValueError(message)
        return value

    return parse_choice


method = choice(METHODS, upper=True)


def url(value: Any) -> str:
    """An absolute http(s) URL with a host. Where it may point is the probe's decision."""
    message = "Enter a full http:// or https:// address, such as https://example.com/health."
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("Enter the URL to call.")
    if not isinstance(value, str):
        raise ValueError(message)
    value = value.strip()
    if len(value) > URL_MAX:
        raise ValueError(f"Use at most {URL_MAX} characters.")
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError(message)  # what a URL looks like says more than its stray spaces
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("The URL cannot contain spaces or control characters; encode them.")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError:
        raise ValueError(message) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(message)
    refusal = literal_refusal(parts.hostname, current_app.config["TARGET_POLICY"])
    if refusal:  # cheap to know now; names are judged when connecting
        raise ValueError(f"{refusal}.")
    return value


HOST_MAX = 253


def host(value: Any) -> str:
    """A host name or IP address to connect to (an IPv6 address without brackets), such as
    db.example.com or 192.0.2.10. As with ``url``, a forbidden literal address is refused
    now; names are judged when connecting."""
    value = _name_text(
        value,
        blank="Enter the host name or IP address to connect to.",
        kind="a host name or an IP address",
        subject="A host",
    )
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    refusal = literal_refusal(value, current_app.config["TARGET_POLICY"])
    if refusal:
        raise ValueError(f"{refusal}.")
    return value


def query_name(value: Any) -> str:
    """The name a dns monitor asks about, such as example.com (or, for PTR, an IP address).
    Not a destination: nothing is sent to it, so the target policy does not judge it."""
    return _name_text(
        value,
        blank="Enter the name to look up, such as example.com.",
        kind="a name such as example.com",
        subject="A name",
    )


def _name_text(value: Any, blank: str, kind: str, subject: str) -> str:
    """Stripped text of at most HOST_MAX characters, without spaces or control characters."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(blank)
    if not isinstance(value, str):
        raise ValueError(f"Must be text: {kind}.")
    value = value.strip()
    if len(value) > HOST_MAX:
        raise ValueError(f"Use at most {HOST_MAX} characters.")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{subject} cannot contain spaces or control characters.")
    return value


def resolver(value: Any) -> str:
    """A DNS resolver's address, "ip" or "ip:port" (IPv6 in brackets), which the target
    policy must allow: its queries go there."""
    if not isinstance(value, str):
        raise ValueError("Must be text: an IP address, optionally with a port.")
    address, port = parse_resolver(value)
    refusal = literal_refusal(address, current_app.config["TARGET_POLICY"])
    if refusal:
        raise ValueError(f"{refusal}.")
    return value.strip()


EXPECTED_VALUES_MAX = 50
EXPECTED_VALUE_MAX = 500


def string_list(value: Any) -> list[str]:
    """A list of non-empty strings, each trimmed (a form sends one per line)."""
    message = 'Must be a list of text values, such as ["192.0.2.10"].'
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(message)
    items = [item.strip() for item in value if item.strip()]
    if len(items) > EXPECTED_VALUES_MAX:
        raise ValueError(f"Give at most {EXPECTED_VALUES_MAX} values.")
    if any(len(item) > EXPECTED_VALUE_MAX for item in items):
        raise ValueError(f"Each value may have at most {EXPECTED_VALUE_MAX} characters.")
    return items


def headers(value: Any) -> dict[str, str]:
    """An object of header names to values, or form text with one "Name: value" per line.

    Checked here, when saved, rather than failing every check later: names are RFC 9110
    tokens, values hold no line breaks or control characters and can be sent as latin-1 (what
    HTTP/1.1 carries). A null value drops the header; ``MASK`` stays in the result for
    ``keep_masked_headers`` to replace with the stored value.
    """
    if value is None:
        return {}
    if isinstance(value, str):
        pairs = {}
        for line in value.splitlines():
            if not line.strip():
                continue
            key, sep, val = line.partition(":")
            if not sep:
                raise ValueError(f'Write each header as "Name: value" ("{line.strip()}" is not).')
            pairs[key.strip()] = val.strip()
        value = pairs
    if not isinstance(value, Mapping):
        raise ValueError("Must be an object of header names and values.")
    if len(value) > HEADERS_MAX:
        raise ValueError(f"Use at most {HEADERS_MAX} headers.")
    clean = {}
    for key, val in value.items():
        if not isinstance(key, str) or not _TOKEN_RE.fullmatch(key):
            raise ValueError(
                f"{key!r} is not a valid header name: use letters, digits and "
                "!#$%&'*+-.^_`|~, with no spaces or colons (RFC 9110)."
            )
        if val is None:
            continue
        if not isinstance(val, str):
            raise ValueError(f"The value of {key} must be text, or null to remove it.")
        if val == MASK and is_secret_header(key):
            clean[key] = val
            continue
        # A line break in a value would smuggle extra headers into the request.
        if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in val):
            raise ValueError(
                f"The value of {key} cannot contain line breaks or other control characters."
            )
        try:
            val.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(
                f"The value of {key} contains characters that cannot be sent in an HTTP header, "
                "which carries only latin-1 text; percent-encode or otherwise encode them."
            ) from None
        clean[key] = val
    return clean


def is_header_name(name: str) -> bool:
    """Whether ``name`` can be a header's name: an RFC 9110 token."""
    return bool(_TOKEN_RE.fullmatch(name))


def is_secret_header(name: str) -> bool:
    """Whether a header's value is write-only: credentials, cookies, anything named like a
    token, secret, key or password."""
    lowered = name.lower()
    return lowered in _SECRET_HEADERS or any(part in lowered for part in _SECRET_HEADER_PARTS)


def masked_headers(stored: Mapping[str, str] | None) -> dict[str, str]:
    """The headers as every surface shows them: secret values replaced by ``MASK``."""
    return {k: MASK if is_secret_header(k) else v for k, v in (stored or {}).items()}


def secret_headers_set(stored: Mapping[str, str] | None) -> list[str]:
    """The names of the headers whose values are stored but shown as ``MASK``."""
    return [k for k in (stored or {}) if is_secret_header(k)]


def headers_text(stored: Mapping[str, str] | None) -> str:
    """The masked headers as "Name: value" lines: for forms and the dialects that use text."""
    return "\n".join(f"{k}: {v}" for k, v in masked_headers(stored).items())


def keep_masked_headers(
    values: dict[str, Any], errors: dict[str, str], stored: Mapping[str, str] | None
) -> None:
    """Put the stored value back wherever the input sent ``MASK`` (what it was shown), so an
    edit that resends what it read keeps the secret. Header names match in any case. A mask
    for a header that has no stored value is an error on ``headers``."""
    if "headers" not in values:
        return
    by_name = {k.lower(): v for k, v in (stored or {}).items()}
    merged = {}
    for key, val in values["headers"].items():
        if val == MASK:
            if key.lower() not in by_name:
                errors["headers"] = f"{key} has no saved value to keep: enter its value."
                return
            val = by_name[key.lower()]
        merged[key] = val
    values["headers"] = merged


def status_ranges(value: Any) -> str:
    """Status codes and ranges such as "200-299,301", stored in one canonical spelling."""
    if not isinstance(value, str):
        raise ValueError("Enter status codes and ranges, such as 200-299,301.")
    ranges = parse_status_ranges(value)
    return ",".join(str(low) if low == high else f"{low}-{high}" for low, high in ranges)


def _schedule_parser(validate, blank_message: str) -> Parser:
    """A parser from one of schedule's validators: text in, normalised text out."""

    def parse_schedule(value: Any) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError(blank_message)
        if not isinstance(value, str):
            raise ValueError("Must be text.")
        return validate(value.strip())

    return parse_schedule


cron_expr = _schedule_parser(
    schedule.validate_cron, "Enter a cron expression, such as 0 2 * * * (every day at 02:00)."
)
timezone = _schedule_parser(
    schedule.validate_timezone, "Enter a time zone, such as UTC or Europe/Berlin."
)


def aware_datetime(value: Any) -> datetime:
    """An aware datetime, or an ISO-8601 string that carries its UTC offset."""
    message = "Enter a date and time with its UTC offset, such as 2030-05-01T12:00:00+02:00."
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(message) from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(message)
    return value


def slugify(source: str, fallback: str) -> str:
    """Lower-case a-z, 0-9 and single dashes, at most SLUG_MAX characters."""
    ascii_text = unicodedata.normalize("NFKD", source).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or fallback


_SLUG_RE = re.compile(r"[a-z0-9_-]+")


def slug(value: Any) -> str:
    """A slug given rather than made: what ``slugify`` makes (a-z, 0-9, dashes), and
    underscores too (Healthchecks' slugs, in slug ping URLs, have them)."""
    if not isinstance(value, str) or not value:
        raise ValueError("Enter a slug, such as api-health.")
    if len(value) > SLUG_MAX:
        raise ValueError(f"Use at most {SLUG_MAX} characters.")
    if not _SLUG_RE.fullmatch(value):
        raise ValueError(
            "Use lower-case letters, digits, dashes and underscores, such as api-health."
        )
    return value


def unique_slug(column: sa.orm.InstrumentedAttribute, source: str, fallback: str) -> str:
    """The slug of ``source``, with -2, -3… appended when the table already uses it.

    Read-then-insert can race with another insert of the same slug; ``commit_retrying``
    catches the collision and chooses again.
    """
    base = slugify(source, fallback)
    # Slugs contain no LIKE wildcards ("%" and "_"), so the prefix needs no escaping.
    taken = set(db.session.execute(sa.select(column).where(column.like(f"{base}%"))).scalars())
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def commit_retrying(apply: Callable[[], T], conflict_message: str, attempts: int = 3) -> T:
    """Run ``apply`` (which changes the session) and commit, again after a unique collision.

    Slugs and new group names are chosen by reading what exists. When a concurrent request
    inserts the same value first, our commit fails; a fresh read then finds theirs, so a
    retry succeeds instead of bothering the person with an error.
    """
    for _ in range(attempts):
        result = apply()
        try:
            db.session.commit()
            return result
        except sa.exc.IntegrityError:
            db.session.rollback()
    raise Conflict(conflict_message)
