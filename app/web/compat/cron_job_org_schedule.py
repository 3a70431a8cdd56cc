"""cron-job.org schedules ↔ our cron expressions, and its ``expiresAt`` number ↔ UTC.

cron-job.org lists the allowed values of each field (``minutes``, ``hours``, ``mdays``,
``months``, ``wdays``; ``[-1]`` means every value) and runs a job in a minute that matches
*all five* lists: the value lists of ``schedule.cron_from_values`` and
``schedule.values_of_cron``, which convert them exactly (or refuse). Here are only
cron-job.org's spellings: the names, ``[-1]``, its input rules and its expiry number.

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


def to_cron(lists: dict[str, list[int]]) -> str:
    """The cron expression that runs in exactly the minutes the (normalised) lists allow."""
    empty = [name for name in RANGES if not lists[name]]
    if empty:
        raise ValueError(
            f"schedule.{empty[0]} is empty, so the job would never run; use [-1] for every value."
        )
    return schedule.cron_from_values(
        [
            list(range(low, high + 1)) if lists[name] == EVERY else lists[name]
            for name, (low, high) in RANGES.items()
        ]
    )


def from_cron(expr: str) -> Arrays:
    """The lists of a valid cron expression; ``[-1]`` for a field that allows everything."""
    values, exact = schedule.values_of_cron(expr)
    lists = {
        name: list(EVERY) if field == tuple(range(low, high + 1)) else list(field)
        for field, (name, (low, high)) in zip(values, RANGES.items(), strict=True)
    }
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
