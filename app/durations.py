"""Durations for people, written once for every layer (it imports nothing of ours).

Each function is a different text on purpose, named for what it shows:

- ``in_words``: a run or an outage as precise as its length calls for, "340 ms", "12.3 s",
  "4 min 12 s", "2 h 5 min", "1 d 3 h" (the dashboard and the alerts);
- ``exact``: a configured span, never rounded, in the largest unit that divides it: "5 minutes",
  "90 seconds", "1 day" (schedules, grace periods, run-time bounds); ``largest_unit`` is the
  same choice as a number and a unit name, for forms and facades that take the two apart;
- ``to_the_minute``: how long an incident has lasted, "3 d 2 h", "5 min", "under a minute";
- ``downtime``: a day's downtime on the public status bars, "45 s", "30 min", "1 h 30 min".
"""

from __future__ import annotations

from collections.abc import Mapping

# Seconds in each unit a configured span is written in, by plural name.
UNITS: Mapping[str, int] = {
    "seconds": 1,
    "minutes": 60,
    "hours": 3600,
    "days": 86400,
    "weeks": 7 * 86400,
}


def in_words(ms: int) -> str:
    """``ms`` milliseconds for people (a nightly backup's run is not "7503.0 s")."""
    if ms < 1000:
        return f"{ms} ms"
    tenths = round(ms / 100)
    if tenths < 600:
        return f"{tenths / 10:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s"


def largest_unit(seconds: int, units: Mapping[str, int] = UNITS) -> tuple[int, str | None]:
    """``seconds`` as an amount of the largest of ``units`` that divides it exactly:
    (90, "minutes") for 5400 seconds; (seconds, None) when none of them does."""
    for unit, size in sorted(units.items(), key=lambda item: -item[1]):
        if seconds % size == 0:
            return seconds // size, unit
    return seconds, None


def exact(seconds: int) -> str:
    """Seconds in the largest unit that divides them: "5 minutes", "90 seconds", "1 day"."""
    amount, unit = largest_unit(seconds)
    unit = unit or "seconds"
    return f"{amount} {unit[:-1] if amount == 1 else unit}"


def to_the_minute(seconds: int) -> str:
    """A span of minutes to days, cut to the minute: "3 d 2 h", "2 h 5 min", "under a minute"."""
    seconds = max(0, seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else "under a minute"


def downtime(seconds: int) -> str:
    """A day's downtime: seconds under a minute, else rounded to the minute ("1 h 30 min")."""
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
