"""Glue between WTForms and service errors: domain rules live in services, not in forms."""

from __future__ import annotations

from flask_wtf import FlaskForm

from app.services.errors import ValidationError


def apply_errors(form: FlaskForm, exc: ValidationError) -> None:
    """Show a service's field errors inline, next to the fields they name."""
    for name, message in exc.fields.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]
