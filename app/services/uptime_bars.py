"""The 90-day uptime bars of the status page (and its 30- and 90-day figures), from the
daily rollups.

Two things keep a page of 1,000 items fast and small:

- Clean days are only counted. The aggregate query returns one row per item: its first and
  last day with data, its sums, and as text only the days with a failure or downtime. A run
  of clean days (or of days without data) becomes one bar element, described as a run.
- Finished days are read once per 5 minutes. Every day but today is aggregated once and kept
  in Redis (they change only in rare cases: a result of 23:59 recorded after midnight,
  history cleared); each render reads only today's rollup rows. Items missing from the
  cached aggregate (just made public) are read on their own.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import DailyRollup
from app.models.history import SUBJECT_CRON_JOB, SUBJECT_MONITOR
from app.services import page_cache
from app.services.history import percent

DAYS = 90
# Under the status page's cache prefix, so a settings change drops it too.
PAST_CACHE_KEY = "status:rollups:"
PAST_TTL_MS = 5 * 60 * 1000

UP = "up"
DEGRADED = "degraded"
DOWN = "down"
NO_DATA = "none"
# A day whose every result was made under a maintenance window: out of the uptime, and drawn
# apart rather than as up or down.
MAINTENANCE = "maintenance"
# A day is up at 99.9 % or more, degraded from 99 % (about 14 minutes of a day), else down.
UP_PERCENT = 99.9
DEGRADED_PERCENT = 99.0

Key = tuple[str, int]

# Per process: the last cached aggregate decoded, by its ETag (decoding 1,000 items' worth
# costs more than the rest of reading them).
_decoded: tuple[str, dict[Key, Rollups]] | None = None


def bar_level(checks: int, failures: int) -> str:
    """A day's colour: no data, up (≥ 99.9 %), degraded (≥ 99 %) or down."""
    if not checks:
        return NO_DATA
    uptime = (checks - failures) / checks * 100
    if uptime >= UP_PERCENT:
        return UP
    return DEGRADED if uptime >= DEGRADED_PERCENT else DOWN


@dataclass(frozen=True, slots=True)
class Bar:
    """One element of an item's chart: a single UTC day, or a run of consecutive days that
    read alike (every check passed, or no data), drawn and described as one.

    Days with a failure, downtime or an incident always stand alone, each told with its own
    figures.
    """

    first: int  # index of the first day in the window
    length: int
    first_day: date
    last_day: date
    uptime: float | None
    downtime_sec: int
    incidents: tuple[str, ...]
    level: str


@dataclass(frozen=True, slots=True)
class Rollups:
    """One item's rollups in the window."""

    first: int  # indexes of the first and last day with data
    last: int
    days_with_data: int
    checks_30d: int
    failures_30d: int
    checks: int
    failures: int
    # Days with a failure or downtime, by index: (index, checks, failures, downtime seconds);
    # also the days with results under maintenance only, as (index, 0, 0, 0). Tuples, so
    # that the whole is hashable: the bars are memoised by it.
    details: tuple[tuple[int, int, int, int], ...] = ()
    # Only when the days with data have gaps: all their indexes.
    data_days: tuple[int, ...] | None = None

    @property
    def uptime_30d(self) -> float | None:
        return percent(self.checks_30d, self.failures_30d)

    @property
    def uptime_90d(self) -> float | None:
        return percent(self.checks, self.failures)


def window(now: datetime) -> list[date]:
    """The UTC days the bars cover, oldest first, today last."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=DAYS - 1 - n) for n in range(DAYS)]


def read(keys: list[Key], days: list[date]) -> dict[Key, Rollups]:
    """The rollups of these items (``(subject type, id)``) over ``days``; items without
    any are left out."""
    if not keys:
        return {}
    rollups = _past(keys, days)
    today = len(days) - 1
    query = sa.select(
        DailyRollup.subject_type,
        DailyRollup.subject_id,
        DailyRollup.checks,
        DailyRollup.failures,
        DailyRollup.downtime_sec,
        DailyRollup.maintenance_checks,
    ).where(_of(keys), DailyRollup.day == days[-1])
    for subject_type, subject_id, checks, failures, downtime, held in db.session.execute(query):
        key = (subject_type, subject_id)
        rollups[key] = _with_day(rollups.get(key), today, checks, failures, downtime, held)
    return rollups


def _with_day(
    rollups: Rollups | None, n: int, checks: int, failures: int, downtime: int, held: int = 0
):
    """``rollups`` plus the newest day ``n`` (today), which falls in both windows."""
    apart = failures or downtime or (held and not checks)
    details = ((n, checks, failures, downtime),) if apart else ()
    if rollups is None:
        return Rollups(n, n, 1, checks, failures, checks, failures, details)
    data_days = rollups.data_days
    if data_days is not None:
        data_days = (*data_days, n)
    elif rollups.last != n - 1:
        data_days = (*range(rollups.first, rollups.last + 1), n)
    return Rollups(
        rollups.first,
        n,
        rollups.days_with_data + 1,
        rollups.checks_30d + checks,
        rollups.failures_30d + failures,
        rollups.checks + checks,
        rollups.failures + failures,
        rollups.details + details,
        data_days,
    )


def _of(keys: list[Key]) -> sa.ColumnElement[bool]:
    clauses = []
    for subject_type in (SUBJECT_MONITOR, SUBJECT_CRON_JOB):
        ids = [i for t, i in keys if t == subject_type]
        if ids:
            clauses.append(
                sa.and_(DailyRollup.subject_type == subject_type, DailyRollup.subject_id.in_(ids))
            )
    return sa.or_(*clauses)


def _past(keys: list[Key], days: list[date]) -> dict[Key, Rollups]:
    """The finished days (all but today), from the cache when it has them."""
    finished, since_30d = days[:-1], days[-30]
    rendered = False

    def render() -> bytes:
        nonlocal rendered
        rendered = True
        return json.dumps(
            [[t, i, *_encode(r)] for (t, i), r in _aggregate(keys, finished, since_30d).items()],
            separators=(",", ":"),
        ).encode()

    global _decoded
    document = page_cache.fetch(PAST_CACHE_KEY + days[-1].isoformat(), render, PAST_TTL_MS)
    if _decoded is None or _decoded[0] != document.etag:
        decoded = {(row[0], row[1]): _decode(row[2:]) for row in json.loads(document.body)}
        _decoded = (document.etag, decoded)
    rollups = dict(_decoded[1])
    if not rendered:
        # The cached aggregate covers the items public when it was made (those with
        # rollups): read the others now, which costs an index lookup each.
        missing = [key for key in keys if key not in rollups]
        if missing:
            rollups.update(_aggregate(missing, finished, since_30d))
    return rollups


def _encode(r: Rollups) -> list:
    return [r.first, r.last, r.days_with_data, r.checks_30d, r.failures_30d, r.checks,
            r.failures, r.details, r.data_days]  # fmt: skip


def _decode(row: list) -> Rollups:
    first, last, days_with_data, checks_30d, failures_30d, checks, failures, details, days = row
    return Rollups(
        first,
        last,
        days_with_data,
        checks_30d,
        failures_30d,
        checks,
        failures,
        tuple(tuple(d) for d in details),
        None if days is None else tuple(days),
    )


def _aggregate(keys: list[Key], days: list[date], since_30d: date) -> dict[Key, Rollups]:
    """One aggregated row per item over ``days``; the days with a failure or downtime come
    back as text ("<day> <checks> <failures> <downtime>", comma-separated)."""
    index_of = {day.isoformat(): n for n, day in enumerate(days)}
    day_text = sa.cast(DailyRollup.day, sa.String)
    in_30d = DailyRollup.day >= since_30d
    detail = sa.case(
        (
            sa.or_(
                DailyRollup.failures > 0,
                DailyRollup.downtime_sec > 0,
                sa.and_(DailyRollup.checks == 0, DailyRollup.maintenance_checks > 0),
            ),
            day_text
            + " "
            + sa.cast(DailyRollup.checks, sa.String)
            + " "
            + sa.cast(DailyRollup.failures, sa.String)
            + " "
            + sa.cast(DailyRollup.downtime_sec, sa.String),
        )
    )
    in_window = sa.and_(_of(keys), DailyRollup.day >= days[0], DailyRollup.day <= days[-1])
    query = (
        sa.select(
            DailyRollup.subject_type,
            DailyRollup.subject_id,
            sa.func.min(day_text),
            sa.func.max(day_text),
            sa.func.count(),
            sa.func.sum(sa.case((in_30d, DailyRollup.checks), else_=0)),
            sa.func.sum(sa.case((in_30d, DailyRollup.failures), else_=0)),
            sa.func.sum(DailyRollup.checks),
            sa.func.sum(DailyRollup.failures),
            sa.func.aggregate_strings(detail, ","),
        )
        .where(in_window)
        .group_by(DailyRollup.subject_type, DailyRollup.subject_id)
    )
    rollups = {}
    for row in db.session.execute(query):
        details = []
        for entry in (row[9] or "").split(","):
            if entry:
                day, checks, failures, downtime = entry.split(" ")
                details.append((index_of[day[:10]], int(checks), int(failures), int(downtime)))
        rollups[(row[0], row[1])] = Rollups(
            index_of[row[2][:10]],
            index_of[row[3][:10]],
            row[4],
            row[5] or 0,
            row[6] or 0,
            row[7] or 0,
            row[8] or 0,
            tuple(sorted(details)),
        )
    # Days with data that have gaps (a paused monitor, a weekly job): list them all.
    gaps = [key for key, r in rollups.items() if r.days_with_data < r.last - r.first + 1]
    if gaps:
        data_days: dict[Key, list[int]] = {key: [] for key in gaps}
        days_query = sa.select(DailyRollup.subject_type, DailyRollup.subject_id, day_text).where(
            _of(gaps), DailyRollup.day >= days[0], DailyRollup.day <= days[-1]
        )
        for subject_type, subject_id, day in db.session.execute(days_query):
            data_days[(subject_type, subject_id)].append(index_of[day[:10]])
        for key, indexes in data_days.items():
            rollups[key] = replace(rollups[key], data_days=tuple(sorted(indexes)))
    return rollups


def _spans(rollups: Rollups | None, count: int) -> list[tuple[int, int, bool]]:
    """(first index, last index, has data) covering every day, alternating."""
    if rollups is None:
        return [(0, count - 1, False)]
    if rollups.data_days is None:
        runs = [(rollups.first, rollups.last)]
    else:
        runs = []
        for n in rollups.data_days:
            if runs and runs[-1][1] == n - 1:
                runs[-1] = (runs[-1][0], n)
            else:
                runs.append((n, n))
    spans, position = [], 0
    for first, last in runs:
        if first > position:
            spans.append((position, first - 1, False))
        spans.append((first, last, True))
        position = last + 1
    if position < count:
        spans.append((position, count - 1, False))
    return spans


@functools.lru_cache(maxsize=4096)
def bars(
    first_day: date, rollups: Rollups | None, titles: tuple[tuple[int, tuple[str, ...]], ...]
) -> tuple[Bar, ...]:
    """An item's chart over the window starting at ``first_day``: runs of clean days and of
    days without data; every day with a failure, downtime or incident on its own.

    ``titles`` are the incidents' titles by day index. A pure function of hashable inputs,
    memoised: from one render to the next most items' bars are the same.
    """
    days = [first_day + timedelta(days=n) for n in range(DAYS)]
    details = {n: (checks, failures, downtime) for n, checks, failures, downtime in (
        rollups.details if rollups else ())}  # fmt: skip
    by_day = dict(titles)
    single = sorted(set(details) | set(by_day))
    result = []
    for first, last, has_data in _spans(rollups, len(days)):
        level, uptime = (UP, 100.0) if has_data else (NO_DATA, None)
        position = first
        for n in single:
            if not first <= n <= last:
                continue
            if n > position:
                result.append(
                    Bar(position, n - position, days[position], days[n - 1], uptime, 0, (), level)
                )
            checks, failures, downtime = details.get(n, (0, 0, 0))
            day_level = bar_level(checks, failures) if checks else level
            if n in details and not checks:  # results under maintenance only
                uptime_of_day, day_level = None, MAINTENANCE
            else:
                uptime_of_day = percent(checks, failures) if checks else uptime
            result.append(
                Bar(
                    n,
                    1,
                    days[n],
                    days[n],
                    uptime_of_day,
                    downtime,
                    by_day.get(n, ()),
                    day_level,
                )
            )
            position = n + 1
        if position <= last:
            result.append(
                Bar(position, last - position + 1, days[position], days[last], uptime, 0, (), level)
            )
    return tuple(result)
