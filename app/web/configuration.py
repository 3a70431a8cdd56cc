"""Dashboard pages: the configuration as a file. Export downloads the document; import
uploads a file, shows the plan (a dry run: nothing written) and applies the same document
when confirmed."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, RadioField, SelectChoice, SelectField

from app.services import config
from app.services.errors import ValidationError
from app.web import admin

bp = admin.blueprint("configuration", __name__, url_prefix="/settings/configuration")

SOURCES = [
    SelectChoice("upcron", "Upcron document (JSON or YAML)"),
    SelectChoice("uptime-kuma", "Uptime Kuma database (kuma.db)"),
    SelectChoice("healthchecks", "Healthchecks checks (JSON of /api/v3/checks/)"),
]
# A form carrying a 5 MB document as escaped text, and the multipart envelope around a file.
_FORM_MAX = 3 * config.SIZE_MAX


class ExportForm(FlaskForm):
    format = RadioField(
        "Format",
        choices=[SelectChoice("json", "JSON"), SelectChoice("yaml", "YAML")],
        default="json",
    )
    with_secrets = BooleanField("Include secrets (passwords, secret headers, channel tokens)")


class ImportForm(FlaskForm):
    file = FileField("Configuration file")
    source = SelectField("File from", choices=SOURCES, default="upcron")
    prune = BooleanField("Delete what the file leaves out (prune)")


class ApplyForm(FlaskForm):
    document = HiddenField()
    prune = HiddenField()


def _render(
    import_form: ImportForm | None = None,
    errors: dict[str, Any] | None = None,
    message: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    return (
        render_template(
            "settings/configuration.html",
            export_form=ExportForm(formdata=None),
            import_form=import_form or ImportForm(formdata=None),
            errors=errors or {},
            message=message,
            size_mb=config.SIZE_MAX // 2**20,
        ),
        status,
    )


def _allow_large_body() -> None:
    request.max_content_length = _FORM_MAX
    request.max_form_memory_size = _FORM_MAX


@bp.get("/")
def index() -> ResponseReturnValue:
    return _render()


@bp.post("/export")
def export() -> ResponseReturnValue:
    form = ExportForm()
    if not form.validate_on_submit() or form.format.data not in config.FORMATS:
        return _render(status=422)
    fmt = form.format.data
    text = config.dump(config.export_document(form.with_secrets.data), fmt)
    name = "upcron-secrets" if form.with_secrets.data else "upcron"
    return Response(
        text,
        mimetype="application/yaml" if fmt == "yaml" else "application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/import")
def preview() -> ResponseReturnValue:
    """The plan of an uploaded file, nothing written; the page carries the document to
    apply it."""
    _allow_large_body()
    form = ImportForm()
    if not form.validate_on_submit():
        return _render(form, status=422)
    upload = form.file.data
    if upload is None or not upload.filename:
        form.file.errors = ["Choose a file to import."]
        return _render(form, status=422)
    try:
        conversion = config.read_file(upload.read(config.SIZE_MAX + 1), form.source.data)
        plan = config.plan(conversion.document, form.prune.data)
    except ValidationError as exc:
        return _render(form, exc.fields, exc.message, status=422)
    apply_form = ApplyForm(
        formdata=None,
        document=json.dumps(conversion.document, ensure_ascii=False),
        prune="1" if form.prune.data else "",
    )
    return render_template(
        "settings/configuration_plan.html",
        plan=plan,
        skipped=conversion.skipped,
        warnings=conversion.warnings,
        prune=form.prune.data,
        changes=bool(plan["create"] or plan["update"] or plan["delete"]),
        apply_form=apply_form,
    )


@bp.post("/apply")
def apply() -> ResponseReturnValue:
    """Apply the document the plan page showed; it is judged again, as things may have
    changed since."""
    _allow_large_body()
    form = ApplyForm()
    if not form.validate_on_submit():
        return _render(status=422)
    raw = (form.document.data or "").encode()
    try:
        result = config.import_file(raw, fmt="json", prune=form.prune.data == "1")
    except ValidationError as exc:
        return _render(errors=exc.fields, message=exc.message, status=422)
    plan = result["plan"]
    flash(
        f"Configuration imported: {len(plan['create'])} created, {len(plan['update'])} "
        f"updated, {len(plan['delete'])} deleted, {len(plan['unchanged'])} unchanged.",
        "success",
    )
    return redirect(url_for("configuration.index"))
