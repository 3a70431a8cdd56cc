"""The admin dashboard: overview, admin accounts and the status page's settings."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, TextAreaField, URLField

from app.extensions import login_manager
from app.services import accounts, overview, status_page
from app.services.errors import Conflict, NotFound, ValidationError
from app.web import status, status_svg
from app.web.forms import apply_errors
from app.web.lists import filter_args, fingerprint, render_list, tag_names

bp = Blueprint("dashboard", __name__)


@bp.before_request
def _require_login() -> None:
    """Every dashboard page is for signed-in admins only; at ``/`` visitors get the public
    status page instead."""
    if current_user.is_authenticated or request.endpoint == "dashboard.index":
        return None
    return login_manager.unauthorized()


class AdminForm(FlaskForm):
    email = EmailField("E-mail")
    password = PasswordField("Initial password")


class RemoveForm(FlaskForm):
    """Carries only a CSRF token: the remove button, "make all shown public/private"."""


class StatusPageForm(FlaskForm):
    title = StringField("Title")
    description = TextAreaField("Description")
    logo_url = URLField("Logo URL")
    footer = TextAreaField("Footer text")
    group_sections = BooleanField("Show services in sections by group")
    show_response_times = BooleanField("Show 24-hour response-time charts")


OVERVIEW_PER_PAGE = 50
# Where a row links to: its detail page.
_DETAIL = {
    overview.TYPE_MONITOR: ("monitors.detail", "monitor_id"),
    overview.TYPE_HEARTBEAT: ("heartbeats.detail", "monitor_id"),
    overview.TYPE_CRON_JOB: ("cron_jobs.detail", "cron_job_id"),
}


def _item_url(row: overview.Row) -> str:
    endpoint, argument = _DETAIL[row.type]
    values: dict[str, Any] = {argument: row.id}
    return url_for(endpoint, **values)


@bp.app_template_global("overall_state")
def overall_state() -> str:
    """For the tab's icon on every signed-in page (partials/_favicon.html)."""
    return overview.overall_state()


@bp.get("/")
def index() -> ResponseReturnValue:
    """The overview. Three answers from one view: the page; the list alone (htmx filter
    form); and, for the 10-second poll, only what changed since the browser's copy.

    The poll sends back the fingerprints of the rows it shows (hidden inputs in the list).
    When the rows on the page are the same ones in the same order, only those whose
    fingerprint differs come back, each swapped in place out of band; when the set changed
    (an item added, deleted or filtered in), the whole list; when nothing changed, 204.
    """
    if not current_user.is_authenticated:
        return status.render_page(shared=False)
    search = request.args.get("q", "").strip()
    wanted = request.args.get("status", "")
    tag = request.args.get("tag", "").strip()
    try:
        page = overview.list_items(
            search=search,
            status=wanted or None,
            tag=tag or None,
            page=request.args.get("page", 1),
            per_page=OVERVIEW_PER_PAGE,
        )
    except ValidationError:
        abort(400)
    fingerprints = {row.key: fingerprint(dataclasses.astuple(row)) for row in page.items}
    state = overview.overall_state()
    # The overall state counts in: when it changes, the poll brings the tab's new icon too.
    layout = fingerprint((page.total, page.page, page.pages, [r.key for r in page.items], state))
    context = {
        "page": page,
        "search": search,
        "wanted": wanted,
        "statuses": overview.STATUSES,
        "fingerprints": fingerprints,
        "layout": layout,
        "item_url": _item_url,
        "percent": status_svg.percent,
        "create_urls": {
            "monitor": url_for("monitors.new"),
            "heartbeat": url_for("heartbeats.new"),
            "cron_job": url_for("cron_jobs.new"),
        },
        "favicon_state": state,
        "tag": tag,
        "tag_names": tag_names(),
        "args": filter_args(q=search, status=wanted, tag=tag),
    }
    if request.headers.get("HX-Request") and request.args.get("poll"):
        if request.args.get("layout") != layout:
            return render_template(
                "dashboard/partials/_list.html", oob=True, **context
            ) + render_template("partials/_favicon.html", oob=True, favicon_state=state)
        seen = dict(entry.partition(":")[::2] for entry in request.args.getlist("seen"))
        changed = [row for row in page.items if seen.get(row.key) != fingerprints[row.key]]
        if not changed:
            return make_response("", 204)
        return render_template("dashboard/partials/_changed.html", rows=changed, **context)
    return render_list(
        "dashboard/index.html", "dashboard/partials/_list.html", "overview-list", **context
    )


@bp.route("/settings/admins", methods=["GET", "POST"])
def admins() -> ResponseReturnValue:
    form = AdminForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.create_admin(form.email.data, form.password.data)
        except ValidationError as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(f"Admin {user.email} added.", "success")
            return redirect(url_for("dashboard.admins"))
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "dashboard/admins.html",
            form=form,
            remove_form=RemoveForm(),
            admins=accounts.list_admins(),
        ),
        status,
    )


@bp.post("/settings/admins/<int:user_id>/remove")
def remove_admin(user_id: int) -> ResponseReturnValue:
    if RemoveForm().validate_on_submit():
        try:
            accounts.remove_admin(user_id, actor=current_user)
        except (Conflict, NotFound) as exc:
            flash(exc.message, "error")
        else:
            flash("Admin removed; their sessions have ended.", "success")
    return redirect(url_for("dashboard.admins"))


STATUS_ITEMS_PER_PAGE = 50
_STATUS_FILTERS = {"q": "search", "visibility": "visibility", "kind": "kind", "group": "group"}


def _status_filters(values: Mapping[str, str]) -> dict[str, str]:
    """The settings page's item filters, by query name, as given (blank ones left out)."""
    return filter_args(**{name: values.get(name, "").strip() for name in _STATUS_FILTERS})


@bp.route("/settings/status-page", methods=["GET", "POST"])
def status_page_settings() -> ResponseReturnValue:
    """The page's settings and, in one form, which items it shows and in what order: the
    items are searched, filtered and paged, and a save changes only the rows shown."""
    args: dict[str, Any] = _status_filters(request.args)  # Any: url_for's keywords
    try:
        found = status_page.find_items(
            **{_STATUS_FILTERS[name]: value for name, value in args.items()},
            page=request.args.get("page", 1),
            per_page=STATUS_ITEMS_PER_PAGE,
        )
    except ValidationError:
        abort(400)
    current = status_page.describe()
    form = StatusPageForm(data=current)
    items, groups = found.items, current["groups"]
    code, row_errors = 200, {}
    if request.method == "POST":
        # What was ticked and typed is kept, even when something else is refused.
        for item in items:
            name = f"{item['type']}-{item['id']}"
            item["public"] = f"public-{name}" in request.form
            item["position"] = request.form.get(f"position-{name}", item["position"])
        for group in groups:
            group["position"] = request.form.get(f"group-{group['id']}", group["position"])
    if form.validate_on_submit():
        try:
            status_page.update_settings(
                {
                    **{name: form[name].data for name in status_page.DEFAULTS},
                    "items": [
                        {key: item[key] for key in ("type", "id", "public", "position")}
                        for item in items
                    ],
                    "groups": groups,
                }
            )
        except ValidationError as exc:
            row_errors = {
                key: message
                for key, message in exc.fields.items()
                if key.startswith(("items.", "groups."))
            }
            others = {k: m for k, m in exc.fields.items() if k not in row_errors}
            if row_errors:
                others.setdefault("_rows", "Some positions are not valid; see below.")
            apply_errors(form, ValidationError(others))
            code = 422
        else:
            flash("Status page saved.", "success")
            return redirect(url_for("dashboard.status_page_settings", **args, page=found.page))
    elif request.method == "POST":
        code = 422
    return (
        render_template(
            "dashboard/status_page.html",
            form=form,
            page=found,
            items=items,
            groups=groups,
            row_errors=row_errors,
            args=args,
            kinds={"monitor": "Uptime monitor", "heartbeat": "Heartbeat", "cron_job": "Cron job"},
            no_group=status_page.NO_GROUP,
            action_form=RemoveForm(),
        ),
        code,
    )


@bp.post("/settings/status-page/visibility")
def status_page_visibility() -> ResponseReturnValue:
    """Make every item matching the filters public or private ("make all shown …")."""
    args: dict[str, Any] = _status_filters(request.form)
    if RemoveForm().validate_on_submit():
        try:
            count = status_page.set_visibility(
                request.form.get("public", ""),
                **{_STATUS_FILTERS[name]: value for name, value in args.items()},
            )
        except ValidationError as exc:
            flash(" ".join(exc.fields.values()) or exc.message, "error")
        else:
            shown = "public" if request.form.get("public") == "true" else "private"
            flash(f"{count} item{'s' if count != 1 else ''} made {shown}.", "success")
    return redirect(url_for("dashboard.status_page_settings", **args))
