"""When things are due: cron validation, next-run times, interval slots and plain-English cron.

Everything here is a pure function of its arguments, so the scheduler, the services and the
dashboard share one definition of "when".

Cron follows Vixie cron (the cron of Debian and cronie): five fields, names for months and
weekdays, 0 and 7 both Sunday, and the day rule: when both day fields are restricted a day
matches either of them, but when either field starts with ``*`` a day must match both. We parse
and search ourselves rather than through croniter, which accepts extensions and wrap-around
ranges we reject, reads ``*/2`` in a day field differently, keeps mutable state per object and
is several times slower per call; the scheduler calls ``next_run`` for every item it dispatches.

DST policy: expressions are evaluated on the wall clock of the item's IANA zone and results are
UTC. A wall time skipped by a spring change runs once, at the instant the gap ends; a wall time
repeated by an autumn change runs once, at its first occurrence. No instant is ever returned
twice, so a job whose skipped slot lands on another slot still runs once.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from calendar import monthrange
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo


class ScheduleError(ValueError):
    """An expression or time zone we cannot schedule, explained for the person who typed it.

    ``field`` names the cron field at fault ("minute", "hour", "day_of_month", "month",
    "day_of_week"), or is None when the problem is the expression as a whole or the zone.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_WEEKDAYS = "Sunday Monday Tuesday Wednesday Thursday Friday Saturday".split()
# The longest each month can be (February in a leap year): a day that fits nowhere never fires.
_MONTH_LENGTHS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# L, W, # and ? are Quartz/cronie extensions; say so rather than "not a number".
_EXTENSION = re.compile(r"L|LW|L-\d+|\d+[LW]|.*[#?].*", re.IGNORECASE)

_MINUTE = timedelta(minutes=1)
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class _Field:
    name: str
    label: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Field("minute", "minute", 0, 59, {}),
    _Field("hour", "hour", 0, 23, {}),
    _Field("day_of_month", "day-of-month", 1, 31, {}),
    _Field("month", "month", 1, 12, {m[:3].upper(): i for i, m in enumerate(_MONTHS, 1)}),
    _Field("day_of_week", "day-of-week", 0, 7, {d[:3].upper(): i for i, d in enumerate(_WEEKDAYS)}),
)


@dataclass(frozen=True)
class _Cron:
    """A parsed expression: the allowed values of each field, sorted for bisecting."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # 0 = Sunday
    days_either: bool  # neither day field starts with "*": a day matches if either does

    def day_matches(self, moment: datetime) -> bool:
        in_month = moment.day in self.days
        in_week = (moment.weekday() + 1) % 7 in self.weekdays
        return (in_month or in_week) if self.days_either else (in_month and in_week)

    def next_wall_time(self, wall: datetime) -> datetime:
        """The first matching naive wall-clock minute strictly after ``wall``.

        Each step jumps to the next allowed value of the coarsest field that does not match, so
        a typical expression needs a handful of steps. Validation guarantees a match exists.
        """
        moment = wall.replace(second=0, microsecond=0) + _MINUTE
        while True:
            if moment.month not in self.months:
                moment = self._next_month(moment)
                continue
            if not self.day_matches(moment):
                moment = self._next_day(moment)
                continue
            if moment.hour not in self.hours:
                i = bisect.bisect(self.hours, moment.hour)
                if i == len(self.hours):
                    moment = datetime(moment.year, moment.month, moment.day) + _DAY
                    continue
                moment = moment.replace(hour=self.hours[i], minute=0)
            if moment.minute not in self.minutes:
                i = bisect.bisect(self.minutes, moment.minute)
                if i == len(self.minutes):
                    moment = moment.replace(minute=0) + _HOUR
                    continue
                moment = moment.replace(minute=self.minutes[i])
            return moment

    def _next_month(self, moment: datetime) -> datetime:
        i = bisect.bisect(self.months, moment.month)
        if i < len(self.months):
            return datetime(moment.year, self.months[i], 1)
        return datetime(moment.year + 1, self.months[0], 1)

    def _next_day(self, moment: datetime) -> datetime:
        # When the day of the month alone decides (a monthly job), jump straight to the next
        # allowed day instead of walking the month one day at a time.
        if self.days_either or len(self.weekdays) < 7:
            return datetime(moment.year, moment.month, moment.day) + _DAY
        i = bisect.bisect(self.days, moment.day)
        if i < len(self.days) and self.days[i] <= monthrange(moment.year, moment.month)[1]:
            return datetime(moment.year, moment.month, self.days[i])
        return self._next_month(moment)


def validate_cron(expr: str) -> str:
    """Check that ``expr`` is standard cron that fires at least once; return it normalised."""
    normal = " ".join(expr.split())
    if normal.startswith("@"):
        normal = normal.lower()
    _parse(normal)
    return normal


def expand(expr: str) -> _Cron:
    """The values each field of a valid ``expr`` allows (sorted; weekday 0 is Sunday) and
    whether its day fields are OR-ed, for translating into schedule notations that list
    values instead of writing expressions (the facades' arrays)."""
    return _parse(expr)


def field_values(expr: str) -> tuple[tuple[int, ...], ...]:
    """``expand``'s values as (minutes, hours, days, months, weekdays)."""
    cron = expand(expr)
    return cron.minutes, cron.hours, cron.days, cron.months, cron.weekdays


def validate_timezone(name: str) -> str:
    """Return the IANA zone ``name`` spelled as the time zone database spells it."""
    if not name.strip():
        raise ScheduleError("Enter a time zone, such as Europe/Berlin")
    canonical = _zone_names().get(name.strip().lower())
    if canonical is None:
        raise ScheduleError(f"Unknown time zone '{name}'; use an IANA name such as Europe/Berlin")
    return canonical


def next_run(expr: str, tz: str, after: datetime) -> datetime:
    """The first scheduled instant strictly after the aware ``after``, in UTC."""
    return _next_instant(_parse(expr), _zone(tz), _aware(after))


def next_runs(expr: str, tz: str, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` scheduled instants after ``after``, for previews."""
    return list(itertools.islice(_instants(expr, tz, after), count))


def slots_between(expr: str, tz: str, start: datetime, end: datetime, limit: int = 10_000) -> int:
    """How many scheduled instants t satisfy start < t <= end, counting no further than limit.

    Used to report "missed N slots" after downtime; the cap bounds the work for a
    every-minute job that was down for weeks.
    """
    _aware(end)
    count = 0
    for moment in _instants(expr, tz, start):
        if moment > end or count >= limit:
            break
        count += 1
    return count


def next_interval(planned: datetime, interval_sec: int, now: datetime) -> tuple[datetime, int]:
    """The due time after ``planned`` and how many slots were skipped to reach it.

    Counting from the planned time rather than from ``now`` keeps a 60-second monitor on the
    same second of every minute however late each run starts. When we are behind (the next
    slot is already due or past), we skip to the first slot after ``now`` instead of firing a
    burst of catch-up runs; the skipped count lets the caller log the gap.
    """
    if interval_sec <= 0:
        raise ValueError(f"interval_sec must be positive, got {interval_sec}")
    interval = timedelta(seconds=interval_sec)
    due = planned + interval
    if due > now:
        return due, 0
    skipped = (now - planned) // interval
    return planned + (skipped + 1) * interval, skipped


def every(seconds: int, *, steps: bool = False) -> str | None:
    """The cron expression that fires exactly every ``seconds``, or None when none does:
    whole minutes that divide an hour, whole hours that divide a day, a day, or a week. (Cron
    runs on the clock: every 6 hours is at 00:00, 06:00…, a week at Sunday 00:00.)

    ``steps`` spells each field with an explicit step ("*/1 * * * *", "0 */1 * * *",
    "0 0 */1 * *") so that ``step_interval`` can tell such an interval from an expression a
    person wrote; a week has no spelling of that kind, so it is None then.
    """
    minutes, rest = divmod(seconds, 60)
    if rest or minutes <= 0:
        return None
    if minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *" if steps or minutes > 1 else "* * * * *"
    hours, rest = divmod(minutes, 60)
    if not rest and hours < 24 and 24 % hours == 0:
        return f"0 */{hours} * * *" if steps or hours > 1 else "0 * * * *"
    if minutes == 24 * 60:
        return "0 0 */1 * *" if steps else "0 0 * * *"
    if minutes == 7 * 24 * 60 and not steps:
        return "0 0 * * 0"
    return None


_STEPS = re.compile(r"\*/(\d+) \* \* \* \*|0 \*/(\d+) \* \* \*|0 0 \*/1 \* \*")


def step_interval(expr: str) -> int | None:
    """The seconds between runs of an expression ``every`` spelled with ``steps``; None for
    any other expression."""
    match = _STEPS.fullmatch(" ".join(expr.split()))
    if match is None:
        return None
    minutes, hours = match.groups()
    if minutes is not None:
        return int(minutes) * 60 if 0 < int(minutes) < 60 and 60 % int(minutes) == 0 else None
    if hours is not None:
        return int(hours) * 3600 if 0 < int(hours) < 24 and 24 % int(hours) == 0 else None
    return 86400


def interval_cron(interval_sec: int) -> str:
    """A cron expression for dialects that only know cron schedules, to show an interval job
    in: ``every`` interval that one fires exactly at, else every minute, the closest such
    dialects can state."""
    return every(interval_sec) or "* * * * *"


def as_cron(cron_expr: str | None, interval_sec: int | None) -> str:
    """A job's schedule (a cron expression, or else an interval) as a cron expression."""
    if cron_expr:
        return cron_expr
    if interval_sec is None:
        raise ScheduleError("The job has neither a cron expression nor an interval.")
    return interval_cron(interval_sec)


def describe(expr: str) -> str:
    """A plain-English sentence for a valid expression, for the dashboard's live preview."""
    cron = _parse(expr)
    time, clock = _describe_time(cron)
    return time + _describe_days(cron, clock) + _describe_months(cron)


@functools.lru_cache(maxsize=4096)
def _parse(expr: str) -> _Cron:
    text = " ".join(expr.split())
    if not text:
        raise ScheduleError("Enter a cron expression, such as */5 * * * *")
    if text.startswith("@"):
        if text.lower() not in _MACROS:
            raise ScheduleError(
                f"'{text}' is not supported; use @hourly, @daily, @midnight, @weekly, "
                "@monthly, @yearly or @annually"
            )
        text = _MACROS[text.lower()]
    parts = text.split()
    if len(parts) != 5:
        hint = "; seconds and years are not supported" if len(parts) in (6, 7) else ""
        raise ScheduleError(
            "Expected 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)}{hint}"
        )
    minutes, hours, days, months, weekdays = (
        _parse_field(part, field) for part, field in zip(parts, _FIELDS, strict=True)
    )
    cron = _Cron(
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=tuple(sorted(days)),
        months=tuple(sorted(months)),
        weekdays=tuple(sorted({day % 7 for day in weekdays})),
        days_either=not parts[2].startswith("*") and not parts[4].startswith("*"),
    )
    _check_fires(cron)
    return cron


def _parse_field(text: str, field: _Field) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        values.update(_parse_item(item, text, field))
    return values


def _parse_item(item: str, text: str, field: _Field) -> range:
    if not item:
        raise _field_error(field, f"'{text}' has an empty list item")
    if _EXTENSION.fullmatch(item):
        raise _field_error(
            field, f"'{item}' uses a cron extension (L, W, # or ?) that is not supported"
        )
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text:
            raise _field_error(field, f"'{item}' is missing a step after the slash")
        if not (step_text.isascii() and step_text.isdigit()):
            raise _field_error(field, f"step '{step_text}' in '{item}' is not a number")
        step = int(step_text)
        if step == 0:
            raise _field_error(field, f"step in '{item}' must be at least 1")
    if base == "*":
        return range(field.low, field.high + 1, step)
    if "-" not in base:
        if slash:
            raise _field_error(
                field, f"'{item}' needs a range before the step, such as {base}-{field.high}/{step}"
            )
        value = _value(base, field)
        return range(value, value + 1)
    start_text, _, end_text = base.partition("-")
    if not start_text or not end_text or "-" in end_text:
        raise _field_error(field, f"'{base}' is not a range; write it as start-end, such as 1-5")
    start, end = _value(start_text, field), _value(end_text, field)
    if start > end and field.name == "day_of_week" and end == 0:
        end = 7  # Sunday is also 7, so FRI-SUN means 5-7
    if start > end:
        raise _field_error(
            field,
            f"range {base} is backwards; ranges cannot wrap around, so write "
            f"{start_text}-{field.high},{field.low}-{end_text}",
        )
    return range(start, end + 1, step)


def _field_error(field: _Field, message: str) -> ScheduleError:
    return ScheduleError(f"{field.label} field: {message}", field.name)


def _value(text: str, field: _Field) -> int:
    if text.isascii() and text.isdigit():
        digits = text.lstrip("0") or "0"
        # Every field's maximum has at most two digits; this also keeps int() off huge strings.
        if len(digits) > 2 or not field.low <= int(digits) <= field.high:
            raise _field_error(field, f"{text} is out of range {field.low}-{field.high}")
        return int(digits)
    if text.upper() in field.names:
        return field.names[text.upper()]
    if field.names:
        first, last = list(field.names)[0], list(field.names)[-1]
        raise _field_error(
            field,
            f"'{text}' is not a {field.label} number ({field.low}-{field.high}) "
            f"or name ({first}-{last})",
        )
    raise _field_error(field, f"'{text}' is not a number")


def _check_fires(cron: _Cron) -> None:
    """Refuse expressions that parse but name no real date, such as 31 February.

    When the day fields are OR-ed, the weekday alone fires every week. Otherwise a day must
    exist in some allowed month; any real date falls on every weekday within 28 years.
    """
    if cron.days_either:
        return
    if any(day <= _MONTH_LENGTHS[month - 1] for month in cron.months for day in cron.days):
        return
    days = cron.days
    noun, verb = ("day", "does") if len(days) == 1 else ("days", "do")
    raise ScheduleError(
        f"This schedule never runs: {noun} {_join([str(d) for d in days])} {verb} not occur "
        f"in {_join([_MONTHS[m - 1] for m in cron.months], 'or')}",
        "day_of_month",
    )


@functools.cache
def _zone_names() -> dict[str, str]:
    # The tzdata package's list, not the host's files: the same names on every machine, and no
    # "localtime". "Factory" is a placeholder meaning "zone not configured", not a place.
    names = resources.files("tzdata").joinpath("zones").read_text().split()
    return {name.lower(): name for name in names if name != "Factory"}


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(validate_timezone(name))


def _aware(moment: datetime) -> datetime:
    # A naive datetime would be read in the host's zone by astimezone(): refuse it loudly.
    if moment.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {moment.isoformat()}")
    return moment


def _instants(expr: str, tz: str, after: datetime) -> Iterator[datetime]:
    cron, zone, moment = _parse(expr), _zone(tz), _aware(after)
    while True:
        moment = _next_instant(cron, zone, moment)
        yield moment


def _next_instant(cron: _Cron, zone: ZoneInfo, after: datetime) -> datetime:
    wall = after.astimezone(zone).replace(tzinfo=None)
    while True:
        wall = cron.next_wall_time(wall)
        instant = _to_utc(wall, zone)
        # Wall times of a repeated hour's second pass map to their first occurrence, and
        # skipped ones to the gap's end; both can be <= after, and are dropped here.
        if instant > after:
            return instant


def _to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    instant = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first occurrence
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    return _gap_end(wall, zone)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant the spring-forward gap containing the non-existent ``wall`` ends.

    Read with the offset after the change (fold=1), ``wall`` is an instant before the change;
    read with the offset before it (fold=0), an instant after. Bisect between the two for the
    second the offset changes: gaps are not always an hour (Lord Howe: 30 minutes, Samoa
    2011: a whole day).
    """
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(wall.replace(tzinfo=zone, fold=0).timestamp())
    offset_before = datetime.fromtimestamp(low, zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _describe_time(cron: _Cron) -> tuple[str, bool]:
    """The time-of-day phrase, and whether it is a list of clock times ("At 09:30")."""
    minutes, hours = cron.minutes, cron.hours
    if len(minutes) < 60 and len(hours) < 24 and len(minutes) * len(hours) <= 4:
        return "At " + _join([f"{h:02d}:{m:02d}" for h in hours for m in minutes]), True
    if len(minutes) == 60:
        phrase = "Every minute"
    elif (step := _spacing(minutes)) and minutes[0] == 0 and minutes[-1] + step == 60:
        phrase = f"Every {step} minutes"
    else:
        phrase = "At " + _values_phrase(minutes, 0, 59, "minute", "minutes")
    every = phrase.startswith("Every")
    if len(hours) == 24:
        return phrase + ("" if every else " past every hour"), False
    joiner = " during " if every else " past "
    return phrase + joiner + _values_phrase(hours, 0, 23, "hour", "hours"), False


def _describe_days(cron: _Cron, clock: bool) -> str:
    all_days, all_weekdays = len(cron.days) == 31, len(cron.weekdays) == 7
    if (all_days or all_weekdays) if cron.days_either else (all_days and all_weekdays):
        return " every day" if clock else ""
    days = _values_phrase(cron.days, 1, 31, "day", "days") + " of the month"
    # Monday-first, so that weekends read "Saturday and Sunday" and 5-7 "Friday through Sunday".
    monday_first = [(day + 1) % 7 for day in range(7)]
    weekdays = _join(
        _runs(
            [i for i, day in enumerate(monday_first) if day in cron.weekdays],
            lambda i: _WEEKDAYS[monday_first[i]],
        )
    )
    if cron.days_either:
        return f" on {days} or on {weekdays}"
    if all_weekdays:
        return f" on {days}"
    if all_days:
        return f" on {weekdays}"
    return f" on {days} if it falls on {weekdays}"


def _describe_months(cron: _Cron) -> str:
    if len(cron.months) == 12:
        return ""
    return " in " + _join(_runs(list(cron.months), lambda m: _MONTHS[m - 1]))


def _values_phrase(values: tuple[int, ...], low: int, high: int, singular: str, plural: str) -> str:
    """Name a set of numbers: "minute 5", "every 2nd hour", "days 1 through 7 and 15"."""
    if len(values) == 1:
        return f"{singular} {values[0]}"
    step = _spacing(values)
    if step and step > 1 and len(values) >= 3:
        if values[0] == low and values[-1] + step > high:
            return f"every {_ordinal(step)} {singular}"
        return f"every {_ordinal(step)} {singular} from {values[0]} through {values[-1]}"
    return f"{plural} {_join(_runs(list(values), str))}"


def _spacing(values: tuple[int, ...]) -> int | None:
    """The common difference of evenly spaced values (at least two), else None."""
    if len(values) < 2:
        return None
    step = values[1] - values[0]
    return step if values == tuple(range(values[0], values[-1] + 1, step)) else None


def _runs(values: list[int], label: Callable[[int], str]) -> list[str]:
    """Label each value, folding three or more consecutive values into "first through last"."""
    parts = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{label(values[i])} through {label(values[j])}")
        else:
            parts.extend(label(value) for value in values[i : j + 1])
        i = j + 1
    return parts


def _join(words: list[str], conjunction: str = "and") -> str:
    if len(words) == 1:
        return words[0]
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --- Schedules as per-field value lists (APIs that send arrays instead of cron text) --------


# The fields' ranges in value lists (weekdays 0-6, Sunday 0).
VALUE_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
NO_CRON_SPELLING = (
    "This schedule limits both the days of the month and the days of the week; Upcron can "
    "run that only when the days of the month include 1 or the days of the week include "
    "Sunday (0)."
)


def cron_from_values(values: Sequence[Sequence[int]]) -> str:
    """The expression that runs in exactly the minutes whose five fields are all among
    ``values`` (minutes, hours, days, months, weekdays: sorted, in range, none empty).

    Value lists AND their day fields; Vixie cron ORs them unless one starts with ``*``. So
    when both are restricted, one is written from ``*``: ``*/31`` (only day 1) or ``*/7``
    (only Sunday) followed by the other values, which keeps the meaning exact. Lists with
    neither day 1 nor Sunday ("Friday the 13th") have no such spelling: ScheduleError.
    """
    fields = [
        _spell(list(v), low, high) for v, (low, high) in zip(values, VALUE_RANGES, strict=True)
    ]
    days, weekdays = list(values[2]), list(values[4])
    if fields[2] != "*" and fields[4] != "*":
        if 1 in days:
            rest = _spell(days[1:], 1, 31) if len(days) > 1 else ""
            fields[2] = "*/31" + (f",{rest}" if rest else "")
        elif 0 in weekdays:
            rest = _spell(weekdays[1:], 0, 6) if len(weekdays) > 1 else ""
            fields[4] = "*/7" + (f",{rest}" if rest else "")
        else:
            raise ScheduleError(NO_CRON_SPELLING)
    return " ".join(fields)


def values_of_cron(expr: str) -> tuple[tuple[tuple[int, ...], ...], bool]:
    """The five value lists of a valid expression (a field that allows everything lists its
    whole range), and whether they say exactly what it says: not when its day fields are
    OR-ed, which value lists cannot say (the 1st and the 15th and every Monday)."""
    cron = _parse(expr)
    days, weekdays = cron.days, cron.weekdays
    every_day = tuple(range(1, 32)), tuple(range(0, 7))
    if cron.days_either and (days == every_day[0] or weekdays == every_day[1]):
        # "Either day field" with one of them allowing every day is simply every day.
        days, weekdays = every_day
    exact = not (cron.days_either and days != every_day[0])
    return (cron.minutes, cron.hours, days, cron.months, weekdays), exact


def _spell(values: list[int], low: int, high: int) -> str:
    """A value list as a cron field: ``*`` when it allows everything, else runs as ranges."""
    if values == list(range(low, high + 1)):
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


def cron_fields(expr: str) -> tuple[str, str, str, str, str]:
    """The five field texts of a valid expression, a macro such as @daily spelled out."""
    _parse(expr)
    text = " ".join(expr.split())
    minute, hour, day, month, weekday = _MACROS.get(text.lower(), text).split()
    return minute, hour, day, month, weekday


def timezone_names() -> list[str]:
    """Every time zone ``validate_timezone`` accepts, sorted."""
    return sorted(_zone_names().values())


# --- Phases: where within its interval a repeating check runs -----------------------------
#
# Items that repeat every ``interval`` run at the instants t with t ≡ phase (mod interval),
# in epoch milliseconds, so items created in the same instant (a bulk import, a script, a
# rebuild of an emptied Redis) still run at different seconds, and each keeps its second
# across restarts, rebuilds and edits that keep its interval.

# Knuth's multiplicative (Fibonacci) hash: 2**64 divided by the golden ratio. Consecutive ids,
# which items created together have, land evenly spaced around the interval (the three-gap
# theorem); a random-looking hash would leave its busiest second near twice the mean by
# chance alone at a few hundred items a minute.
_FIBONACCI = 0x9E3779B97F4A7C15


def phase(key: int, period_ms: int) -> int:
    """The stable offset in [0, period_ms) of item ``key`` (its id) within a period."""
    if period_ms <= 0:
        raise ValueError(f"period_ms must be positive, got {period_ms}")
    return ((key * _FIBONACCI) % 2**64 * period_ms) >> 64


def phased_slot(at_ms: int, period_ms: int, phase_ms: int) -> int:
    """The first instant t >= ``at_ms`` (epoch ms) with t ≡ phase_ms (mod period_ms)."""
    return at_ms + (phase_ms - at_ms) % period_ms


def next_phased(planned_ms: int, interval_sec: int, phase_ms: int, now_ms: int) -> tuple[int, int]:
    """The slot after a check planned at ``planned_ms``, and how many slots were skipped.

    It is the first slot after the planned time: a check on its phase is followed one
    interval later, and one off it (checked at once when new, a catch-up, one moved to the
    end of a maintenance window) returns to its phase at the next slot. So no gap between
    two checks is ever longer than the interval; the return may shorten one gap, once.
    When we are behind, we skip to the first slot after ``now_ms`` instead of running a
    burst of late checks, as ``next_interval`` does.
    """
    period = interval_sec * 1000
    due = phased_slot(planned_ms + 1, period, phase_ms)
    if due > now_ms:
        return due, 0
    upcoming = phased_slot(now_ms + 1, period, phase_ms)
    return upcoming, (upcoming - due) // period


CATCH_UP_WINDOW_SEC = 60


def catch_up_slot(key: int, interval_sec: int, now_ms: int) -> int:
    """When an item that is overdue (or new) runs, if not at once: at its own offset within
    the coming min(interval, CATCH_UP_WINDOW_SEC), so that many overdue items are spread
    over that window and each is checked once, soon, before it returns to its phase."""
    window = min(interval_sec, CATCH_UP_WINDOW_SEC) * 1000
    return phased_slot(now_ms, window, phase(key, window))
