"""Glue between WTForms and service errors: domain rules live in services, not in forms."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, widgets

from app.engine import schedule
from app.models import CronJob, Monitor
from app.services import channels, tags
from app.services.errors import ValidationError


def apply_errors(form: FlaskForm, exc: ValidationError) -> None:
    """Show a service's field errors inline, next to the fields they name."""
    for name, message in exc.fields.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


def local_input(moment: datetime | None, zone: str) -> str:
    """A stored UTC moment as a datetime-local field shows it: wall time in ``zone``."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def wall_time(text: str, zone: str) -> str | None:
    """A datetime-local field's wall time read in ``zone``, as the ISO moment the services
    take. Text that is not a wall time, or a zone we cannot read, goes through unchanged,
    so the service's message explains what to type."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(schedule.validate_timezone(zone or "UTC")))
    except ValueError:
        return text
    return moment.isoformat()


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes; the service validates the values, so the form does not."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form: FlaskForm) -> None:
        """Unknown values are the service's to refuse, with its own message."""


def channel_field(label: str = "Notify these channels") -> MultiCheckboxField:
    return MultiCheckboxField(label, coerce=int)


def offer_channels(field: MultiCheckboxField, item: Monitor | CronJob | None = None) -> None:
    """Fill a channel field's choices; a new item starts with the channels marked default."""
    field.choices = [(channel.id, channel.name) for channel in channels.list_channels()]
    if field.data is None:
        chosen = item.channels if item is not None else channels.defaults()
        field.data = [channel.id for channel in chosen]


def tag_text(item: Monitor | CronJob) -> str:
    """An item's tags as its form's text field holds them: names separated by commas."""
    return ", ".join(tags.names_of(item))
