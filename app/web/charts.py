"""Server-rendered SVG for the dashboard: beat bars, sparklines, the response-time chart and
the timing breakdown of a check. Plain string building, like ``status_svg``: no script draws
them, so they show without JavaScript and cost the browser nothing.

Every chart carries its figures in words (``aria-label`` and ``<title>``), so colour and shape
are never the only way to read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup, escape

from app.models import CheckResult
from app.services import beats as beats_module
from app.services.beats import Beat
from app.services.history import Bucket, Point
from app.web.status_svg import xml_text

SPARK_WIDTH = 100
SPARK_HEIGHT = 24
CHART_WIDTH = 600
CHART_HEIGHT = 180
BEAT_SLOT = 6  # width of one tick and its gap in the beat bar's drawing units
BEAT_HEIGHT = 20
# A tick's height tells its status as well as its colour does: down stands tallest.
_BEAT_HEIGHTS = {"down": 19, "degraded": 15, "up": 11, "maintenance": 7, "none": 2}
_BEAT_WORDS = {"up": "up", "down": "down", "degraded": "degraded", "maintenance": "maintenance"}


def _count(n: int, noun: str) -> str:
    """ "1 check", "3 checks": ``noun`` is the plural (checks, runs, pings)."""
    return f"{n} {noun[:-1] if n == 1 else noun}"


def ms(us: int | float | None) -> str:
    """A duration in microseconds as every page writes it: one decimal below 10 ms (a local
    target answers in 0.9 ms, not "1 ms"), whole milliseconds above."""
    if us is None:
        return "—"
    value = us / 1000
    return f"{value:.1f} ms" if value < 10 else f"{round(value):,} ms"


_UTC_MOMENT = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?) UTC")


def localised_times(text: str | None) -> Markup:
    """A sentence with moments written in UTC ("expected by 2026-12-06 08:45:00 UTC", as an
    incident's cause is stored) made to show them like every other time on the page: each
    becomes a ``<time>`` that app.js writes in the viewer's zone, exact UTC on hover."""
    if not text:
        return Markup("")
    out, last = [], 0
    for found in _UTC_MOMENT.finditer(text):
        stamp = found.group(1)
        iso = stamp.replace(" ", "T") + (":00" if len(stamp) == 16 else "") + "Z"
        out.append(escape(text[last : found.start()]))
        out.append(
            Markup('<time datetime="{}" title="{} UTC" data-local="datetime">{} UTC</time>').format(
                iso, stamp, stamp
            )
        )
        last = found.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _title(moment: datetime, text: str) -> str:
    """A tooltip that starts with its moment: exact UTC in the markup, which app.js turns
    into the viewer's own zone like every other time on the page."""
    iso = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    exact = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f'<title data-at="{iso}">{xml_text(f"{exact} · {text}")}</title>'


def beat_bar(name: str, beats: list[Beat], noun: str = "checks") -> Markup:
    """The last results as ticks, newest on the right, empty slots (none yet) on the left;
    each tick tells its time, result and time taken on hover, and the whole bar says in
    words how many of each there were and how the last one went."""
    slots = beats_module.LIMIT
    shown = beats[-slots:]
    parts = []
    for n in range(slots - len(shown)):
        parts.append(_tick(n, "none", None))
    for n, beat in enumerate(shown, start=slots - len(shown)):
        text = f"{beat.reason}" + (f", {ms(beat.us)}" if beat.us is not None else "")
        parts.append(_tick(n, beat.status, _title(beat.at, text)))
    if shown:
        counts: dict[str, int] = {}
        for beat in shown:
            counts[beat.status] = counts.get(beat.status, 0) + 1
        tally = ", ".join(f"{counts[s]} {_BEAT_WORDS[s]}" for s in _BEAT_WORDS if s in counts)
        words = f"last {_count(len(shown), noun)}: {tally}; the latest: {shown[-1].reason}"
    else:
        words = f"no {noun} yet"
    label = xml_text(f"{name}, {words}")
    return Markup(
        f'<svg class="beats" viewBox="0 0 {slots * BEAT_SLOT} {BEAT_HEIGHT}" '
        f'preserveAspectRatio="none" role="img" aria-label="{label}" '
        f'data-ticks="{len(shown)}">{"".join(parts)}</svg>'
    )


def _tick(n: int, status: str, title: str | None) -> str:
    height = _BEAT_HEIGHTS[status]
    return (
        f'<rect class="beat beat-{status}" data-status="{status}" x="{n * BEAT_SLOT + 1}" '
        f'y="{BEAT_HEIGHT - 0.5 - height}" width="{BEAT_SLOT - 2}" height="{height}" rx="1">'
        f"{title or ''}</rect>"
    )


def _segments(values: list[float | None], width: float, height: float, top: float) -> list[str]:
    """Polyline point lists, one per run of known values (a gap where a value is None)."""
    step = width / len(values)
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for n, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
            continue
        y = round(height - value / top * (height - 4) - 2, 1)
        current.append((round(n * step + step / 2, 1), y))
    if current:
        runs.append(current)
    for run in runs:
        if len(run) == 1:  # a lone point draws nothing as a line: make it a short dash
            x, y = run[0]
            run[:] = [(round(x - step / 3, 1), y), (round(x + step / 3, 1), y)]
    return [" ".join(f"{x},{y}" for x, y in run) for run in runs]


def summary(values: list[float | None], noun: str = "checks") -> str:
    """Mean, fastest and slowest of the known values (milliseconds), in words."""
    known = [v for v in values if v is not None]
    if not known:
        return f"no successful {noun}"
    mean = sum(known) / len(known)
    return (
        f"mean {ms(mean * 1000)}, fastest {ms(min(known) * 1000)}, slowest {ms(max(known) * 1000)}"
    )


def sparkline(name: str, beats: list[Beat], noun: str = "checks") -> Markup:
    """A small line of the response times of the last results (the beat bar's), drawn from
    the first result on; "no data" when none succeeded yet."""
    values = [b.us / 1000 if b.us is not None and b.status != "down" else None for b in beats]
    if not any(v is not None for v in values):
        return Markup('<span class="muted">no data</span>')
    top = max(v for v in values if v is not None) * 1.15 or 1
    lines = "".join(
        f'<polyline class="spark-line" points="{points}"></polyline>'
        for points in _segments(values, SPARK_WIDTH, SPARK_HEIGHT, top)
    )
    what = "Response time" if noun == "checks" else "Run time"
    label = xml_text(f"{what} of {name}, last {_count(len(beats), noun)}: {summary(values, noun)}")
    return Markup(
        f'<svg class="spark" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" '
        f'preserveAspectRatio="none" role="img" aria-label="{label}">'
        f"<title>{label}</title>{lines}</svg>"
    )


@dataclass(slots=True)
class Chart:
    """A response-time (or run-time) chart: the drawing, its axes as values the template
    writes in HTML (readable at any width, times localised like the rest of the page), and
    a caption computed from the very points drawn."""

    svg: Markup
    y_labels: list[str]  # the grid lines' values, top to bottom (full, half, zero)
    x_labels: list[datetime]  # left to right
    caption: str
    points: int  # how many results are drawn


def _y(us: float, top: float) -> float:
    return round(CHART_HEIGHT - 2 - us / top * (CHART_HEIGHT - 12), 1)


def _frame(top: float, limit_us: float | None) -> list[str]:
    parts = []
    for share in _AXIS_SHARES:
        y = _y(top / HEADROOM * share, top)
        parts.append(
            f'<line class="chart-grid" x1="0" y1="{y}" x2="{CHART_WIDTH}" y2="{y}"></line>'
        )
    if limit_us is not None:
        y = _y(limit_us, top)
        parts.append(
            f'<line class="chart-limit" x1="0" y1="{y}" x2="{CHART_WIDTH}" y2="{y}"></line>'
        )
    return parts


def _svg(label: str, parts: list[str]) -> Markup:
    return Markup(
        f'<svg class="response-chart" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" '
        f'role="img" aria-label="{xml_text(label)}">{"".join(parts)}</svg>'
    )


_AXIS_SHARES = (1, 0.5, 0)
# Room above the slowest point, so it is not drawn on the frame's edge.
HEADROOM = 1.15


def _axis_labels(top: float) -> list[str]:
    """The millisecond axis: the values of the grid lines (the slowest, half of it, zero),
    which sit at fixed heights: app.css places the labels beside them."""
    return [ms(top / HEADROOM * share) if share else "0 ms" for share in _AXIS_SHARES]


def point_chart(
    name: str,
    range_name: str,
    points: list[Point],
    now: datetime,
    span: timedelta,
    limit_ms: int | None = None,
    noun: str = "checks",
    what: str = "Response time",
) -> Chart:
    """Each result as a point, from the first one on (a new monitor's three checks fill the
    width instead of a dash at its right edge); failures as red crosses on the base line."""
    start = max(now - span, points[0].at - timedelta(minutes=1)) if points else now - span
    width_s = max((now - start).total_seconds(), 1)
    timed = [p.us for p in points if p.status != "down" and p.us is not None]
    limit_us = limit_ms * 1000 if limit_ms is not None else None
    top = max(max(timed, default=1000), limit_us or 0) * HEADROOM
    parts = _frame(top, limit_us)

    def x(moment: datetime) -> float:
        return round((moment - start).total_seconds() / width_s * (CHART_WIDTH - 8) + 4, 1)

    line = " ".join(
        f"{x(p.at)},{_y(p.us, top)}" for p in points if p.status != "down" and p.us is not None
    )
    if len(timed) > 1:
        parts.append(f'<polyline class="chart-line" points="{line}"></polyline>')
    for p in points:
        text = p.reason + (f", {ms(p.us)}" if p.us is not None else "")
        if p.status == "down":
            cx, cy = x(p.at), CHART_HEIGHT - 6
            parts.append(
                f'<path class="chart-point chart-failed" d="M{cx - 4},{cy - 4}l8,8m0,-8l-8,8">'
                f"{_title(p.at, text)}</path>"
            )
        elif p.us is not None:
            parts.append(
                f'<circle class="chart-point chart-{p.status}" cx="{x(p.at)}" '
                f'cy="{_y(p.us, top)}" r="3.5">{_title(p.at, text)}</circle>'
            )
    failed = sum(1 for p in points if p.status == "down")
    since = "" if start <= now - span else " since the first"
    words = (
        f"{_count(len(points), noun)}{since}: {summary([us / 1000 for us in timed], noun)}"
        if points
        else f"no {noun} yet"
    )
    if failed:
        words += f"; {failed} failed, marked with a red cross"
    if limit_ms is not None:
        words += f"; degraded above {limit_ms:,} ms"
    caption = f"Last {range_name}, {words}"
    return Chart(
        _svg(f"{what} of {name}. {caption}", parts),
        _axis_labels(top),
        [start, start + (now - start) / 2, now],
        caption,
        len(points),
    )


def bucket_chart(
    name: str,
    range_name: str,
    buckets: list[Bucket],
    now: datetime,
    span: timedelta,
    limit_ms: int | None = None,
) -> Chart:
    """Longer ranges: per slice the mean as a line inside a band from the fastest to the
    slowest check, a red mark under each slice with failures, figures on hover."""
    limit_us = limit_ms * 1000 if limit_ms is not None else None
    slowest = max((b.max_ms for b in buckets if b.max_ms is not None), default=1)
    top = max(slowest * 1000, limit_us or 0) * HEADROOM
    parts = _frame(top, limit_us)
    step = CHART_WIDTH / len(buckets)
    upper, lower = [], []
    for n, b in enumerate(buckets):
        if b.min_ms is not None and b.max_ms is not None:  # both or neither
            cx = round(n * step + step / 2, 1)
            upper.append(f"{cx},{_y(b.max_ms * 1000, top)}")
            lower.append(f"{cx},{_y(b.min_ms * 1000, top)}")
    if upper:
        parts.append(
            f'<polygon class="chart-band" points="{" ".join(upper + lower[::-1])}"></polygon>'
        )
    run: list[str] = []
    for n, slot in enumerate([*buckets, None]):
        if slot is not None and slot.mean_ms is not None:
            run.append(f"{round(n * step + step / 2, 1)},{_y(slot.mean_ms * 1000, top)}")
            continue
        if len(run) == 1:  # a lone slice draws no line: a dot instead
            dot_x, dot_y = run[0].split(",")
            parts.append(f'<circle class="chart-mean" cx="{dot_x}" cy="{dot_y}" r="3"></circle>')
        elif run:
            parts.append(f'<polyline class="chart-line" points="{" ".join(run)}"></polyline>')
        run = []
    for n, b in enumerate(buckets):
        x = round(n * step, 2)
        if b.failures:
            parts.append(
                f'<rect class="chart-failure" x="{x}" y="{CHART_HEIGHT - 5}" '
                f'width="{round(step, 2)}" height="5"></rect>'
            )
        if b.checks:
            text = f"{b.checks} checks"
            if b.mean_ms is not None and b.min_ms is not None and b.max_ms is not None:
                text += (
                    f", mean {ms(b.mean_ms * 1000)}, fastest {ms(b.min_ms * 1000)}, "
                    f"slowest {ms(b.max_ms * 1000)}"
                )
            if b.failures:
                text += f", {b.failures} failed"
        else:
            text = "no checks"
        parts.append(
            f'<rect class="chart-slot" x="{x}" width="{round(step, 2)}" height="{CHART_HEIGHT}">'
            f"{_title(b.start, text)}</rect>"
        )
    checks = sum(b.checks for b in buckets)
    failed = sum(b.failures for b in buckets)
    successes = sum(b.checks - b.failures for b in buckets if b.mean_ms is not None)
    if successes:
        mean = sum(b.mean_ms * (b.checks - b.failures) for b in buckets if b.mean_ms is not None)
        fastest = min(b.min_ms for b in buckets if b.min_ms is not None)
        words = (
            f"{_count(checks, 'checks')}: mean {ms(mean / successes * 1000)}, "
            f"fastest {ms(fastest * 1000)}, slowest {ms(slowest * 1000)}"
        )
    else:
        words = f"{checks} checks, no successful one" if checks else "no checks yet"
    if failed:
        words += f"; {failed} failed, marked in red below"
    if limit_ms is not None:
        words += f"; degraded above {limit_ms:,} ms"
    caption = f"Last {range_name}, {words}; the band spans the fastest to the slowest check"
    start = now - span
    return Chart(
        _svg(f"Response time of {name}. {caption}", parts),
        _axis_labels(top),
        [start, start + span / 2, now],
        caption,
        checks,
    )


def phases(check: CheckResult) -> list[tuple[str, int]]:
    """How long each phase of a check took, in microseconds, from the moments the probe
    records (each counted from the start of the request): DNS, connect, TLS, waiting for the
    first byte, and reading the rest."""
    marks = [
        ("DNS", check.dns_us),
        ("connect", check.connect_us),
        ("TLS", check.tls_us),
        ("wait", check.first_byte_us),
        ("read", check.total_us),
    ]
    result, previous = [], 0
    for phase, moment in marks:
        if moment is None:
            continue
        result.append((phase, max(0, moment - previous)))
        previous = max(previous, moment)
    return result


def timing_bar(check: CheckResult, longest_us: int) -> Markup:
    """One check's phases as a stacked bar, scaled so the slowest check shown fills it."""
    parts, x = [], 0.0
    scale = 200 / max(longest_us, 1)
    described = []
    for phase, us in phases(check):
        width = round(us * scale, 2)
        described.append(f"{phase} {us / 1000:.1f} ms")
        if width > 0:
            parts.append(
                f'<rect class="phase phase-{phase.lower()}" x="{x}" width="{width}" height="10">'
                f"<title>{phase}: {us / 1000:.1f} ms</title></rect>"
            )
        x += width
    if not described:
        return Markup('<span class="muted">no timings</span>')
    label = xml_text(", ".join(described))
    return Markup(
        f'<svg class="timing" viewBox="0 0 200 10" preserveAspectRatio="none" role="img" '
        f'aria-label="{label}">{"".join(parts)}</svg>'
    )
