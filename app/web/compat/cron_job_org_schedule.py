"""cron-job.org schedules ↔ our cron expressions, and its ``expiresAt`` number ↔ UTC.

cron-job.org lists the allowed values of each field (``minutes``, ``hours``, ``mdays``,
``months``, ``wdays``; ``[-1]`` means every value) and runs a job in a minute that matches
*all five* lists. Our cron is Vixie cron, where a day matches *either* restricted day field
unless one of them starts with ``*``. So when both day lists are restricted, the expression
must start one day field with ``*``: ``*/31`` (only day 1) or ``*/7`` (only Sunday) followed
by the other values, which keeps the meaning exact. Lists with neither day 1 nor Sunday
("Friday the 13th") have no exact cron spelling and are refused.

Pure functions of their arguments; the facade turns ValueError into a 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.engine import schedule

EVERY = [-1]
# cron-job.org's array names, in the order of the cron fields, with their ranges.
RANGES = {
    "minutes": (0, 59),
    "hours": (0, 23),
    "mdays": (1, 31),
    "months": (1, 12),
    "wdays": (0, 6),
}
NO_CRON_SPELLING = (
    "This schedule limits both the days of the month and the days of the week; Upcron can "
    "run that only when the days of the month include 1 or the days of the week include "
    "Sunday (0)."
)
_EXPIRES_RE = re.compile(r"[0-9]{14}")


@dataclass(frozen=True)
class Arrays:
    """A cron-job.org schedule's five lists, and whether they say exactly what the cron
    expression they came from says (False only for OR-ed day fields)."""

    lists: dict[str, list[int]]
    exact: bool = True


def whole(value: Any, name: str) -> int:
    """A whole number as PHP's (int) reads it from JSON: numbers and numeric strings."""
    # PHP's (int) reads numbers and numeric strings; anything else is a mistake worth a 400.
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]{1,18}\s*", value):
        return int(value)
    raise ValueError(f"schedule.{name}: {value!r} is not a whole number.")


def normalise(name: str, value: Any) -> list[int]:
    """cron-job.org's own input rule: -1 anywhere means every value; other values are
    clamped into the field's range, deduplicated (and sorted)."""
    if not isinstance(value, list):
        raise ValueError(f"schedule.{name} must be a list of numbers.")
    numbers = [whole(item, name) for item in value]
    if -1 in numbers:
        return list(EVERY)
    low, high = RANGES[name]
    return sorted({min(high, max(low, number)) for number in numbers})


def _spell(values: list[int], low: int, high: int) -> str:
    """A value list as cron: ``*`` when it allows everything, else runs as ranges."""
    if values == EVERY or values == list(range(low, high + 1)):
        return "*"
    parts, start = [], None
    for i, value in enumerate(values):
        if start is None:
            start = value
        if i + 1 < len(values) and values[i + 1] == value + 1:
            continue
        parts.append(str(start) if start == value else f"{start}-{value}")
        start = None
    return ",".join(parts)


def to_cron(lists: dict[str, list[int]]) -> str:
    """The cron expression that runs in exactly the minutes the (normalised) lists allow."""
    empty = [name for name in RANGES if not lists[name]]
    if empty:
        raise ValueError(
            f"schedule.{empty[0]} is empty, so the job would never run; use [-1] for every value."
        )
    fields = {name: _spell(lists[name], *RANGES[name]) for name in RANGES}
    if fields["mdays"] != "*" and fields["wdays"] != "*":
        # Both restricted: cron-job.org wants both to match, so one field must start with *.
        if 1 in lists["mdays"]:
            rest = _spell(lists["mdays"][1:], 1, 31) if len(lists["mdays"]) > 1 else ""
            fields["mdays"] = "*/31" + (f",{rest}" if rest else "")
        elif 0 in lists["wdays"]:
            rest = _spell(lists["wdays"][1:], 0, 6) if len(lists["wdays"]) > 1 else ""
            fields["wdays"] = "*/7" + (f",{rest}" if rest else "")
        else:
            raise ValueError(NO_CRON_SPELLING)
    return " ".join(fields[name] for name in ("minutes", "hours", "mdays", "months", "wdays"))


def from_cron(expr: str) -> Arrays:
    """The lists of a valid cron expression; ``[-1]`` for a field that allows everything."""
    cron = schedule.expand(expr)
    values = {
        "minutes": list(cron.minutes),
        "hours": list(cron.hours),
        "mdays": list(cron.days),
        "months": list(cron.months),
        "wdays": list(cron.weekdays),
    }
    lists = {
        name: list(EVERY) if values[name] == list(range(low, high + 1)) else values[name]
        for name, (low, high) in RANGES.items()
    }
    if cron.days_either and EVERY in (lists["mdays"], lists["wdays"]):
        # "Either day field" with one of them allowing every day is simply every day.
        lists["mdays"], lists["wdays"] = list(EVERY), list(EVERY)
    exact = not (cron.days_either and lists["mdays"] != EVERY)
    return Arrays(lists, exact)


def expires_to_utc(value: Any, timezone: str) -> datetime | None:
    """``expiresAt`` (YYYYMMDDhhmmss on the job's wall clock; 0: never) as aware UTC."""
    number = whole(value, "expiresAt")
    if number == 0:
        return None
    text = str(number)
    if not _EXPIRES_RE.fullmatch(text):
        raise ValueError("schedule.expiresAt must be 0 or a date and time as YYYYMMDDhhmmss.")
    try:
        wall = datetime.strptime(text, "%Y%m%d%H%M%S")
    except ValueError:
        raise ValueError(f"schedule.expiresAt: {text} is not a real date and time.") from None
    return wall.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def expires_from_utc(moment: datetime | None, timezone: str) -> int:
    """An expiry instant as cron-job.org's YYYYMMDDhhmmss number in ``timezone`` (0: none)."""
    if moment is None:
        return 0
    return int(moment.astimezone(ZoneInfo(timezone)).strftime("%Y%m%d%H%M%S"))
