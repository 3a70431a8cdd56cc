"""Healthchecks checks (the JSON of ``GET /api/v3/checks/``) as Upcron heartbeats.

Each check keeps its name, slug, tags, description, schedule (a period, or a cron expression
in its time zone), grace time, manual resume and pause, and its UUID becomes the heartbeat's
ping code: a crontab that pinged ``https://hc-ping.com/<uuid>`` only changes the host (and
path) to ``https://upcron.example.com/ping/<uuid>``. That UUID is only in the JSON a
read-write API key returns; a read-only key's JSON has none, so such checks are skipped.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from app.engine import schedule
from app.services.importers.document import Conversion, DocumentBuilder, name_of
from app.services.monitors import PERIOD_MIN_SEC, RUN_TIME_MAX_SEC

KIND = "heartbeat"
NAME_MAX = 200
GRACE_MIN_SEC, GRACE_MAX_SEC = 60, 3600
NOT_CHECKS = (
    "Not the JSON of Healthchecks' GET /api/v3/checks/: expected an object with a list "
    'of "checks".'
)
READ_ONLY = (
    "The file was exported with a read-only API key, which leaves out the check's UUID "
    "(its ping URL); export it again with a read-write key."
)
NO_UUID = "Its ping URL has no UUID to keep as the ping code."
FILTERS = ("filter_subject", "filter_body", "filter_http_body", "filter_default_fail")


def convert(raw: bytes) -> Conversion:
    """The checks in ``raw`` as heartbeats; ValueError when ``raw`` is not such a list."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError("Not a JSON document; export GET /api/v3/checks/ as it answers.") from None
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        raise ValueError(NOT_CHECKS)
    builder = DocumentBuilder()
    with_channels = False
    for index, check in enumerate(data["checks"], start=1):
        if not isinstance(check, dict):
            builder.skip(f"#{index}", KIND, "Not a check: expected an object.")
            continue
        with_channels |= bool(check.get("channels"))
        _heartbeat(builder, check, index)
    if with_channels:
        builder.warn(
            "Integrations",
            "channel",
            "Healthchecks integrations are not in this export: the heartbeats notify the "
            "channels marked default for new items; choose others after the import.",
        )
    return builder.conversion()


def _heartbeat(builder: DocumentBuilder, check: dict[str, Any], index: int) -> None:
    name = name_of(
        check.get("name"), name_of(check.get("slug"), f"Check {index}", NAME_MAX), NAME_MAX
    )
    code = ping_code(check)
    if code is None:
        builder.skip(name, KIND, READ_ONLY if "unique_key" in check else NO_UUID)
        return
    item: dict[str, Any] = {"name": name, "code": code}
    if _text(check.get("desc")):
        item["description"] = check["desc"]
    if not _schedule(builder, check, item, name):
        return
    grace = _seconds(check.get("grace"))
    if grace is not None:
        item["grace_sec"] = builder.clamp(
            grace, GRACE_MIN_SEC, GRACE_MAX_SEC, name, KIND, "Grace time (seconds)"
        )
    item["manual_resume"] = check.get("manual_resume") is True
    names = [str(tag) for tag in _text(check.get("tags")).split()]
    found = [builder.tag(tag, None, name, KIND) for tag in names]
    item["tags"] = builder.item_tags([tag for tag in found if tag], name, KIND)
    item["paused"] = check.get("status") == "paused"
    if check.get("methods") == "POST":
        builder.warn(name, KIND, "Healthchecks took only POST pings for it; Upcron takes any.")
    if any(check.get(key) is True for key in FILTERS):
        builder.warn(
            name,
            KIND,
            "Its keyword filters (start, success and failure keywords) are not carried over: "
            "ping /start and /fail for those instead.",
        )
    builder.add(builder.heartbeats, item, KIND, slug_of=_text(check.get("slug")) or name)


def ping_code(check: dict[str, Any]) -> str | None:
    """The check's UUID, from ``uuid`` or the last part of ``ping_url`` (hc-ping.com or a
    server of one's own), in the lower-case form ping URLs use; None when there is none (a
    read-only export, or a ping URL by slug)."""
    for candidate in (check.get("uuid"), _last_segment(check.get("ping_url"))):
        if isinstance(candidate, str) and len(candidate) <= 36:
            try:
                return str(uuid.UUID(candidate))
            except ValueError:
                continue
    return None


def _last_segment(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    try:
        return urlsplit(url.strip()).path.rstrip("/").rpartition("/")[2]
    except ValueError:
        return None


def _schedule(builder: DocumentBuilder, check: dict[str, Any], item: dict, name: str) -> bool:
    """Put the check's period, or cron expression and zone, on ``item``; False (with the
    check skipped) when Upcron cannot read the schedule."""
    if "schedule" in check:
        expr, zone = _text(check.get("schedule")).strip(), _text(check.get("tz")) or "UTC"
        try:
            item["cron_expr"] = schedule.validate_cron(expr)
        except ValueError as exc:
            builder.skip(
                name,
                KIND,
                f"Its schedule {expr[:100]!r} is not a cron expression Upcron reads: {exc}",
            )
            return False
        try:
            item["timezone"] = schedule.validate_timezone(zone)
        except ValueError as exc:
            builder.skip(name, KIND, f"Its time zone {zone[:100]!r} is unknown here: {exc}")
            return False
        return True
    period = _seconds(check.get("timeout"))
    if period is None:
        builder.skip(name, KIND, "It has neither a period (timeout) nor a cron schedule.")
        return False
    item["period_sec"] = builder.clamp(
        period, PERIOD_MIN_SEC, RUN_TIME_MAX_SEC, name, KIND, "Period (seconds)"
    )
    return True


def _seconds(value: Any) -> int | None:
    """A whole number of seconds from JSON (bools are not numbers), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return round(value) if abs(value) < 1e18 else None
    return int(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
