"""Bulk actions: one action on many monitors, heartbeats and cron jobs at once (pause,
resume, delete, tag, untag, set notification channels, start maintenance).

Everything is judged before anything changes: an unknown id, action or parameter is named
and nothing happens. Each item then changes through the same building blocks as the
single-item operations (``monitors.set_paused``, ``cron_jobs.set_enabled``, ``remove``), and
the whole commits once, so a failure at the hundredth item leaves the first ninety-nine as
they were. The answer says which items changed and which already were so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import db
from app.models import CronJob, Monitor
from app.models.types import utcnow
from app.services import channels, cron_jobs, fields, maintenance, monitors, tags
from app.services.errors import ValidationError

ACTIONS = ("pause", "resume", "delete", "tag", "untag", "set_channels", "maintenance")
IDS_MAX = maintenance.TARGETS_MAX  # of each kind, per request
# What each action takes besides the ids; anything else is refused, so a typo is not ignored.
PARAMS: dict[str, tuple[str, ...]] = {
    "tag": ("tags",),
    "untag": ("tags",),
    "set_channels": ("channel_ids",),
    "maintenance": ("minutes",),
}
_PARSERS: dict[str, fields.Parser] = {
    "action": fields.choice(ACTIONS),
    "monitor_ids": maintenance.existing_ids(Monitor, "monitor or heartbeat"),
    "cron_job_ids": maintenance.existing_ids(CronJob, "cron job"),
    "tags": tags.parse_names,
    "channel_ids": channels.parse_ids,
    "minutes": fields.whole_number(
        1, maintenance.NOW_MAX_MIN, f"Enter minutes from 1 to {maintenance.NOW_MAX_MIN}."
    ),
}
_MISSING = {
    "action": f"Choose an action: {', '.join(ACTIONS)}.",
    "tags": "Enter at least one tag name.",
    "channel_ids": "Give the channels' ids; an empty list removes every channel.",
    "minutes": "Enter how many minutes the maintenance lasts.",
}
NOTHING_CHOSEN = "Choose at least one monitor, heartbeat or cron job."
_CONFLICT = "Another change was saved at the same moment; try again."


@dataclass
class Result:
    """What an action did: the ids that changed and those that already were so, each in
    the order given; for ``maintenance`` the new window's id."""

    action: str
    changed: dict[str, list[int]] = field(
        default_factory=lambda: {"monitor_ids": [], "cron_job_ids": []}
    )
    unchanged: dict[str, list[int]] = field(
        default_factory=lambda: {"monitor_ids": [], "cron_job_ids": []}
    )
    window_id: int | None = None
    tags: list[str] = field(default_factory=list)
    minutes: int | None = None


def validate(data: Any) -> dict[str, Any]:
    """The clean action, ids and parameters of ``data``; ValidationError naming every bad
    field otherwise. Dashboards call it to ask for a confirmation before ``run``."""
    values, errors = fields.parse(data, _PARSERS)
    action = values.get("action", "")  # "" when missing or wrong: errors say so
    if "action" not in data:
        errors["action"] = _MISSING["action"]
    allowed = {"action", "monitor_ids", "cron_job_ids", *PARAMS.get(action, ())}
    for key in data:
        if key not in allowed and "action" not in errors:
            errors[str(key)[:100]] = f"Not used by the {action} action."
            values.pop(key, None)
    for key in PARAMS.get(action, ()):
        if key not in data:
            errors[key] = _MISSING[key]
    if action in ("tag", "untag") and "tags" in values and not values["tags"]:
        errors["tags"] = _MISSING["tags"]
    ids = ("monitor_ids", "cron_job_ids")
    if not errors.keys() & set(ids) and not any(values.get(key) for key in ids):
        errors["monitor_ids"] = NOTHING_CHOSEN
    if errors:
        raise ValidationError(errors)
    values.setdefault("monitor_ids", [])
    values.setdefault("cron_job_ids", [])
    return values


def run(data: Any) -> Result:
    """Apply ``{"action", "monitor_ids", "cron_job_ids", …parameters}`` to every item named,
    in one transaction; the scheduler learns of paused, resumed and deleted items after it.
    """
    values = validate(data)
    if values["action"] == "maintenance":
        return _maintenance(values)
    try:
        result, touched = fields.commit_retrying(lambda: _apply(values), _CONFLICT)
    except Exception:
        db.session.rollback()
        raise
    for kind, item_id in touched:
        if kind == "cron_job":
            cron_jobs.refresh(item_id)
        else:
            monitors.refresh(kind, item_id)
    return result


def _apply(values: dict[str, Any]) -> tuple[Result, list[tuple[str, int]]]:
    """Change every item in the session; return the result and the items whose schedule
    the change affects (kind, id), which the scheduler is told about after the commit."""
    action = values["action"]
    result = Result(action, tags=values.get("tags", []))
    items = [
        *(("monitor_ids", m) for m in _rows(Monitor, values["monitor_ids"])),
        *(("cron_job_ids", j) for j in _rows(CronJob, values["cron_job_ids"])),
    ]
    change = _changer(action, values)
    touched = []
    # Tags made here must reach SQL at the commit, not at a flush (see tags.resolve).
    with db.session.no_autoflush:
        for key, item in items:
            item_id = item.id
            kind = "cron_job" if isinstance(item, CronJob) else item.kind
            if change(item):
                result.changed[key].append(item_id)
                if action in ("pause", "resume", "delete"):
                    touched.append((kind, item_id))
            else:
                result.unchanged[key].append(item_id)
    return result, touched


def _changer(action: str, values: dict[str, Any]):
    """The change one item undergoes: a function of the item, True when it changed."""
    if action in ("pause", "resume"):
        paused = action == "pause"

        def switch(item) -> bool:
            if isinstance(item, CronJob):
                return cron_jobs.set_enabled(item, not paused)
            return monitors.set_paused(item, paused)

        return switch
    if action == "delete":

        def remove(item) -> bool:
            (cron_jobs.remove if isinstance(item, CronJob) else monitors.remove)(item)
            return True

        return remove
    if action == "tag":
        wanted = tags.resolve(values["tags"])

        def add(item) -> bool:
            carried = {tag.name.lower() for tag in item.tags}
            missing = [tag for tag in wanted if tag.name.lower() not in carried]
            if not missing:
                return False
            if len(item.tags) + len(missing) > tags.PER_ITEM_MAX:
                raise ValidationError(
                    {"tags": f"{item.name} would carry more than {tags.PER_ITEM_MAX} tags."}
                )
            item.tags = [*item.tags, *missing]
            return True

        return add
    if action == "untag":
        dropped = {name.lower() for name in values["tags"]}

        def take_off(item) -> bool:
            kept = [tag for tag in item.tags if tag.name.lower() not in dropped]
            if len(kept) == len(item.tags):
                return False
            item.tags = kept
            return True

        return take_off
    chosen = channels.by_ids(values["channel_ids"])

    def replace(item) -> bool:
        if {c.id for c in item.channels} == {c.id for c in chosen}:
            return False
        item.channels = list(chosen)
        return True

    return replace


def _rows(model, ids: list[int]) -> list:
    """The rows with these ids in the order given, their tags and channels loaded (an id
    deleted since it was checked is left out)."""
    if not ids:
        return []
    rows = db.session.execute(
        sa.select(model)
        .where(model.id.in_(ids))
        .options(so.selectinload(model.tags), so.selectinload(model.channels))
    ).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def _maintenance(values: dict[str, Any]) -> Result:
    """One window from now for ``minutes``, covering exactly the items named."""
    now = utcnow()
    monitor_ids, cron_job_ids = values["monitor_ids"], values["cron_job_ids"]
    count = len(monitor_ids) + len(cron_job_ids)
    if count == 1:
        item = (
            db.session.get(Monitor, monitor_ids[0])
            if monitor_ids
            else db.session.get(CronJob, cron_job_ids[0])
        )
        title = f"Maintenance of {item.name if item else 'an item'}"
    else:
        title = f"Maintenance of {count} items"
    window = maintenance.create(
        {
            "title": title[: maintenance.TITLE_MAX],
            "starts_at": now,
            "ends_at": now + timedelta(minutes=values["minutes"]),
            "monitor_ids": monitor_ids,
            "cron_job_ids": cron_job_ids,
        }
    )
    result = Result("maintenance", window_id=window.id, minutes=values["minutes"])
    result.changed = {"monitor_ids": list(monitor_ids), "cron_job_ids": list(cron_job_ids)}
    return result


# --- in words, for the dashboard and the command line ----------------------------------------

_DONE = {
    "pause": ("Paused {n}", "{m} already paused"),
    "resume": ("Resumed {n}", "{m} not paused"),
    "delete": ("Deleted {n} with their history", ""),
    "tag": ("Tagged {n} with {tags}", "{m} already tagged"),
    "untag": ("Removed {tags} from {n}", "{m} without them"),
    "set_channels": ("Set the notification channels of {n}", "{m} unchanged"),
    "maintenance": ("Started {minutes} minutes of maintenance on {n}", ""),
}
# Cron jobs are enabled and disabled rather than resumed and paused.
_DONE_JOBS = {
    "pause": ("Disabled {n}", "{m} already disabled"),
    "resume": ("Enabled {n}", "{m} already enabled"),
}


def describe(result: Result, noun: tuple[str, str] | None = None) -> str:
    """The result as a sentence: "Paused 12 monitors; 3 were already paused." ``noun``
    (singular, plural) names the items, "item"/"items" by default ("cron job" when all
    are)."""
    changed = sum(len(ids) for ids in result.changed.values())
    unchanged = sum(len(ids) for ids in result.unchanged.values())
    jobs_only = not result.changed["monitor_ids"] and not result.unchanged["monitor_ids"]
    if noun is None:
        noun = ("cron job", "cron jobs") if jobs_only else ("item", "items")
    done, kept = (_DONE_JOBS if jobs_only else {}).get(result.action, _DONE[result.action])
    sentence = done.format(
        n=f"{changed} {noun[0] if changed == 1 else noun[1]}",
        tags=", ".join(result.tags),
        minutes=result.minutes,
    )
    if unchanged and kept:
        verb = "was" if unchanged == 1 else "were"
        sentence += "; " + kept.format(m=f"{unchanged} {verb}")
    return sentence + "."
