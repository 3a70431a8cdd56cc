"""Server-rendered SVG for the status page (uptime bars, response chart) and the badges.

Written as plain string building rather than templates: a page of 1,000 items draws some
10,000 bars, and a Jinja loop over them costs several times more. Every text that came from a
person goes through ``xml_text``, which is right for HTML, SVG and Atom alike.
"""

from __future__ import annotations

import math
import re

from markupsafe import Markup, escape

from app import durations
from app.services import status_page as sp
from app.services import uptime_bars as ub

# Characters XML 1.0 forbids even when escaped (a name could contain them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

BAR_SLOT = 6  # viewBox units per day: a bar of 4 and a gap of 2
BAR_WIDTH = 4
BAR_HEIGHT = 34


def xml_text(value: object) -> Markup:
    """``value`` escaped for HTML, XML attributes and text, minus characters XML forbids."""
    return escape(_NOT_XML.sub("", str(value)))


def percent(value: float | None) -> str:
    """Uptime for people: never rounded up to 100 % when anything failed."""
    if value is None:
        return "no data"
    if value >= 100:
        return "100%"
    # Round away float noise first: 99.29 * 100 is 9928.999….
    return f"{math.floor(round(value * 100, 6)) / 100:.2f}%"


def bar_text(bar: ub.Bar) -> str:
    """What one bar says on hover, on focus and to a screen reader (not yet escaped)."""
    if bar.length == 1:
        parts = [bar.first_day.isoformat()]
    else:
        parts = [f"{bar.first_day.isoformat()} to {bar.last_day.isoformat()}"]
    if bar.level == ub.MAINTENANCE:
        parts.append("maintenance")
    elif bar.uptime is None:
        parts.append("no data")
    elif bar.length > 1:
        parts.append("100% uptime every day")
        parts.append("no downtime")
    else:
        parts.append(f"{percent(bar.uptime)} uptime")
        down = bar.downtime_sec
        parts.append(f"{durations.downtime(down)} down" if down else "no downtime")
    if bar.incidents:
        count = len(bar.incidents)
        parts.append(f"{count} incident{'s' if count > 1 else ''}: " + "; ".join(bar.incidents))
    return " · ".join(parts)


# Runs of days are filled with these patterns (see app.css): one bar per day, in the level's
# colour.
PATTERNS = Markup(
    '<svg class="bar-patterns" width="0" height="0" aria-hidden="true" focusable="false"><defs>'
    + "".join(
        f'<pattern id="bars-{level}" width="{BAR_SLOT}" height="{BAR_HEIGHT}" '
        f'patternUnits="userSpaceOnUse"><rect width="{BAR_WIDTH}" height="{BAR_HEIGHT}" '
        f'class="bar-{level}"></rect></pattern>'
        for level in (ub.UP, ub.NO_DATA)
    )
    + "</defs></svg>"
)


def _rect(bar: ub.Bar, newest: bool) -> str:
    # Roving focus: only the newest bar is in the tab order; arrow keys move along.
    x = bar.first * BAR_SLOT
    width = bar.length * BAR_SLOT - (BAR_SLOT - BAR_WIDTH)
    return (
        f'<rect x="{x}" width="{width}" height="{BAR_HEIGHT}" '
        f'class="bar bar-{bar.level}{" run" if bar.length > 1 else ""}" '
        f'tabindex="{0 if newest else -1}" role="img">'
        f"<title>{xml_text(bar_text(bar))}</title></rect>"
    )


def uptime_chart(name: str, bars: tuple[ub.Bar, ...]) -> Markup:
    """An item's 90-day chart: one rect per bar, runs filled with a pattern of day bars."""
    width = ub.DAYS * BAR_SLOT - (BAR_SLOT - BAR_WIDTH)
    last = len(bars) - 1
    rects = "".join(_rect(bar, n == last) for n, bar in enumerate(bars))
    label = xml_text(f"Daily uptime of {name}, last {ub.DAYS} days")
    return Markup(
        f'<svg class="bars" viewBox="0 0 {width} {BAR_HEIGHT}" preserveAspectRatio="none" '
        f'role="group" aria-label="{label}">{rects}</svg>'
    )


def problem_days(bars: tuple[ub.Bar, ...]) -> list[ub.Bar]:
    """Days with failures, downtime or incidents, newest first: the chart in words."""
    return [
        bar
        for bar in reversed(bars)
        if bar.incidents or bar.downtime_sec or (bar.uptime is not None and bar.uptime < 100)
    ]


CHART_WIDTH = 240
CHART_HEIGHT = 48


def chart_summary(points: tuple[sp.ChartPoint, ...]) -> str:
    """The 24-hour chart in words: mean, fastest and slowest hour."""
    values = [p.mean_ms for p in points if p.mean_ms is not None]
    if not values:
        return "no successful checks"
    mean = round(sum(values) / len(values))
    return f"mean {mean} ms, fastest hour {min(values)} ms, slowest hour {max(values)} ms"


def response_chart(name: str, points: tuple[sp.ChartPoint, ...]) -> Markup:
    """A line of the 24 hourly means, with gaps where an hour had no successful check; each
    hour's column tells its figure on hover."""
    values = [p.mean_ms for p in points if p.mean_ms is not None]
    if not values:
        return Markup("")
    top = max(values) * 1.15 or 1
    step = CHART_WIDTH / len(points)
    segments: list[list[str]] = []
    current: list[str] = []
    hours: list[str] = []
    for n, point in enumerate(points):
        x = n * step
        if point.mean_ms is None:
            if current:
                segments.append(current)
            current = []
            text = f"{point.hour:%H:%M} UTC: no successful check"
        else:
            y = round(CHART_HEIGHT - point.mean_ms / top * (CHART_HEIGHT - 4) - 2, 1)
            current.append(f"{round(x + step / 2, 1)},{y}")
            text = f"{point.hour:%H:%M} UTC: {point.mean_ms} ms"
        hours.append(
            f'<rect x="{round(x, 1)}" width="{round(step, 1)}" height="{CHART_HEIGHT}" '
            f'class="chart-hour"><title>{text}</title></rect>'
        )
    if current:
        segments.append(current)
    lines = "".join(
        f'<polyline class="chart-line" points="{" ".join(s)}"></polyline>' for s in segments
    )
    label = xml_text(f"Response time of {name} over 24 hours: {chart_summary(points)}")
    return Markup(
        f'<svg class="chart" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" preserveAspectRatio="none"'
        f' role="img" aria-label="{label}">'
        f'<line x1="0" y1="{CHART_HEIGHT - 0.5}" x2="{CHART_WIDTH}" y2="{CHART_HEIGHT - 0.5}" '
        f'class="chart-axis"></line>{lines}{"".join(hours)}</svg>'
    )


# ---------------------------------------------------------------------------------------------
# Badges, in the look of shields.io's "flat" style.

BADGE_COLORS = {
    "brightgreen": "#4c1",
    "green": "#97ca00",
    "yellow": "#dfb317",
    "red": "#e05d44",
    "lightgrey": "#9f9f9f",
}
STATUS_COLORS = {
    ub.UP: "brightgreen",
    ub.DEGRADED: "yellow",
    ub.DOWN: "red",
    sp.PENDING: "lightgrey",
    sp.PAUSED: "lightgrey",
    sp.MAINTENANCE: "blue",
}


def uptime_color(value: float | None) -> str:
    if value is None:
        return "lightgrey"
    if value >= 99.9:
        return "brightgreen"
    if value >= 99:
        return "green"
    return "yellow" if value >= 95 else "red"


def _text_width(text: str) -> int:
    """An estimate of the width of Verdana 11px text, close enough to size a badge."""
    width = 0.0
    for char in text:
        if char in "iljI.,:;!|' ":
            width += 3.6
        elif char in "mwMW%":
            width += 10.5
        elif char.isupper() or char.isdigit():
            width += 7.6
        else:
            width += 6.6
    return math.ceil(width)


def badge(label: str, message: str, color: str) -> str:
    """A standalone SVG badge: ``label`` on grey, ``message`` on ``color``."""
    label, message = _NOT_XML.sub("", label), _NOT_XML.sub("", message)
    fill = BADGE_COLORS[color]
    left = _text_width(label) + 10
    right = _text_width(message) + 10
    total = left + right
    lx, mx = left / 2, left + right / 2
    title = escape(f"{label}: {message}")
    label, message = escape(label), escape(message)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{fill}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{lx}" y="15" fill="#010101" fill-opacity=".3">{label}</text>'
        f'<text x="{lx}" y="14">{label}</text>'
        f'<text x="{mx}" y="15" fill="#010101" fill-opacity=".3">{message}</text>'
        f'<text x="{mx}" y="14">{message}</text></g></svg>'
    )
