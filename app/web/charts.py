"""Server-rendered SVG for the dashboard: sparklines, the response-time chart and the timing
breakdown of a check. Plain string building, like ``status_svg``: no script draws them, so
they show without JavaScript and cost the browser nothing.

Every chart carries its figures in words (``aria-label`` and ``<title>``), so colour and shape
are never the only way to read it.
"""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup

from app.models import CheckResult
from app.services.history import Bucket
from app.web.status_svg import xml_text

SPARK_WIDTH = 100
SPARK_HEIGHT = 24
CHART_WIDTH = 600
CHART_HEIGHT = 160


def _segments(values: list[int | None], width: float, height: float, top: float) -> list[str]:
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


def summary(values: list[int | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "no successful checks"
    mean = round(sum(known) / len(known))
    return f"mean {mean} ms, fastest {min(known)} ms, slowest {max(known)} ms"


def sparkline(name: str, values: tuple[int | None, ...]) -> Markup:
    """A small line of hourly mean response times; a dash when there is nothing to draw."""
    if not any(v is not None for v in values):
        return Markup('<span class="muted">no data</span>')
    top = max(v for v in values if v is not None) * 1.15 or 1
    lines = "".join(
        f'<polyline class="spark-line" points="{points}"></polyline>'
        for points in _segments(list(values), SPARK_WIDTH, SPARK_HEIGHT, top)
    )
    label = xml_text(f"Response time of {name}, last 24 hours: {summary(list(values))}")
    return Markup(
        f'<svg class="spark" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" '
        f'preserveAspectRatio="none" role="img" aria-label="{label}">'
        f"<title>{label}</title>{lines}</svg>"
    )


def _when(moment: datetime, long_span: bool) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC" if long_span else "%H:%M UTC")


def response_chart(
    name: str, range_name: str, buckets: list[Bucket], degraded_after_ms: int | None = None
) -> Markup:
    """The detail page's chart: a line of mean response times per slice, a red mark under
    each slice with failed checks, a dashed amber line at the degraded limit, and every slice
    telling its figures on hover."""
    values = [b.mean_ms for b in buckets]
    known = [v for v in values if v is not None]
    failed = sum(b.failures for b in buckets)
    top = max(max(known) if known else 1, degraded_after_ms or 0) * 1.15 or 1
    step = CHART_WIDTH / len(buckets)
    long_span = range_name != "24h"
    parts = [
        f'<line class="chart-axis" x1="0" y1="{CHART_HEIGHT - 0.5}" x2="{CHART_WIDTH}" '
        f'y2="{CHART_HEIGHT - 0.5}"></line>'
    ]
    parts += [
        f'<polyline class="chart-line" points="{points}"></polyline>'
        for points in _segments(values, CHART_WIDTH, CHART_HEIGHT - 6, top)
    ]
    if degraded_after_ms is not None:
        y = round(CHART_HEIGHT - 6 - degraded_after_ms / top * (CHART_HEIGHT - 10) - 2, 1)
        parts.append(
            f'<line class="chart-limit" x1="0" y1="{y}" x2="{CHART_WIDTH}" y2="{y}"></line>'
        )
    for n, bucket in enumerate(buckets):
        x = round(n * step, 2)
        if bucket.failures:
            parts.append(
                f'<rect class="chart-failure" x="{x}" y="{CHART_HEIGHT - 5}" '
                f'width="{round(step, 2)}" height="5"></rect>'
            )
        if bucket.checks:
            mean = f"{bucket.mean_ms} ms mean" if bucket.mean_ms is not None else "no success"
            text = f"{_when(bucket.start, long_span)}: {mean}, {bucket.checks} checks"
            if bucket.failures:
                text += f", {bucket.failures} failed"
        else:
            text = f"{_when(bucket.start, long_span)}: no checks"
        parts.append(
            f'<rect class="chart-slot" x="{x}" width="{round(step, 2)}" height="{CHART_HEIGHT}">'
            f"<title>{xml_text(text)}</title></rect>"
        )
    words = summary(values) + (f", {failed} failed checks" if failed else "")
    if degraded_after_ms is not None:
        words += f", degraded above {degraded_after_ms:,} ms"
    label = xml_text(f"Response time of {name}, last {range_name}: {words}")
    return Markup(
        f'<svg class="response-chart" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" '
        f'preserveAspectRatio="none" role="img" aria-label="{label}">{"".join(parts)}</svg>'
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
