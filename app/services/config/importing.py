"""Importing a configuration document: the plan of what it changes, applied in one
transaction (see the package's docstring)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.engine import scheduler
from app.extensions import db
from app.models import CronJob, Group, MaintenanceWindow, Monitor, NotificationChannel
from app.models.channel import KIND_WEBHOOK, KINDS
from app.models.monitor import KIND_HEARTBEAT, KIND_HTTP
from app.services import (
    channels,
    cron_jobs,
    fields,
    groups,
    importers,
    maintenance,
    monitors,
    page_cache,
    status_page,
    tags,
)
from app.services.config.document import (
    CHANNEL_FIELDS,
    CRON_JOB_FIELDS,
    FORMAT_VERSION,
    HEARTBEAT_FIELDS,
    KEYS,
    LINKS,
    MONITOR_FIELDS,
    SECRET_FIELDS,
    SECTIONS,
    SIZE_MAX,
    SOURCES,
    UPTIME_FIELDS,
    WINDOW_FIELDS,
    WINDOW_TARGETS,
    channel_item,
    cron_job_item,
    heartbeat_item,
    iso,
    load,
    monitor_item,
    window_item,
)
from app.services.errors import Conflict, ValidationError
from app.services.importers import Conversion

INVALID = "The document has errors; nothing was imported."
_CONFLICT = "Another change was saved at the same moment; try again."
# Every field an item may have; anything else is refused as unknown.
_ALLOWED = {
    "groups": {"name"},
    "tags": {"name", "colour"},
    "channels": {"name", "type", "enabled", "is_default", "addresses", "url", "headers", "secret"},
    "monitors": {
        "slug",
        "type",
        "name",
        "description",
        *(name for names in MONITOR_FIELDS.values() for name in names),
        *UPTIME_FIELDS,
        "reminder_hours",
        "public",
        "position",
        *LINKS,
        "paused",
    },
    "heartbeats": {
        "slug",
        "name",
        "description",
        "code",
        "push_token",
        *HEARTBEAT_FIELDS,
        "reminder_hours",
        "public",
        "position",
        *LINKS,
        "paused",
    },
    "cron_jobs": {
        "slug",
        "name",
        "description",
        *CRON_JOB_FIELDS,
        "public",
        "position",
        *LINKS,
        "enabled",
    },
    "maintenance": {"title", *WINDOW_FIELDS, *WINDOW_TARGETS},
    "status_page": set(status_page.DEFAULTS),
}
# Defaults that differ from the columns' (set by the services when an item is created).
_DEFAULTS = {
    "assertions": [],
    "expected_values": [],
    "record_type": "A",
    "packets": 3,
    "max_loss_pct": 0,
    "tags": [],
    "group": None,
}
_position = fields.whole_number(0, status_page.POSITION_MAX)
# The maintenance service's names for a window's targets, and the document's.
_WINDOW_RENAMES = {"monitor_ids": "monitors", "cron_job_ids": "cron_jobs", "group_ids": "groups"}

# --- Import --------------------------------------------------------------------------------


def import_file(
    raw: bytes,
    source: str = "upcron",
    fmt: str | None = None,
    prune: bool = False,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Read a file (an Upcron document, or another tool's export with ``source``), plan
    it, and apply it unless ``dry_run``: ``{"applied", "plan", "skipped", "warnings"}``,
    where ``skipped`` lists what a conversion could not carry over and ``warnings`` what it
    carried over differently. ValidationError lists every error by item and field; nothing
    is written then."""
    conversion = read_file(raw, source, fmt)
    document = conversion.document
    result = plan(document, prune) if dry_run else apply(document, prune)
    return {
        "applied": not dry_run,
        "plan": result,
        "skipped": conversion.skipped,
        "warnings": conversion.warnings,
    }


def read_file(raw: bytes, source: str = "upcron", fmt: str | None = None) -> Conversion:
    """The document in a file, with what converting it left out or changed (``importers``):
    for a caller that shows the plan first and applies the same document after
    confirmation."""
    if source == "upcron":
        return Conversion(load(raw, fmt))
    if source not in importers.SOURCES:
        raise ValidationError({"source": f"Choose one of {', '.join(SOURCES)}."})
    if len(raw) > SIZE_MAX:
        raise ValidationError({}, f"The file is larger than {SIZE_MAX // 2**20} MB.")
    try:
        conversion = importers.convert(source, raw)
    except ValueError as exc:
        raise ValidationError({}, f"The file cannot be read as {source}: {exc}") from None
    return conversion


def plan(document: Any, prune: bool = False) -> dict[str, list[dict[str, Any]]]:
    """What importing ``document`` would change, nothing written: ``{"create", "update",
    "delete", "unchanged"}``, each a list of ``{"section", "name"}`` (an update also names
    its changed ``fields``). ``prune`` plans deleting, of each section the document has, the
    items it does not name."""
    return _run(document, prune, write=False)


def apply(document: Any, prune: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Import ``document`` in one transaction and return its plan (see ``plan``)."""
    return _run(document, prune, write=True)


def _run(document: Any, prune: bool, write: bool) -> dict[str, list[dict[str, Any]]]:
    """Write every item into the session, then commit, or roll back for a plan only (and
    whenever anything is invalid)."""
    run = _Import(document, prune)
    committed = False
    try:
        run.all()
        if write:
            db.session.commit()
            committed = True
    except sa.exc.IntegrityError:
        raise Conflict(_CONFLICT) from None
    finally:
        if not committed:
            db.session.rollback()
    if write:
        run.after_commit()
    return run.plan


def _label(section: str, item: Any, index: int) -> str:
    key = item.get(KEYS[section]) if isinstance(item, Mapping) else None
    return f"{section}[{key}]" if isinstance(key, str) and key.strip() else f"{section}[{index}]"


def _check_shape(document: Any) -> None:
    """The document's outline: a version, known sections of the right types, items with
    their key and no unknown fields, no key twice in a section. Raises with every error."""
    if not isinstance(document, Mapping):
        raise ValidationError({}, "The document must be an object of sections.")
    errors: dict[str, str] = {}
    version = document.get("upcron")
    if "upcron" not in document:
        errors["upcron"] = f'Give the format version: "upcron": {FORMAT_VERSION}.'
    elif isinstance(version, bool) or version != FORMAT_VERSION:
        errors["upcron"] = f"This server reads format version {FORMAT_VERSION}."
    for name in document:
        if name != "upcron" and name not in SECTIONS:
            errors[name] = f"Unknown section; the sections are {', '.join(SECTIONS)}."
    if "status_page" in document:
        if not isinstance(document["status_page"], Mapping):
            errors["status_page"] = "Must be an object of settings."
        else:
            for name in set(document["status_page"]) - _ALLOWED["status_page"]:
                errors[f"status_page.{name}"] = "Unknown field."
    seen: dict[str, str] = {}  # slugs share one table between monitors and heartbeats
    for section, key in KEYS.items():
        if section not in document:
            continue
        items = document[section]
        if not isinstance(items, list):
            errors[section] = "Must be a list of items."
            continue
        names: set[str] = set()
        for index, item in enumerate(items):
            label = _label(section, item, index)
            if not isinstance(item, Mapping):
                errors[label] = "Must be an object of fields."
                continue
            for name in set(item) - _ALLOWED[section]:
                errors[f"{label}.{name}"] = "Unknown field."
            value = item.get(key)
            if not isinstance(value, str) or not value.strip():
                errors[f"{label}.{key}"] = f"Give the item's {key}."
                continue
            folded = value.lower() if key == "name" and section != "channels" else value
            if folded in names:
                errors[f"{label}.{key}"] = f"Another item of {section} has this {key}."
            names.add(folded)
            if key == "slug":
                if value in seen and seen[value] != section:
                    errors[f"{label}.slug"] = f"An item of {seen[value]} has this slug."
                seen[value] = section
    if errors:
        raise ValidationError(errors, INVALID)


def _same(new: Any, old: Any) -> bool:
    if isinstance(new, datetime) and new.tzinfo is not None:
        new = iso(new)
    return new == old


def _drop_unchanged(data: dict[str, Any], before: dict[str, Any] | None) -> None:
    """Leave out what equals the stored value: the services then judge only changes (an
    ended window's end is not "in the past" again) and run no side effect for them."""
    if before is None:
        return
    for name in [n for n in data if n in before and _same(data[n], before[n])]:
        del data[name]


def _keep_secret_headers(data: dict[str, Any], stored: Mapping[str, str] | None) -> None:
    """Stored secret headers the document does not name stay (it was exported without
    them); a header given as null is removed."""
    if not isinstance(data.get("headers"), Mapping):
        return
    named = {k.lower() for k in data["headers"] if isinstance(k, str)}
    kept = {
        k: v
        for k, v in (stored or {}).items()
        if fields.is_secret_header(k) and k.lower() not in named
    }
    data["headers"] = {**data["headers"], **kept}


def _column_default(model, name: str) -> Any:
    if name in _DEFAULTS:
        return _DEFAULTS[name]
    default = model.__table__.c[name].default
    if default is None:
        return None
    # A callable default (headers' dict) takes the execution context, which it ignores.
    return default.arg(None) if default.is_callable else default.arg


class _Import:
    """One import: every section written into the session, the plan and errors collected."""

    def __init__(self, document: Any, prune: bool):
        _check_shape(document)
        self.document = document
        self.prune = prune
        self.errors: dict[str, str] = {}
        self.plan: dict[str, list[dict[str, Any]]] = {
            "create": [],
            "update": [],
            "delete": [],
            "unchanged": [],
        }
        # What the scheduler must see once committed: (kind, id), or a new row until flushed.
        self.refresh: list[tuple[str, int | Monitor | CronJob]] = []
        self.changed = False

    def all(self) -> None:
        with db.session.no_autoflush:
            self._groups()
            self._tags()
        self._channels()
        db.session.flush()
        self._items("monitors")
        self._items("heartbeats")
        self._items("cron_jobs")
        db.session.flush()
        self._windows()
        self._status_page()
        if self.prune:
            self._prune()
        if self.errors:
            raise ValidationError(self.errors, INVALID)
        db.session.flush()
        # New items have their ids now; deleted ones were noted by id.
        self.refresh = [(k, r if isinstance(r, int) else r.id) for k, r in self.refresh]

    def after_commit(self) -> None:
        for kind, item in self.refresh:
            scheduler.refresh(kind, item if isinstance(item, int) else item.id)
        if self.changed:
            page_cache.clear(status_page.CACHE_PREFIX)

    # -- bookkeeping

    def _note(self, section: str, name: str, before: Any, after: Any) -> bool:
        """Add the item to the plan; True when it changes."""
        entry = {"section": section, "name": name}
        if before is None:
            self.plan["create"].append(entry)
        else:
            changed = [k for k in after if before.get(k) != after.get(k)]
            if not changed:
                self.plan["unchanged"].append(entry)
                return False
            self.plan["update"].append(entry | {"fields": changed})
        self.changed = True
        return True

    def _fail(self, label: str, errors: Mapping[str, str], renames: Mapping[str, str] = {}):
        for field, message in errors.items():
            head, sep, rest = field.partition("[")
            head = renames.get(head, head)
            self.errors[f"{label}.{head}{sep}{rest}" if field else label] = message

    def _items_of(self, section: str) -> list[tuple[str, dict[str, Any]]]:
        return (
            [(_label(section, item, n), item) for n, item in enumerate(self.document[section])]
            if section in self.document
            else []
        )

    # -- sections

    def _groups(self) -> None:
        if "groups" not in self.document:
            return
        current = groups.list_groups()
        by_name = {group.name.lower(): group for group in current}
        wanted, created = [], False
        for label, item in self._items_of("groups"):
            try:
                name = groups.parse_name(item["name"])
            except ValueError as exc:
                self._fail(label, {"name": str(exc)})
                continue
            row = by_name.get(name.lower())
            if row is None:
                row = groups.resolve(name)
                created = True
            wanted.append((label, name, row))
        existing = [row for _, _, row in wanted if row.id is not None]
        order_before = sorted(existing, key=lambda g: current.index(g))
        reordered = False
        for label, name, row in wanted:
            if row.id is None:
                self._note("groups", name, None, {"name": name})
                continue
            before = {"name": row.name, "position": order_before.index(row)}
            after = {"name": name, "position": existing.index(row)}
            reordered |= before["position"] != after["position"]
            row.name = name
            self._note("groups", name, before, after)
        if created or reordered:
            rows = [row for _, _, row in wanted]
            rest = [g for g in current if g not in rows]
            for position, row in enumerate(rows + rest):
                row.position = position

    def _tags(self) -> None:
        if "tags" not in self.document:
            return
        by_name = {tag.name.lower(): tag for tag in tags.all_tags()}
        for label, item in self._items_of("tags"):
            values, errors = fields.parse(
                item, {"name": tags.parse_name, "colour": tags.parse_colour}
            )
            if errors:
                self._fail(label, errors)
                continue
            row = by_name.get(values["name"].lower())
            before = {"name": row.name, "colour": row.colour} if row else None
            if row is None:
                (row,) = tags.resolve([values["name"]])
            row.name = values["name"]
            row.colour = values.get("colour", row.colour)
            self._note("tags", row.name, before, {"name": row.name, "colour": row.colour})

    def _channels(self) -> None:
        if "channels" not in self.document:
            return
        by_name: dict[str, NotificationChannel] = {}
        for channel in sorted(channels.list_channels(), key=lambda c: c.id):
            by_name.setdefault(channel.name, channel)
        for label, item in self._items_of("channels"):
            row = by_name.get(item["name"])
            try:
                kind = fields.choice(KINDS)(item.get("type"))
            except ValueError as exc:
                self._fail(label, {"type": str(exc)})
                continue
            if row is not None and row.kind != kind:
                self._fail(label, {"type": "A channel's type cannot change; rename one of them."})
                continue
            foreign = set(item) & (_ALLOWED["channels"] - {"name", "type", "enabled", "is_default"})
            foreign -= set(CHANNEL_FIELDS[kind])
            if foreign:
                self._fail(label, {name: f"Not used by {kind} channels." for name in foreign})
                continue
            data = {k: v for k, v in item.items() if k != "type"}
            data.setdefault("enabled", True)
            data.setdefault("is_default", False)
            if kind == KIND_WEBHOOK:
                data.setdefault("headers", {})
                _keep_secret_headers(data, (row.config or {}).get("headers") if row else None)
            before = channel_item(row, True) if row else None
            _drop_unchanged(data, before)
            try:
                values = channels.validated(data, kind, row)
            except ValidationError as exc:
                self._fail(label, exc.fields, {"kind": "type"})
                continue
            if row is None:
                row = channels.add(values, kind)
            else:
                channels.assign(row, values)
            self._note("channels", row.name, before, channel_item(row, True))

    def _channel_ids(self, label: str, value: Any) -> list[int] | None:
        """An item's channels by name, as ids; absent, the channels marked default."""
        if value is None:
            return [c.id for c in channels.defaults()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self._fail(label, {"channels": 'Give a list of channel names, such as ["Ops mail"].'})
            return None
        rows = db.session.execute(
            sa.select(NotificationChannel).order_by(NotificationChannel.id)
        ).scalars()
        by_name: dict[str, int] = {}
        for row in rows:
            by_name.setdefault(row.name, row.id)
        missing = [
            name for name in value if name not in by_name and not self._failed("channels", name)
        ]
        if missing:
            self._fail(label, {"channels": f"No notification channel named {', '.join(missing)}."})
            return None
        return [by_name[name] for name in value if name in by_name]

    def _failed(self, section: str, key: str) -> bool:
        """Whether the document's item of ``section`` called ``key`` has errors (an item
        naming it need not say so again)."""
        return any(label.startswith(f"{section}[{key}]") for label in self.errors)

    def _items(self, section: str) -> None:
        """Monitors, heartbeats or cron jobs."""
        if section not in self.document:
            return
        # Monitor or CronJob, and so each row: the section's own service validates, adds and
        # assigns it.
        model: Any = CronJob if section == "cron_jobs" else Monitor
        existing = {row.slug: row for row in db.session.execute(sa.select(model)).scalars()}
        codes = dict(db.session.execute(sa.select(Monitor.code, Monitor.slug)).all())
        tokens = dict(db.session.execute(sa.select(Monitor.push_token, Monitor.slug)).all())
        for label, item in self._items_of(section):
            errors: dict[str, str] = {}
            try:
                slug = fields.slug(item["slug"])
            except ValueError as exc:
                self._fail(label, {"slug": str(exc)})
                continue
            row = existing.get(slug)
            if isinstance(row, Monitor):
                if (row.kind == KIND_HEARTBEAT) != (section == "heartbeats"):
                    other = "a heartbeat" if row.kind == KIND_HEARTBEAT else "an uptime monitor"
                    self._fail(label, {"slug": f"Taken by {other}; choose another slug."})
                    continue
            data = {k: v for k, v in item.items() if k not in ("slug", "code", "position", "type")}
            export = _EXPORTS[section]
            if section == "monitors":
                data["kind"] = item.get("type", KIND_HTTP)
                if data["kind"] not in monitors.UPTIME_KINDS:
                    errors["type"] = (
                        f"Choose one of {', '.join(monitors.UPTIME_KINDS)} "
                        "(heartbeats have a section of their own)."
                    )
                names = (*MONITOR_FIELDS.get(data["kind"], ()), *UPTIME_FIELDS)
            elif section == "heartbeats":
                data["kind"] = KIND_HEARTBEAT
                names = HEARTBEAT_FIELDS
            else:
                names = CRON_JOB_FIELDS
            defaults = {"description": "", "reminder_hours": None, "public": False}
            for name in (*names, *defaults, "group", "tags", "paused", "enabled"):
                if name in data or name in SECRET_FIELDS or name not in _ALLOWED[section]:
                    continue
                if name == "timezone" and section == "cron_jobs":
                    data[name] = cron_jobs.default_timezone()
                elif name in defaults:
                    data[name] = defaults[name]
                else:
                    data[name] = _column_default(model, name)
            if "headers" in names:
                _keep_secret_headers(data, row.headers if row else None)
            position = None
            if "position" in item:
                try:
                    position = _position(item["position"])
                except ValueError as exc:
                    errors["position"] = str(exc)
            code = item.get("code")
            if section == "heartbeats" and code is not None:
                try:
                    code = _code(code)
                except ValueError as exc:
                    errors["code"] = str(exc)
                else:
                    if codes.get(code, slug) != slug:
                        errors["code"] = "Another heartbeat has this ping code."
                    codes[code] = slug
            token = item.get("push_token")
            if section == "heartbeats" and isinstance(token, str):
                if tokens.get(token, slug) != slug:
                    errors["push_token"] = "Another heartbeat has this push token."
                tokens[token] = slug
            channel_ids = self._channel_ids(label, item.get("channels"))
            before = export(row, True) if row else None
            _drop_unchanged(data, before)
            data["channels"] = channel_ids or []
            try:
                values = (cron_jobs if model is CronJob else monitors).validated(data, row)
            except ValidationError as exc:
                errors = {**exc.fields, **errors}
            if errors or channel_ids is None:
                self._fail(label, errors, {"kind": "type"})
                continue
            service = cron_jobs if model is CronJob else monitors
            if row is None:
                row = (
                    cron_jobs.add(values, slug)
                    if model is CronJob
                    else monitors.add(values, slug, code)
                )
                existing[slug] = row
            else:
                service.assign(row, values)
                if code is not None:
                    row.code = code
            if position is not None:
                row.position = position
            if self._note(section, slug, before, export(row, True)):
                self.refresh.append((_refresh_kind(row), row))

    def _windows(self) -> None:
        if "maintenance" not in self.document:
            return
        existing: dict[str, MaintenanceWindow] = {}
        for window in db.session.execute(
            sa.select(MaintenanceWindow).order_by(MaintenanceWindow.id)
        ).scalars():
            existing.setdefault(window.title, window)
        items = {row.slug: row for row in db.session.execute(sa.select(Monitor)).scalars()}
        jobs = {row.slug: row for row in db.session.execute(sa.select(CronJob)).scalars()}
        by_group = {g.name.lower(): g for g in groups.list_groups()}
        targets: dict[str, tuple[Callable[[str], Monitor | CronJob | Group | None], str]] = {
            "monitors": (lambda s: _kind_is(items.get(s), False), "monitor with slug"),
            "heartbeats": (lambda s: _kind_is(items.get(s), True), "heartbeat with slug"),
            "cron_jobs": (jobs.get, "cron job with slug"),
            "groups": (lambda n: by_group.get(n.lower()), "group named"),
        }
        for label, item in self._items_of("maintenance"):
            row = existing.get(item["title"])
            data = {"title": item["title"]}
            for name in WINDOW_FIELDS:
                default = "" if name == "message" else "UTC" if name == "timezone" else None
                data[name] = item.get(name, default)
            data["tags"] = item.get("tags", [])
            errors: dict[str, str] = {}
            ids: dict[str, list[int]] = {}
            for name, (find, noun) in targets.items():
                value = item.get(name, [])
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    errors[name] = f'Give a list of {KEYS[name]}s, such as ["api"].'
                    continue
                found = [find(key) for key in value]
                missing = [
                    key
                    for key, hit in zip(value, found, strict=True)
                    if hit is None and not self._failed(name, key)
                ]
                if missing:
                    errors[name] = f"No {noun} {', '.join(missing)}."
                ids[name] = [hit.id for hit in found if hit is not None]
            data["monitor_ids"] = ids.get("monitors", []) + ids.get("heartbeats", [])
            data["cron_job_ids"] = ids.get("cron_jobs", [])
            data["group_ids"] = ids.get("groups", [])
            before = window_item(row) if row else None
            _drop_unchanged(data, before)
            try:
                values = maintenance.validated(data, row)
            except ValidationError as exc:
                errors = {**exc.fields, **errors}
            if errors:
                self._fail(label, errors, _WINDOW_RENAMES)
                continue
            row = maintenance.assign(row, values) if row else maintenance.add(values)
            db.session.flush()
            self._note("maintenance", row.title, before, window_item(row))

    def _status_page(self) -> None:
        if "status_page" not in self.document:
            return
        data = {**status_page.DEFAULTS, **self.document["status_page"]}
        before = status_page.get_settings()
        try:
            values = status_page.validated_settings(data)
        except ValidationError as exc:
            self._fail("status_page", exc.fields)
            return
        if self._note("status_page", "settings", before, {**before, **values}):
            status_page.stage_settings(values)

    def _prune(self) -> None:
        """Delete, of each section the document has, what it does not name; groups, tags
        and channels an item of the document still names stay."""
        named = {
            section: {item[KEYS[section]] for item in self.document.get(section, [])}
            for section in KEYS
        }
        used: dict[str, set[str]] = {"group": set(), "tags": set(), "channels": set()}
        for section in ("monitors", "heartbeats", "cron_jobs", "maintenance"):
            for item in self.document.get(section, []):
                for link in ("group", "groups", "tags", "channels"):
                    value = item.get(link)
                    values = value if isinstance(value, list) else [value]
                    key = "group" if link == "groups" else link
                    used[key] |= {v for v in values if isinstance(v, str)}
        if "maintenance" in self.document:
            for window in db.session.execute(sa.select(MaintenanceWindow)).scalars():
                if window.title not in named["maintenance"]:
                    self._delete("maintenance", window.title, window)
        for section in ("monitors", "heartbeats", "cron_jobs"):
            if section not in self.document:
                continue
            for subject in _subjects_of(section):
                if subject.slug not in named[section]:
                    self.refresh.append((_refresh_kind(subject), subject.id))
                    self._delete(section, subject.slug, subject)
        if "channels" in self.document:
            for channel in channels.list_channels():
                if channel.name not in named["channels"] | used["channels"]:
                    self._delete("channels", channel.name, channel)
        for section, rows, link in (
            ("tags", tags.all_tags(), "tags"),
            ("groups", groups.list_groups(), "group"),
        ):
            if section not in self.document:
                continue
            keep = {name.lower() for name in named[section] | used[link]}
            for row in rows:
                if row.name.lower() not in keep:
                    self._delete(section, row.name, row)

    def _delete(self, section: str, name: str, row: Any) -> None:
        self.plan["delete"].append({"section": section, "name": name})
        self.changed = True
        if isinstance(row, Monitor):
            monitors.remove(row)
        elif isinstance(row, CronJob):
            cron_jobs.remove(row)
        else:
            db.session.delete(row)


def _code(value: Any) -> str:
    """A heartbeat's ping code as given: a UUID in its usual 36-character spelling."""
    message = "Give a ping code as a UUID, such as 3f1c2a9e-8d4b-4c67-9a1e-2b5d7c0e4f81."
    if not isinstance(value, str):
        raise ValueError(message)
    try:
        code = str(uuid.UUID(value.strip()))
    except ValueError:
        raise ValueError(message) from None
    if code != value.strip().lower():
        raise ValueError(message)
    return code


# Each section's item as the document has it, of a Monitor (or a CronJob for cron_jobs).
_EXPORTS: dict[str, Callable[[Any, bool], dict[str, Any]]] = {
    "monitors": monitor_item,
    "heartbeats": heartbeat_item,
    "cron_jobs": cron_job_item,
}


def _subjects_of(section: str) -> list[Monitor] | list[CronJob]:
    """The stored uptime monitors, heartbeats or cron jobs."""
    if section == "cron_jobs":
        return list(db.session.execute(sa.select(CronJob)).scalars())
    heartbeats = section == "heartbeats"
    monitors = db.session.execute(sa.select(Monitor)).scalars()
    return [row for row in monitors if (row.kind == KIND_HEARTBEAT) == heartbeats]


def _kind_is(row: Monitor | None, heartbeat: bool) -> Monitor | None:
    return row if row is not None and (row.kind == KIND_HEARTBEAT) == heartbeat else None


def _refresh_kind(row: Monitor | CronJob) -> str:
    if isinstance(row, CronJob):
        return "cron_job"
    return "heartbeat" if row.kind == KIND_HEARTBEAT else "monitor"
