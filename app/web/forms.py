"""Glue between WTForms and service errors: domain rules live in services, not in forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, widgets

from app.services import channels
from app.services.errors import ValidationError


def apply_errors(form: FlaskForm, exc: ValidationError) -> None:
    """Show a service's field errors inline, next to the fields they name."""
    for name, message in exc.fields.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes; the service validates the values, so the form does not."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form) -> None:
        """Unknown values are the service's to refuse, with its own message."""


def channel_field(label: str = "Notify these channels") -> MultiCheckboxField:
    return MultiCheckboxField(label, coerce=int)


def offer_channels(field: MultiCheckboxField, item=None) -> None:
    """Fill a channel field's choices; a new item starts with the channels marked default."""
    field.choices = [(channel.id, channel.name) for channel in channels.list_channels()]
    if field.data is None:
        chosen = item.channels if item is not None else channels.defaults()
        field.data = [channel.id for channel in chosen]
