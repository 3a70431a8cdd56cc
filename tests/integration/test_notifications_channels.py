"""The channel and e-mail server services: field rules per kind, secrets that are never shown
back, defaults, linking to existing items, and which SMTP settings win."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import NotificationChannel
from app.services import channels, cron_jobs, fields, monitors, smtp
from app.services.errors import Conflict, NotFound, ValidationError

URL = "https://example.com/health"


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def errors_of(call, *args) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        call(*args)
    return info.value.fields


def test_each_kind_requires_its_own_fields(ctx):
    assert errors_of(channels.create, {"name": "x"}) == {
        "kind": "Choose one of email, webhook, apprise."
    }
    assert errors_of(channels.create, {"kind": "email"}) == {
        "name": "Enter a name.",
        "addresses": "Enter at least one e-mail address.",
    }
    assert errors_of(channels.create, {"kind": "webhook", "name": "w"}) == {
        "url": "Enter the URL to send alerts to."
    }
    assert "url" in errors_of(channels.create, {"kind": "apprise", "name": "a"})
    # Fields of another kind are refused rather than silently dropped.
    assert errors_of(
        channels.create, {"kind": "email", "name": "m", "addresses": "a@example.com", "url": URL}
    ) == {"url": "Unknown field."}
    assert errors_of(channels.create, ["not", "an", "object"]) == {}


def test_email_addresses_are_split_checked_and_deduplicated(ctx):
    channel = channels.create(
        {
            "kind": "email",
            "name": "Ops",
            "addresses": " ops@example.com;\nDev@example.com , ops@example.com",
        }
    )
    assert channel.config == {"addresses": ["ops@example.com", "Dev@example.com"]}
    assert errors_of(
        channels.create, {"kind": "email", "name": "Ops", "addresses": ["ops@example.com", "nope"]}
    ) == {"addresses": "nope is not an e-mail address, such as ops@example.com."}
    many = [f"u{i}@example.com" for i in range(21)]
    assert (
        "at most 20"
        in errors_of(channels.create, {"kind": "email", "name": "Ops", "addresses": many})[
            "addresses"
        ]
    )


def test_webhook_fields_and_a_secret_that_is_never_shown(ctx):
    errors = errors_of(
        channels.create,
        {
            "kind": "webhook",
            "name": "Hook",
            "url": "javascript:alert(1)",
            "headers": "no colon here",
            "secret": 42,
        },
    )
    assert set(errors) == {"url", "headers", "secret"}
    channel = channels.create(
        {
            "kind": "webhook",
            "name": "Hook",
            "url": URL,
            "headers": {"Authorization": "Bearer abc"},
            "secret": "s3cret",
        }
    )
    described = channels.describe(channel)
    assert described["secret_set"] is True and "s3cret" not in repr(described)
    assert described["headers"] == {"Authorization": fields.MASK}
    assert described["secret_headers_set"] == ["Authorization"]

    channels.update(channel.id, {"name": "Hook 2"})  # secret left out: kept
    assert channels.get(channel.id).config["secret"] == "s3cret"
    channels.update(channel.id, {"secret": "n3w"})
    assert channels.get(channel.id).config["secret"] == "n3w"
    channels.update(channel.id, {"secret": None})
    assert "secret" not in channels.get(channel.id).config
    assert channels.describe(channels.get(channel.id))["secret_set"] is False


def test_apprise_urls_are_validated_by_apprise_and_masked(ctx):
    assert (
        "Apprise does not read this URL"
        in errors_of(
            channels.create, {"kind": "apprise", "name": "A", "url": "https://example.com/"}
        )["url"]
    )
    channel = channels.create(
        {"kind": "apprise", "name": "Slack", "url": "slack://TokenA/TokenB/TokenC"}
    )
    assert channels.describe(channel)["url"].startswith("slack://T...A/T...B/T...C/")
    json_channel = channels.create(
        {"kind": "apprise", "name": "J", "url": "json://user:pw@hooks.example.com/x?:Token=abc"}
    )
    shown = channels.describe(json_channel)["url"]
    assert "pw" not in shown and "abc" not in shown


def test_the_kind_cannot_change(ctx):
    channel = channels.create({"kind": "email", "name": "M", "addresses": "a@example.com"})
    assert errors_of(channels.update, channel.id, {"kind": "webhook"}) == {
        "kind": "A channel's kind cannot change; create a new channel instead."
    }
    with pytest.raises(NotFound):
        channels.update(9999, {"name": "x"})


def test_attach_to_all_links_existing_items_once(ctx):
    first = monitors.create({"name": "A", "url": URL})
    job = cron_jobs.create({"name": "J", "url": URL, "cron_expr": "0 * * * *"})
    channel = channels.create(
        {"kind": "email", "name": "M", "addresses": "a@example.com", "attach_to_all": True}
    )
    second = monitors.create({"name": "B", "url": URL, "channels": []})
    channels.update(channel.id, {"attach_to_all": True})  # again: no duplicate links
    db.session.expire_all()
    for item in (monitors.get(first.id), monitors.get(second.id), cron_jobs.get(job.id)):
        assert [c.id for c in item.channels] == [channel.id]
    assert channel.is_default is False


def test_deleting_a_channel_unlinks_it(ctx):
    channel = channels.create(
        {"kind": "email", "name": "M", "addresses": "a@example.com", "is_default": True}
    )
    monitor = monitors.create({"name": "A", "url": URL})
    assert [c.id for c in monitor.channels] == [channel.id]
    channels.delete(channel.id)
    db.session.expire_all()
    assert monitors.get(monitor.id).channels == []
    assert db.session.execute(sa.select(NotificationChannel)).first() is None


def test_channel_ids_on_items_must_exist_and_be_numbers(ctx):
    assert errors_of(monitors.create, {"name": "A", "url": URL, "channels": "1,2"}) == {
        "channels": "Give a list of channel ids, such as [1, 3]."
    }
    assert errors_of(monitors.create, {"name": "A", "url": URL, "channels": ["x"]}) == {
        "channels": "Channel ids are whole numbers, such as 3."
    }
    assert errors_of(
        cron_jobs.create, {"name": "J", "url": URL, "cron_expr": "0 * * * *", "channels": [7]}
    ) == {"channels": "No notification channel with id 7."}


def test_monitors_take_a_reminder_interval(ctx):
    monitor = monitors.create({"name": "A", "url": URL, "reminder_hours": "6"})
    assert monitor.reminder_hours == 6
    assert monitors.update(monitor.id, {"reminder_hours": ""}).reminder_hours is None
    assert "reminder_hours" in errors_of(monitors.update, monitor.id, {"reminder_hours": 0})


def test_dashboard_smtp_settings_keep_the_password_hidden(ctx):
    assert smtp.describe() == {"source": None, "configured": False}
    assert smtp.current() is None
    assert errors_of(smtp.update, {"security": "ssl"}) == {
        "security": "Choose one of starttls, tls, none.",
        "host": "Enter the host name or address of the mail server.",
        "sender": "Enter the address alerts are sent from.",
    }
    assert errors_of(
        smtp.update, {"host": "mail.example.com", "sender": "a@example.com", "username": "u"}
    ) == {"password": "Enter the password for this user name."}
    described = smtp.update(
        {
            "host": "mail.example.com",
            "security": "starttls",
            "username": "u",
            "password": "pw-123",
            "sender": "Upcron <a@example.com>",
        }
    )
    assert described == {
        "source": "dashboard",
        "configured": True,
        "host": "mail.example.com",
        "port": 587,
        "security": "starttls",
        "username": "u",
        "sender": "Upcron <a@example.com>",
        "password_set": True,
    }
    smtp.update(
        {"host": "mail.example.com", "port": 2525, "username": "u", "sender": "a@example.com"}
    )
    current = smtp.current()
    assert (current.port, current.password) == (2525, "pw-123")  # left out: kept
    assert "pw-123" not in repr(current)
    smtp.clear()
    assert smtp.current() is None


def test_smtp_from_the_environment_wins(make_app):
    env = {
        "host": "relay.internal",
        "port": 25,
        "security": "none",
        "username": None,
        "password": None,
        "sender": "alerts@example.com",
    }
    app = make_app(SMTP=env)
    with app.app_context():
        assert smtp.current().host == "relay.internal"
        assert smtp.describe()["source"] == "environment"
        with pytest.raises(Conflict):
            smtp.update({"host": "other.example.com", "sender": "a@example.com"})
        with pytest.raises(Conflict):
            smtp.clear()
