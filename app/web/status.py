"""The public surfaces: status page, status JSON, badges and the incident feed.

No sign-in, no API key, no CSRF (every route is a GET) and no first-run redirect. What may be
shown is decided by ``app.services.status_page``; this module renders it, caches the result
for 10 s (``app.services.page_cache``) and answers conditional requests with 304.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from flask import Blueprint, Response, current_app, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from app.extensions import csrf
from app.services import page_cache, status_page, uptime_bars
from app.services.errors import NotFound, ValidationError
from app.web import status_svg
from app.web.errors import error_response
from app.web.security import CONTENT_SECURITY_POLICY

bp = Blueprint("status", __name__)
csrf.exempt(bp)

MAX_AGE = 10
FEED_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The logo is an admin-chosen image on another origin; images cannot run code.
PAGE_CSP = CONTENT_SECURITY_POLICY.replace(
    "img-src 'self' data:", "img-src 'self' data: https: http:"
)
# A badge opened on its own is a document too: it needs nothing but its own markup.
BADGE_CSP = "default-src 'none'"


@bp.app_template_filter("xml")
def _xml_filter(value: str) -> str:
    return status_svg.xml_text(value)


@bp.app_template_filter("atom_date")
def _atom_date(moment: datetime) -> str:
    """RFC 3339 in UTC, as Atom wants."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@bp.app_template_filter("uptime")
def _uptime_filter(value: float | None) -> str:
    return status_svg.percent(value)


def _cached(key: str, render: Callable[[], bytes], mimetype: str) -> Response:
    """The document under ``key`` (rendered on a miss) as a conditional response."""
    document = page_cache.fetch(status_page.CACHE_PREFIX + key, render)
    response = Response(document.body, mimetype=mimetype)
    response.set_etag(document.etag)
    response.last_modified = document.last_modified
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.make_conditional(request)  # in place: 304 when the client's copy is current
    return response


def _digest(*parts: str) -> str:
    """A fixed-length cache key part for visitor-chosen text (a slug, a name)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


# ---------------------------------------------------------------------------------------------
# The page


class ItemView(NamedTuple):
    """What one item's part of the page shows, and so the key of its memoised HTML."""

    slug: str
    name: str
    description: str
    status: str
    uptime_30d: float | None
    uptime_90d: float | None
    # The inputs of the bars rather than the bars: cheaper to compare, and on a hit the bars
    # need not be computed at all.
    first_day: date
    rollups: uptime_bars.Rollups | None
    incident_days: tuple
    chart: tuple | None


@functools.lru_cache(maxsize=4096)
def _item_html(view: ItemView) -> Markup:
    """One item's HTML. A pure function of what it shows, so memoised: between two renders
    of a large page most items read the same, and only the changed ones are rendered."""
    template = current_app.jinja_env.get_template("status/partials/_item.html")
    return Markup(
        template.render(
            item=view,
            bars=uptime_bars.bars(view.first_day, view.rollups, view.incident_days),
            uptime_chart=status_svg.uptime_chart,
            response_chart=status_svg.response_chart,
            chart_summary=status_svg.chart_summary,
            problem_days=status_svg.problem_days,
            bar_text=status_svg.bar_text,
            days=uptime_bars.DAYS,
        )
    )


def item_html(item: status_page.Item) -> Markup:
    assert item.first_day is not None, "status_page.page() gives every item its bars"
    return _item_html(
        ItemView(
            item.slug,
            item.name,
            item.description,
            item.status,
            item.uptime_30d,
            item.uptime_90d,
            item.first_day,
            item.rollups,
            item.incident_days,
            item.chart,
        )
    )


def _render_page(partial: bool) -> bytes:
    template = "status/partials/_page.html" if partial else "status/page.html"
    return render_template(
        template, page=status_page.page(), item_html=item_html, patterns=status_svg.PATTERNS
    ).encode()


def render_page(shared: bool = True) -> Response:
    """The status page, or for htmx's refresh its partial alone.

    ``shared=False`` is for ``/``, which signed-in admins see as their dashboard: there no
    cache in between may keep the answer, and browsers revalidate it every time.
    """
    partial = request.headers.get("HX-Request") == "true"
    key = "page:partial" if partial else "page:full"
    response = _cached(key, lambda: _render_page(partial), "text/html")
    response.vary.add("HX-Request")
    if not shared:
        response.cache_control.public = False
        response.cache_control.max_age = None
        response.cache_control.no_cache = True
        response.vary.add("Cookie")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


@bp.get("/status")
def page() -> ResponseReturnValue:
    return render_page()


@bp.get("/status/feed.atom")
def feed() -> ResponseReturnValue:
    def render() -> bytes:
        base = current_app.config["BASE_URL"]
        incidents = status_page.feed()
        windows = status_page.public_maintenance()
        changes = [i.updated_at for i in incidents] + [w.updated_at for w in windows]
        return render_template(
            "status/feed.xml",
            incidents=incidents,
            windows=windows,
            # A feed without entries never changed: a fixed date keeps its ETag stable.
            updated=max(changes) if changes else FEED_EPOCH,
            settings=status_page.get_settings(),
            page_url=base + url_for("status.page"),
            feed_url=base + url_for("status.feed"),
        ).encode()

    return _cached("feed", render, "application/atom+xml")


# ---------------------------------------------------------------------------------------------
# JSON in the shape OpenUptimes clients read


@bp.get("/api/status")
def api_status() -> ResponseReturnValue:
    def render() -> bytes:
        summary = status_page.summary()
        return _json(
            {
                "overall": {
                    status_page.OPERATIONAL: "up",
                    status_page.MAJOR_OUTAGE: "down",
                }.get(summary.overall, "degraded"),
                "updated": _ms(summary.updated),
                "services": [
                    {
                        "name": item.name,
                        "description": item.description,
                        "status": item.status,
                        "lastChecked": _ms(item.last_checked_at),
                        "responseTime": item.response_ms,
                        "uptime30d": item.uptime_30d,
                    }
                    for item in summary.items
                ],
            }
        )

    return _public_json(_cached("api:status", render, "application/json"))


@bp.get("/api/status/history")
def api_history() -> ResponseReturnValue:
    name = request.args.get("serviceName", "")
    limit = request.args.get("limit", "60")

    def render() -> bytes:
        item = status_page.find_by_name(name)
        checks = status_page.recent_checks(item, limit)
        history = [
            {
                "timestamp": _ms(c.at),
                "status": "up" if c.up else "down",
                "responseTime": c.response_ms,
            }
            for c in checks
        ]
        return _json({"name": item.name, "history": history})

    try:
        response = _cached("api:history:" + _digest(name, limit), render, "application/json")
    except NotFound as exc:
        return error_response(404, exc.message)
    except ValidationError as exc:
        return error_response(400, " ".join(exc.fields.values()))
    return _public_json(response)


def _public_json(response: Response) -> Response:
    # Public data: any site may read it from a browser.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# ---------------------------------------------------------------------------------------------
# Badges


def _badge_error(status: int, message: str, mimetype: str) -> Response:
    if mimetype == "application/json":
        return Response(_json({"error": message}), status, mimetype=mimetype)
    return make_response(error_response(status, message))


def _badge_response(key: str, render: Callable[[], bytes], mimetype: str) -> Response:
    """A badge, or 404 for a slug that is not public (private ones too), 400 for a bad period."""
    try:
        response = _cached(key, render, mimetype)
    except NotFound:
        return _badge_error(404, "Not found.", mimetype)
    except ValidationError as exc:
        return _badge_error(400, " ".join(exc.fields.values()), mimetype)
    response.headers["Content-Security-Policy"] = BADGE_CSP
    return response


@bp.get("/badge/<slug>/status.svg")
def status_badge(slug: str) -> ResponseReturnValue:
    def render() -> bytes:
        item = status_page.find(slug)
        color = status_svg.STATUS_COLORS[item.status]
        return status_svg.badge(item.name, item.status, color).encode()

    return _badge_response("badge:status:" + _digest(slug), render, "image/svg+xml")


@bp.get("/badge/<slug>/uptime.svg")
def uptime_badge(slug: str) -> ResponseReturnValue:
    period = request.args.get("period", "30d")

    def render() -> bytes:
        item = status_page.find(slug)
        value = status_page.uptime(item, period)
        return status_svg.badge(
            f"uptime {period}", status_svg.percent(value), status_svg.uptime_color(value)
        ).encode()

    return _badge_response("badge:uptime:" + _digest(slug, period), render, "image/svg+xml")


@bp.get("/badge/<slug>/shields.json")
def shields(slug: str) -> ResponseReturnValue:
    """shields.io's endpoint schema: the status, or with ``?period=`` the uptime."""
    period = request.args.get("period")

    def render() -> bytes:
        item = status_page.find(slug)
        if period is None:
            message, color = item.status, status_svg.STATUS_COLORS[item.status]
            label = item.name
        else:
            value = status_page.uptime(item, period)
            message, color = status_svg.percent(value), status_svg.uptime_color(value)
            label = f"uptime {period}"
        return _json({"schemaVersion": 1, "label": label, "message": message, "color": color})

    key = "badge:shields:" + _digest(slug, period or "")
    return _public_json(_badge_response(key, render, "application/json"))
