"""The public status page: its settings, which items it shows, and what it shows of them.

Privacy is decided here, once, for the page, the status JSON, the badges and the feed:

- Only monitors and cron jobs whose ``public`` flag is set are ever selected, and of them only
  the name, description, slug, kind, group, position, state and figures (last check, response
  time, daily rollups). URLs, headers, bodies, credentials and error texts are never read, so
  no template or serialiser can leak them.
- Incidents appear only for public items, with their title, status and times. The ``cause``
  (the raw error, which may name internal hosts) is never loaded. Of an incident's timeline,
  messages written by an admin are shown as written; automatic updates (no author) show a
  fixed sentence for their kind, because their stored text repeats the error.

Statuses shown to the public: ``up``, ``degraded``, ``down``, ``pending`` (no result yet),
``paused`` and ``maintenance`` (a maintenance window covers the item now). The overall
banner counts only items that are up, degraded or down (see ``overall``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.engine import state
from app.extensions import db
from app.models import (
    CheckResult,
    CronExecution,
    CronJob,
    Group,
    Incident,
    IncidentUpdate,
    Monitor,
    Ping,
)
from app.models.history import OK, PING_FAIL, PING_SUCCESS, SUBJECT_CRON_JOB, SUBJECT_MONITOR
from app.models.incident import STATUS_OPEN
from app.models.monitor import KIND_HEARTBEAT, STATE_LATE
from app.models.types import utcnow
from app.services import fields, history, maintenance, page_cache, pagination, settings, uptime_bars
from app.services.errors import NotFound, ValidationError
from app.services.uptime_bars import DEGRADED, DOWN, UP, Bar

SETTINGS_KEY = "status_page"
# Where app.services.page_cache keeps this page's rendered documents.
CACHE_PREFIX = "status:"
DEFAULTS: dict[str, Any] = {
    "title": "Service status",
    "description": "",
    "logo_url": None,
    "footer": "",
    "group_sections": True,
    "show_response_times": False,
}
TITLE_MAX = 100
DESCRIPTION_MAX = 1000
FOOTER_MAX = 500
POSITION_MAX = 1_000_000

RECENT_INCIDENT_DAYS = 14
HISTORY_LIMIT_MAX = 1440
FEED_ENTRIES = 50

# What the public sees of an item (up, degraded and down are also the bars' levels).
PENDING = "pending"
PAUSED = "paused"
MAINTENANCE = "maintenance"

# The overall banner.
OPERATIONAL = "operational"
PARTIAL_OUTAGE = "partial_outage"
MAJOR_OUTAGE = "major_outage"

# What the public reads for an update nobody wrote: the stored text repeats the error.
AUTOMATIC_MESSAGES = {
    "started": "Our checks detected a problem. We are looking into it.",
    "resolved": "Checks are passing again. This incident is resolved.",
    "reopened": "The problem is back. We are looking into it.",
}
_UPTIME_PERIODS = ("24h", "7d", "30d", "90d")


# ---------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """The mean response time of one hour's successful checks (None: no successful check)."""

    hour: datetime
    mean_ms: int | None


@dataclass(slots=True)
class Item:
    """A public monitor or cron job as the public may see it."""

    subject_type: str
    id: int
    slug: str
    name: str
    description: str
    kind: str
    status: str
    group: str | None
    group_position: int
    position: int
    last_checked_at: datetime | None
    response_ms: int | None
    uptime_30d: float | None = None
    uptime_90d: float | None = None
    # What the 90-day bars are drawn from (see ``bars``).
    first_day: date | None = None
    rollups: uptime_bars.Rollups | None = None
    incident_days: tuple[tuple[int, tuple[str, ...]], ...] = ()
    chart: tuple[ChartPoint, ...] | None = None

    @property
    def bars(self) -> tuple[Bar, ...]:
        return uptime_bars.bars(self.first_day, self.rollups, self.incident_days)


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    created_at: datetime
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class PublicIncident:
    id: int
    title: str
    status: str
    started_at: datetime
    resolved_at: datetime | None
    updated_at: datetime
    subject: str
    updates: tuple[PublicUpdate, ...]


@dataclass(frozen=True, slots=True)
class PublicMaintenance:
    """A maintenance window as the public sees it: its period now or next, never its
    targets' ids (the page names the public items it covers)."""

    id: int
    title: str
    message: str
    starts_at: datetime
    ends_at: datetime
    active: bool
    items: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Section:
    name: str | None
    items: list[Item]


@dataclass(frozen=True, slots=True)
class Page:
    settings: dict[str, Any]
    overall: str
    counts: dict[str, int]  # items by status
    sections: list[Section]
    active_incidents: list[PublicIncident]
    resolved_incidents: list[PublicIncident]
    days: list[date]
    maintenance: Sequence[PublicMaintenance] = ()

    @property
    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]


@dataclass(frozen=True, slots=True)
class Summary:
    overall: str
    updated: datetime | None
    items: list[Item]


@dataclass(frozen=True, slots=True)
class Check:
    at: datetime
    up: bool
    response_ms: int | None


# ---------------------------------------------------------------------------------------------
# Rules


def overall(statuses: Iterable[str]) -> str:
    """The banner for a set of item statuses; pending and paused items do not count.

    major outage: more than half of the counted items are down (so one of one is major);
    partial outage: at least one is down; degraded: none down, at least one degraded;
    operational: everything counted is up, or nothing is counted.
    """
    counted = [s for s in statuses if s in (UP, DEGRADED, DOWN)]
    down = counted.count(DOWN)
    if down and down * 2 > len(counted):
        return MAJOR_OUTAGE
    if down:
        return PARTIAL_OUTAGE
    if DEGRADED in counted:
        return DEGRADED
    return OPERATIONAL


def _public_status(health: str) -> str:
    """An item's health (engine.state.health) in the public's words: a late heartbeat has not
    pinged yet, which is "degraded performance" like a monitor answering with a warning (both
    count as up in the uptime figures)."""
    return DEGRADED if health == STATE_LATE else health


def public_message(kind: str, message: str, author_id: int | None) -> str | None:
    """What the public reads of one incident update (None: not shown at all)."""
    if author_id is not None:
        return message
    return AUTOMATIC_MESSAGES.get(kind)


# ---------------------------------------------------------------------------------------------
# Settings


_position = fields.whole_number(0, POSITION_MAX)
_id = fields.whole_number(1)
# Keys an item may carry; name, slug and group are read-only (``describe`` sends them), so
# what ``describe`` returned can be sent back as it is.
_ITEM_KEYS = {"type", "id", "public", "position", "name", "slug", "group"}
_GROUP_KEYS = {"id", "position", "name"}


def _parse_items(value: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    """``[{"type": "monitor"|"cron_job", "id", "public"?, "position"?}, …]``.

    A bad value's error is keyed ``items.<type>.<id>.<field>``, so a form can show it beside
    its row; a malformed entry's error is keyed ``items``.
    """
    if not isinstance(value, list):
        errors["items"] = 'Send a list of {"type", "id", "public", "position"} objects.'
        return []
    clean = []
    for n, entry in enumerate(value, 1):
        if (
            not isinstance(entry, Mapping)
            or set(entry) - _ITEM_KEYS
            or entry.get("type") not in (SUBJECT_MONITOR, SUBJECT_CRON_JOB)
        ):
            errors["items"] = (
                f'Item {n}: send "type" ({SUBJECT_MONITOR} or {SUBJECT_CRON_JOB}), "id", '
                'and "public" or "position" or both.'
            )
            continue
        try:
            row = {"type": entry["type"], "id": _id(entry.get("id"))}
        except ValueError:
            errors["items"] = f'Item {n}: "id" must be a whole number.'
            continue
        for name, parser in (("public", fields.boolean), ("position", _position)):
            if name in entry:
                try:
                    row[name] = parser(entry[name])
                except ValueError as exc:
                    errors[f"items.{row['type']}.{row['id']}.{name}"] = str(exc)
        clean.append(row)
    return clean


def _parse_groups(value: Any, errors: dict[str, str]) -> list[dict[str, int]]:
    """``[{"id", "position"}, …]``: the order of the sections; errors keyed as for items."""
    if not isinstance(value, list):
        errors["groups"] = 'Send a list of {"id", "position"} objects.'
        return []
    clean = []
    for n, entry in enumerate(value, 1):
        if not isinstance(entry, Mapping) or set(entry) - _GROUP_KEYS or "position" not in entry:
            errors["groups"] = f'Group {n}: send "id" and "position".'
            continue
        try:
            row = {"id": _id(entry.get("id"))}
        except ValueError:
            errors["groups"] = f'Group {n}: "id" must be a whole number.'
            continue
        try:
            row["position"] = _position(entry["position"])
        except ValueError as exc:
            errors[f"groups.{row['id']}.position"] = str(exc)
        clean.append(row)
    return clean


def _title(value: Any) -> str:
    try:
        return fields.name(TITLE_MAX)(value)
    except ValueError as exc:
        raise ValueError(str(exc).replace("a name", "a title")) from None


_PARSERS: dict[str, fields.Parser] = {
    "title": _title,
    "description": fields.text(DESCRIPTION_MAX),
    "logo_url": fields.optional(fields.url),
    "footer": fields.text(FOOTER_MAX),
    "group_sections": fields.boolean,
    "show_response_times": fields.boolean,
}


def get_settings() -> dict[str, Any]:
    """The page's settings, with defaults for what was never saved."""
    stored = settings.get(SETTINGS_KEY) or {}
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


def list_items() -> list[dict[str, Any]]:
    """Every monitor and cron job with its group, public flag and position, in page order.

    For the admins choosing what the page shows; the public never sees this list.
    """
    rows: list[dict[str, Any]] = []
    for subject_type, model in ((SUBJECT_MONITOR, Monitor), (SUBJECT_CRON_JOB, CronJob)):
        query = sa.select(
            model.id,
            model.name,
            model.slug,
            model.public,
            model.position,
            Group.name,
            Group.position,
        ).outerjoin(Group, model.group_id == Group.id)
        for id_, name, slug, public, position, group, group_position in db.session.execute(query):
            rows.append(
                {
                    "type": subject_type,
                    "id": id_,
                    "name": name,
                    "slug": slug,
                    "group": group,
                    "public": public,
                    "position": position,
                    "_order": (group is None, group_position or 0, (group or "").lower()),
                }
            )
    rows.sort(key=lambda r: (*r["_order"], r["position"], r["name"].lower(), r["type"], r["id"]))
    for row in rows:
        del row["_order"]
    return rows


VISIBILITIES = ("public", "private")
KIND_UPTIME = "monitor"
KIND_HEARTBEAT_ITEM = "heartbeat"
ITEM_KINDS = (KIND_UPTIME, KIND_HEARTBEAT_ITEM, SUBJECT_CRON_JOB)
NO_GROUP = "-"


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Send text.")
    return fields.search_term(value)


_item_filters = {
    "search": fields.optional(_text),
    "visibility": fields.optional(fields.choice(VISIBILITIES)),
    "kind": fields.optional(fields.choice(ITEM_KINDS)),
    "group": fields.optional(_text),
}


def _matching_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    """``list_items`` narrowed by the filters in ``data`` (search in names and slugs,
    visibility, kind: monitor, heartbeat or cron_job, group: a group id or NO_GROUP); each
    item also tells its ``kind``. Filtered in Python: the list is one row per item with no
    history, a few thousand at most, and its order is ``list_items``'s."""
    values, errors = fields.parse(
        {k: v for k, v in data.items() if v not in (None, "")}, _item_filters
    )
    if errors:
        raise ValidationError(errors)
    heartbeats = set(
        db.session.scalars(sa.select(Monitor.id).where(Monitor.kind == KIND_HEARTBEAT))
    )
    group_names = {str(g["id"]): g["name"] for g in _list_groups()}
    group = values.get("group")
    if group is not None and group != NO_GROUP and group not in group_names:
        raise ValidationError({"group": "Choose a group by its id, or - for items without one."})
    term = (values.get("search") or "").casefold()
    found = []
    for item in list_items():
        if item["type"] == SUBJECT_CRON_JOB:
            kind = SUBJECT_CRON_JOB
        else:
            kind = KIND_HEARTBEAT_ITEM if item["id"] in heartbeats else KIND_UPTIME
        if term and term not in item["name"].casefold() and term not in (item["slug"] or ""):
            continue
        if values.get("visibility") and item["public"] != (values["visibility"] == "public"):
            continue
        if values.get("kind") and kind != values["kind"]:
            continue
        if group == NO_GROUP and item["group"] is not None:
            continue
        if group not in (None, NO_GROUP) and item["group"] != group_names[group]:
            continue
        found.append({**item, "kind": kind})
    return found


def find_items(
    search: Any = None,
    visibility: Any = None,
    kind: Any = None,
    group: Any = None,
    page: Any = 1,
    per_page: Any = 50,
) -> pagination.Page:
    """One page of the items the status page may show, filtered (see ``_matching_items``),
    for the settings page: a long list is searched and paged, not scrolled."""
    found = _matching_items(
        {"search": search, "visibility": visibility, "kind": kind, "group": group}
    )
    return pagination.page_of(found, page, per_page)


def set_visibility(
    public: Any,
    search: Any = None,
    visibility: Any = None,
    kind: Any = None,
    group: Any = None,
) -> int:
    """Make every item matching the filters public (or private) in one transaction; returns
    how many matched. The settings page's "make all shown public/private"."""
    try:
        public = fields.boolean(public)
    except ValueError as exc:
        raise ValidationError({"public": str(exc)}) from None
    found = _matching_items(
        {"search": search, "visibility": visibility, "kind": kind, "group": group}
    )
    for subject_type, model in ((SUBJECT_MONITOR, Monitor), (SUBJECT_CRON_JOB, CronJob)):
        ids = [item["id"] for item in found if item["type"] == subject_type]
        if ids:
            db.session.execute(sa.update(model).where(model.id.in_(ids)).values(public=public))
    db.session.commit()
    page_cache.clear(CACHE_PREFIX)
    return len(found)


def _list_groups() -> list[dict[str, Any]]:
    query = sa.select(Group.id, Group.name, Group.position).order_by(Group.position, Group.name)
    return [{"id": i, "name": n, "position": p} for i, n, p in db.session.execute(query)]


def describe() -> dict[str, Any]:
    """Settings, every item's public flag and position, and the group order, as one object.

    The shape ``update_settings`` accepts (and ``GET /api/settings/status-page`` answers).
    """
    return {**get_settings(), "items": list_items(), "groups": _list_groups()}


def update_settings(data: Any) -> dict[str, Any]:
    """Change any of the settings, items' public flags and positions and the group order in
    one transaction; returns ``describe()``. Nothing is saved when anything is invalid."""
    if not isinstance(data, Mapping):
        raise ValidationError({}, "Send the settings as an object of names and values.")
    data = dict(data)
    errors: dict[str, str] = {}
    items = _parse_items(data.pop("items"), errors) if "items" in data else []
    groups = _parse_groups(data.pop("groups"), errors) if "groups" in data else []
    values, field_errors = fields.parse(data, _PARSERS)
    errors.update(field_errors)
    if not errors:
        errors.update(_missing(items, groups))
    if errors:
        raise ValidationError(errors)
    for row in items:
        model = Monitor if row["type"] == SUBJECT_MONITOR else CronJob
        changes = {key: row[key] for key in ("public", "position") if key in row}
        if changes:
            db.session.execute(sa.update(model).where(model.id == row["id"]).values(**changes))
    for row in groups:
        db.session.execute(
            sa.update(Group).where(Group.id == row["id"]).values(position=row["position"])
        )
    # put_many commits the item and group changes together with the settings.
    settings.put_many({SETTINGS_KEY: {**get_settings(), **values}})
    # Show the change at once rather than after the cache's 10 seconds.
    page_cache.clear(CACHE_PREFIX)
    return describe()


def _missing(items: list[dict], groups: list[dict]) -> dict[str, str]:
    """Errors for ids that do not exist, checked with one query per table."""
    errors = {}
    for subject_type, model, label in (
        (SUBJECT_MONITOR, Monitor, "monitor"),
        (SUBJECT_CRON_JOB, CronJob, "cron job"),
    ):
        wanted = {row["id"] for row in items if row["type"] == subject_type}
        if wanted:
            found = set(
                db.session.execute(sa.select(model.id).where(model.id.in_(wanted))).scalars()
            )
            if wanted - found:
                errors["items"] = f"There is no {label} with id {min(wanted - found)}."
    wanted = {row["id"] for row in groups}
    if wanted:
        found = set(db.session.execute(sa.select(Group.id).where(Group.id.in_(wanted))).scalars())
        if wanted - found:
            errors["groups"] = f"There is no group with id {min(wanted - found)}."
    return errors


# ---------------------------------------------------------------------------------------------
# Reading the public items


def _public_monitor_ids() -> sa.Select:
    return sa.select(Monitor.id).where(Monitor.public.is_(True))


def _public_cron_job_ids() -> sa.Select:
    return sa.select(CronJob.id).where(CronJob.public.is_(True))


def _public_items(condition_monitor=None, condition_job=None) -> list[Item]:
    """Public monitors and cron jobs (optionally narrowed), unsorted, without figures."""
    monitors = (
        sa.select(
            Monitor.id,
            Monitor.slug,
            Monitor.name,
            Monitor.description,
            Monitor.kind,
            state.health_column(Monitor).label("health"),
            Monitor.position,
            Monitor.last_checked_at,
            Monitor.last_ping_at,
            Monitor.last_response_ms,
            Group.name.label("group"),
            Group.position.label("group_position"),
        )
        .outerjoin(Group, Monitor.group_id == Group.id)
        .where(Monitor.public.is_(True))
    )
    if condition_monitor is not None:
        monitors = monitors.where(condition_monitor)
    items = [
        Item(
            subject_type=SUBJECT_MONITOR,
            id=r.id,
            slug=r.slug,
            name=r.name,
            description=r.description or "",
            kind=r.kind,
            status=_public_status(r.health),
            position=r.position,
            last_checked_at=r.last_checked_at or r.last_ping_at,
            response_ms=r.last_response_ms,
            group=r.group,
            group_position=r.group_position or 0,
        )
        for r in db.session.execute(monitors)
    ]
    jobs = (
        sa.select(
            CronJob.id,
            CronJob.slug,
            CronJob.name,
            CronJob.description,
            state.health_column(CronJob).label("health"),
            CronJob.position,
            CronJob.last_run_at,
            CronJob.last_duration_ms,
            Group.name.label("group"),
            Group.position.label("group_position"),
        )
        .outerjoin(Group, CronJob.group_id == Group.id)
        .where(CronJob.public.is_(True))
    )
    if condition_job is not None:
        jobs = jobs.where(condition_job)
    items += [
        Item(
            subject_type=SUBJECT_CRON_JOB,
            id=r.id,
            slug=r.slug,
            name=r.name,
            description=r.description or "",
            kind="cron",
            status=_public_status(r.health),
            position=r.position,
            last_checked_at=r.last_run_at,
            response_ms=r.last_duration_ms,
            group=r.group,
            group_position=r.group_position or 0,
        )
        for r in db.session.execute(jobs)
    ]
    under = maintenance.covered()
    if under:
        for item in items:
            held = under.monitors if item.subject_type == SUBJECT_MONITOR else under.cron_jobs
            if item.id in held and item.status != PAUSED:
                item.status = MAINTENANCE
    return items


def public_maintenance(now: datetime | None = None) -> list[PublicMaintenance]:
    """Windows covering a public item, active now or starting within the next 7 days."""
    now = now or utcnow()
    shown = []
    for window, start, end in maintenance.announced(now):
        groups = {g.id for g in window.groups}
        names = [m.name for m in window.monitors if m.public] + [
            j.name for j in window.cron_jobs if j.public
        ]
        if groups:
            for model in (Monitor, CronJob):
                names += db.session.execute(
                    sa.select(model.name).where(model.group_id.in_(groups), model.public.is_(True))
                ).scalars()
        shown.append(
            PublicMaintenance(
                window.id,
                window.title,
                window.message,
                start,
                end,
                start <= now,
                tuple(sorted(set(names), key=str.lower)),
                window.updated_at,
            )
        )
    return shown


def _sorted(items: list[Item], by_group: bool) -> list[Item]:
    def key(item: Item):
        within = (item.position, item.name.lower(), item.subject_type, item.id)
        if not by_group:
            return within
        # Grouped items first, by group position and name; ungrouped ones last.
        return (item.group is None, item.group_position, (item.group or "").lower(), *within)

    return sorted(items, key=key)


def _sections(items: list[Item], by_group: bool) -> list[Section]:
    if not by_group:
        return [Section(None, items)] if items else []
    sections: list[Section] = []
    for item in items:
        if not sections or sections[-1].name != item.group:
            sections.append(Section(item.group, []))
        sections[-1].items.append(item)
    return sections


def _incidents(since: datetime, now: datetime) -> list[Incident]:
    """Public items' incidents open at some moment since ``since``, newest first.

    ``cause`` is never loaded: only the columns the public may see.
    """
    query = (
        sa.select(Incident)
        .where(
            sa.or_(
                Incident.monitor_id.in_(_public_monitor_ids()),
                Incident.cron_job_id.in_(_public_cron_job_ids()),
            ),
            sa.or_(Incident.status == STATUS_OPEN, Incident.resolved_at >= since),
            Incident.started_at <= now,
        )
        .options(
            so.load_only(
                Incident.id,
                Incident.monitor_id,
                Incident.cron_job_id,
                Incident.title,
                Incident.status,
                Incident.started_at,
                Incident.resolved_at,
                Incident.updated_at,
            ),
            so.selectinload(Incident.updates).load_only(
                IncidentUpdate.kind,
                IncidentUpdate.message,
                IncidentUpdate.author_id,
                IncidentUpdate.created_at,
            ),
        )
        .order_by(Incident.started_at.desc(), Incident.id.desc())
    )
    return list(db.session.execute(query).scalars())


def _subject_key(incident: Incident) -> tuple[str, int]:
    if incident.monitor_id is not None:
        return SUBJECT_MONITOR, incident.monitor_id
    assert incident.cron_job_id is not None  # an incident is about a monitor or a cron job
    return SUBJECT_CRON_JOB, incident.cron_job_id


def _public_incident(incident: Incident, names: dict[tuple[str, int], str]) -> PublicIncident:
    updates = []
    changed = incident.updated_at
    for update in incident.updates:
        changed = max(changed, update.created_at)
        message = public_message(update.kind, update.message, update.author_id)
        if message is not None:
            updates.append(PublicUpdate(update.created_at, update.kind, message))
    return PublicIncident(
        id=incident.id,
        title=incident.title,
        status=incident.status,
        started_at=incident.started_at,
        resolved_at=incident.resolved_at,
        updated_at=changed,
        subject=names.get(_subject_key(incident), ""),
        updates=tuple(reversed(updates)),  # newest first, as status pages read
    )


def _response_charts(monitor_ids: list[int], now: datetime) -> dict[int, tuple[ChartPoint, ...]]:
    """Hourly mean response times of successful checks over the last 24 hours."""
    if not monitor_ids:
        return {}
    first_hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=23
    )
    start = int(first_hour.timestamp())
    epoch = sa.cast(sa.func.extract("epoch", CheckResult.started_at), sa.BigInteger)
    bucket = ((epoch - start) // 3600).label("bucket")
    query = (
        sa.select(CheckResult.monitor_id, bucket, sa.func.avg(CheckResult.total_us))
        .where(
            CheckResult.monitor_id.in_(_public_monitor_ids().where(Monitor.kind != KIND_HEARTBEAT)),
            CheckResult.started_at >= first_hour,
            CheckResult.started_at <= now,
            CheckResult.outcome == OK,
        )
        .group_by(CheckResult.monitor_id, bucket)
    )
    means: dict[int, dict[int, float]] = defaultdict(dict)
    for monitor_id, index, mean_us in db.session.execute(query):
        if mean_us is not None and 0 <= index < 24:
            means[monitor_id][int(index)] = float(mean_us)
    hours = [first_hour + timedelta(hours=n) for n in range(24)]
    return {
        monitor_id: tuple(
            ChartPoint(hour, round(means[monitor_id][n] / 1000) if n in means[monitor_id] else None)
            for n, hour in enumerate(hours)
        )
        for monitor_id in monitor_ids
        if monitor_id in means
    }


def page(now: datetime | None = None) -> Page:
    """Everything the public status page shows, read in a handful of queries.

    Bars come from the daily rollups (never raw rows); the 24-hour response chart, when the
    page shows it, is the one part read from raw check results.
    """
    now = now or utcnow()
    config = get_settings()
    by_group = config["group_sections"]
    items = _sorted(_public_items(), by_group)
    days = uptime_bars.window(now)
    index_of = {day: n for n, day in enumerate(days)}
    all_rollups = uptime_bars.read([(i.subject_type, i.id) for i in items], days)

    window_start = datetime.combine(days[0], datetime.min.time(), UTC)
    incidents = _incidents(window_start, now)
    titles: dict[tuple[str, int], dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for incident in incidents:
        first = max(incident.started_at.date(), days[0])
        last = min((incident.resolved_at or now).date(), days[-1])
        for n in range(index_of[first], index_of[last] + 1):
            titles[_subject_key(incident)][n].append(incident.title)

    for item in items:
        key = (item.subject_type, item.id)
        item.first_day = days[0]
        item.rollups = all_rollups.get(key)
        item.incident_days = tuple((n, tuple(t)) for n, t in sorted(titles.get(key, {}).items()))
        if item.rollups is not None:
            item.uptime_30d, item.uptime_90d = item.rollups.uptime_30d, item.rollups.uptime_90d

    if config["show_response_times"]:
        charts = _response_charts(
            [i.id for i in items if i.subject_type == SUBJECT_MONITOR and i.kind != KIND_HEARTBEAT],
            now,
        )
        for item in items:
            if item.subject_type == SUBJECT_MONITOR:
                item.chart = charts.get(item.id)

    names = {(item.subject_type, item.id): item.name for item in items}
    recent = now - timedelta(days=RECENT_INCIDENT_DAYS)
    active = [_public_incident(i, names) for i in incidents if i.status == STATUS_OPEN]
    resolved = [
        _public_incident(i, names)
        for i in incidents
        if i.status != STATUS_OPEN and i.resolved_at is not None and i.resolved_at >= recent
    ]
    return Page(
        settings=config,
        overall=overall(item.status for item in items),
        counts=Counter(item.status for item in items),
        sections=_sections(items, by_group),
        active_incidents=active,
        # Every one of them is resolved: resolved_at is set.
        resolved_incidents=sorted(resolved, key=lambda i: i.resolved_at or now, reverse=True),
        days=days,
        maintenance=public_maintenance(now),
    )


def summary(now: datetime | None = None) -> Summary:
    """The public items with status and 30-day uptime, for the status JSON.

    ``updated`` is the most recent check of any public item (None before the first one), so
    the document changes only when the data does.
    """
    now = now or utcnow()
    items = _sorted(_public_items(), get_settings()["group_sections"])
    all_rollups = uptime_bars.read([(i.subject_type, i.id) for i in items], uptime_bars.window(now))
    for item in items:
        rollups = all_rollups.get((item.subject_type, item.id))
        item.uptime_30d = rollups.uptime_30d if rollups else None
    checked = [item.last_checked_at for item in items if item.last_checked_at]
    return Summary(
        overall=overall(item.status for item in items),
        updated=max(checked) if checked else None,
        items=items,
    )


def find(slug: str) -> Item:
    """The public item with this slug (a monitor before a cron job), or NotFound.

    A private item is not found either: public routes must not even confirm it exists.
    """
    slug = slug if isinstance(slug, str) else ""
    items = _public_items(Monitor.slug == slug, CronJob.slug == slug)
    if not items:
        raise NotFound("Not found.")
    return items[0]


def find_by_name(name: Any) -> Item:
    """The public item with this name, the first in page order when two share it."""
    if not isinstance(name, str) or not name.strip():
        raise NotFound("Service not found.")
    items = _public_items(Monitor.name == name, CronJob.name == name)
    if not items:
        raise NotFound("Service not found.")
    return _sorted(items, get_settings()["group_sections"])[0]


def recent_checks(item: Item, limit: Any = 60) -> list[Check]:
    """An item's latest results, newest first: checks of an uptime monitor, pings of a
    heartbeat (success and failure signals), executions of a cron job."""
    try:
        limit = fields.whole_number(1, HISTORY_LIMIT_MAX)(limit)
    except ValueError as exc:
        raise ValidationError({"limit": str(exc)}) from None
    if item.kind == KIND_HEARTBEAT:
        query = (
            sa.select(Ping.created_at, Ping.kind, Ping.duration_ms)
            .where(Ping.monitor_id == item.id, Ping.kind.in_((PING_SUCCESS, PING_FAIL)))
            .order_by(Ping.created_at.desc(), Ping.id.desc())
        )
        return [
            Check(at, kind == PING_SUCCESS, ms)
            for at, kind, ms in db.session.execute(query.limit(limit))
        ]
    model: type[CronExecution] | type[CheckResult]
    if item.subject_type == SUBJECT_CRON_JOB:
        model, subject = CronExecution, CronExecution.cron_job_id
    else:
        model, subject = CheckResult, CheckResult.monitor_id
    query = (
        sa.select(model.started_at, model.outcome, model.total_us)
        .where(subject == item.id)
        .order_by(model.started_at.desc(), model.id.desc())
        .limit(limit)
    )
    return [
        Check(at, outcome == OK, None if us is None else round(us / 1000))
        for at, outcome, us in db.session.execute(query)
    ]


def uptime(item: Item, period: Any, now: datetime | None = None) -> float | None:
    """An item's uptime over 24h, 7d, 30d or 90d (None: no checks in the period)."""
    if period not in _UPTIME_PERIODS:
        raise ValidationError({"period": f"Choose one of {', '.join(_UPTIME_PERIODS)}."})
    return history.uptime(item.subject_type, item.id, now or utcnow())[period]


def feed(now: datetime | None = None) -> list[PublicIncident]:
    """Public items' incidents of the last 90 days, most recently changed first, at most 50."""
    now = now or utcnow()
    incidents = _incidents(now - timedelta(days=uptime_bars.DAYS), now)
    keys = {_subject_key(i) for i in incidents}
    names = {}
    for subject_type, model in ((SUBJECT_MONITOR, Monitor), (SUBJECT_CRON_JOB, CronJob)):
        ids = [i for t, i in keys if t == subject_type]
        if ids:
            query = sa.select(model.id, model.name).where(model.id.in_(ids))
            names.update({(subject_type, i): n for i, n in db.session.execute(query)})
    public = [_public_incident(i, names) for i in incidents]
    public.sort(key=lambda i: i.updated_at, reverse=True)
    return public[:FEED_ENTRIES]


# --- Building blocks of an import (services/config/), which writes everything in one
# transaction: they change the session and leave the commit to the caller.


def validated_settings(data: Any) -> dict[str, Any]:
    """The page's settings (title, description, logo_url, footer, group_sections,
    show_response_times) judged as ``update_settings`` judges them."""
    values, errors = fields.parse(data, _PARSERS)
    if errors:
        raise ValidationError(errors)
    return values


def stage_settings(values: dict[str, Any]) -> None:
    """Store validated settings in the caller's transaction; clear the page cache after the
    commit."""
    settings.stage({SETTINGS_KEY: {**get_settings(), **values}})
