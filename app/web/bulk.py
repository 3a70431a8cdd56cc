"""The bulk action bar of the monitor, heartbeat and cron job lists: one form post applies an
action to the rows ticked, to the whole page, or to every item matching the list's filters.

The form carries the list's filters, so "all matching" is resolved here from the same query
as the list (``list_filters`` of each list's module). Deleting asks for a confirmation on a
page of its own; more than ``TYPED_OVER`` items must be confirmed by typing their number.
Everything works as a plain form post; app.js only ticks boxes and hides unused fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from app.services import bulk, channels, cron_jobs, monitors
from app.services.errors import ValidationError
from app.services.pagination import Page
from app.web import admin
from app.web import cron_jobs as cron_job_pages
from app.web import heartbeats as heartbeat_pages
from app.web import monitors as monitor_pages
from app.web.lists import filter_args

bp = admin.blueprint("bulk", __name__, url_prefix="/bulk")

TYPED_OVER = 10
NAMES_SHOWN = 20


@dataclass(frozen=True)
class BulkList:
    """One list the bar serves: where it lives, what it calls its items, how it filters."""

    endpoint: str
    key: str  # the ids' field in bulk.run
    noun: tuple[str, str]
    filters: Callable[..., dict[str, Any]]
    page: Callable[..., Page]
    matching: Callable[..., list[int]]
    per_page: int
    filter_names: tuple[str, ...]


LISTS = {
    "monitors": BulkList(
        "monitors.index", "monitor_ids", ("monitor", "monitors"), monitor_pages.list_filters,
        monitors.list_monitors, monitors.matching_ids, monitor_pages.PER_PAGE,
        ("q", "state", "tag"),
    ),
    "heartbeats": BulkList(
        "heartbeats.index", "monitor_ids", ("heartbeat", "heartbeats"),
        heartbeat_pages.list_filters, monitors.list_monitors, monitors.matching_ids,
        heartbeat_pages.PER_PAGE, ("q", "state", "tag"),
    ),
    "cron_jobs": BulkList(
        "cron_jobs.index", "cron_job_ids", ("cron job", "cron jobs"),
        cron_job_pages.list_filters, cron_jobs.list_cron_jobs, cron_jobs.matching_ids,
        cron_job_pages.PER_PAGE, ("q", "status", "tag"),
    ),
}  # fmt: skip


def _chosen_ids(chosen: BulkList, form: MultiDict[str, str]) -> list[Any]:
    """The ids the form names: every item matching the filters, the page shown, or the rows
    ticked (left to ``bulk.run`` to check)."""
    filters = chosen.filters(form)
    if form.get("all_matching"):
        return chosen.matching(**filters)
    if form.get("all_page"):
        page = chosen.page(**filters, page=form.get("page", 1), per_page=chosen.per_page)
        return [item.id for item in page.items]
    return form.getlist("id")


def _request_data(
    action: str, ids: list[Any], chosen: BulkList, form: MultiDict[str, str]
) -> dict[str, Any]:
    """The bulk request, with only the parameters the action takes (the bar shows them all
    when scripts are off)."""
    data: dict[str, Any] = {"action": action, chosen.key: ids}
    params = bulk.PARAMS.get(action, ())
    if "tags" in params:
        data["tags"] = form.get("tags", "")
    if "channel_ids" in params:
        data["channel_ids"] = form.getlist("channel_ids")
    if "minutes" in params:
        data["minutes"] = form.get("minutes", "")
    return data


def _names(chosen: BulkList, ids: list[int]) -> list[str]:
    get = cron_jobs.get if chosen.key == "cron_job_ids" else monitors.get
    return [get(item_id).name for item_id in ids[:NAMES_SHOWN]]


@bp.post("/")
def apply() -> ResponseReturnValue:
    """Apply the bar's action; deleting goes through the confirmation page first."""
    chosen = LISTS.get(request.form.get("list", ""))
    if chosen is None:
        abort(400)
    back: dict[str, Any] = filter_args(  # Any: url_for's keywords
        **{name: request.form.get(name, "") for name in chosen.filter_names}
    )
    action = request.form.get("action", "")
    try:
        data = _request_data(action, _chosen_ids(chosen, request.form), chosen, request.form)
        if action == "delete":
            values = bulk.validate(data)
            count = len(values[chosen.key])
            typed = request.form.get("confirm", "").strip().lower()
            if not request.form.get("confirmed") or (
                count > TYPED_OVER and typed not in (str(count), f"delete {count}")
            ):
                return _confirm(chosen, values[chosen.key], back)
        result = bulk.run(data)
    except ValidationError as exc:
        flash(" ".join(exc.fields.values()) or exc.message, "error")
        return redirect(url_for(chosen.endpoint, **back))
    flash(bulk.describe(result, chosen.noun), "success")
    return redirect(url_for(chosen.endpoint, **back))


def _confirm(chosen: BulkList, ids: list[int], back: dict[str, str]) -> ResponseReturnValue:
    """The confirmation page of a delete, again with an error when the typed number was
    wrong (422)."""
    typed = request.form.get("confirm")
    wrong = request.form.get("confirmed") is not None
    status = 422 if wrong else 200
    return (
        render_template(
            "bulk/confirm.html",
            list_name=request.form["list"],
            chosen=chosen,
            ids=ids,
            names=_names(chosen, ids),
            typed_over=TYPED_OVER,
            typed=typed or "",
            error=f"Type {len(ids)} to confirm." if wrong else None,
            back=back,
        ),
        status,
    )


@bp.app_context_processor
def _bar():
    """``bulk_channels()``: the channels the bar offers for "set channels"."""

    def bulk_channels() -> list[tuple[int, str]]:
        return [(channel.id, channel.name) for channel in channels.list_channels()]

    return {"bulk_channels": bulk_channels}
