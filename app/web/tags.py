"""Dashboard pages: the tags items carry (Settings → Tags), and the stylesheet that gives
each tag its colour wherever it shows."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import StringField

from app.services import tags
from app.services.errors import NotFound, ValidationError
from app.web import admin
from app.web.forms import apply_errors

bp = admin.blueprint("tags", __name__, url_prefix="/settings/tags")


class TagForm(FlaskForm):
    name = StringField("Name")
    colour = StringField("Colour", default=tags.PALETTE[0])


class ActionForm(FlaskForm):
    """Carries only the CSRF token of a button (delete)."""


def _render(
    new_form: TagForm | None = None,
    edited: tuple[int, TagForm] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The list; ``edited`` is (tag id, its form with errors) when a change was refused."""
    rows = [
        (
            tag,
            uses,
            edited[1] if edited and edited[0] == tag.id else TagForm(obj=tag, prefix=f"t{tag.id}"),
        )
        for tag, uses in tags.list_tags()
    ]
    return (
        render_template(
            "settings/tags.html",
            rows=rows,
            new_form=new_form
            or TagForm(prefix="new", data={"colour": tags.PALETTE[len(rows) % len(tags.PALETTE)]}),
            action_form=ActionForm(),
        ),
        status,
    )


@bp.get("/")
def index() -> ResponseReturnValue:
    return _render()[0]


@bp.post("/")
def create() -> ResponseReturnValue:
    form = TagForm(prefix="new")
    if not form.validate_on_submit():
        abort(400)
    try:
        tag = tags.create({"name": form.name.data or "", "colour": form.colour.data or ""})
    except ValidationError as exc:
        apply_errors(form, exc)
        return _render(new_form=form, status=422)
    flash(f"Tag {tag.name} created.", "success")
    return redirect(url_for("tags.index"))


@bp.post("/<int:tag_id>")
def update(tag_id: int) -> ResponseReturnValue:
    form = TagForm(prefix=f"t{tag_id}")
    if not form.validate_on_submit():
        abort(400)
    try:
        tag = tags.update(tag_id, {"name": form.name.data or "", "colour": form.colour.data or ""})
    except NotFound:
        abort(404)
    except ValidationError as exc:
        apply_errors(form, exc)
        return _render(edited=(tag_id, form), status=422)
    flash(f"Tag {tag.name} saved.", "success")
    return redirect(url_for("tags.index"))


@bp.post("/<int:tag_id>/delete")
def delete(tag_id: int) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        name = tags.get(tag_id).name
        tags.delete(tag_id)
    except NotFound:
        abort(404)
    flash(f"Tag {name} deleted; the items that carried it stay.", "success")
    return redirect(url_for("tags.index"))


@bp.get("/colours.css")
def stylesheet() -> ResponseReturnValue:
    """Each tag's colour as a custom property, by tag id: the pages' security policy allows
    no inline styles, so chips take their colour from this sheet (revalidated by ETag)."""
    css = "".join(
        f'.tag-chip[data-tag="{tag.id}"]{{--tag-colour:{tag.colour}}}\n' for tag in tags.all_tags()
    )
    response = make_response(css)
    response.mimetype = "text/css"
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)
