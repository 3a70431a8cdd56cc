"""The notifications pages of the dashboard: channels, send test, the e-mail server and the
delivery log, through the test client with real forms and CSRF tokens."""

from __future__ import annotations

import json
import re

import pytest

from app.services import channels, notifications, smtp
from tests.conftest import csrf_token, post_form
from tests.targets import TargetServer

LIST = "/notifications/channels"


@pytest.fixture
def target():
    with TargetServer() as server:
        yield server


def in_app(client, call, *args, **kwargs):
    with client.application.app_context():
        return call(*args, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def test_pages_need_a_signed_in_admin(client, admin):
    for path in (
        LIST,
        "/notifications/channels/new/webhook",
        "/notifications/log",
        "/notifications/smtp",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/notifications/channels/1/test").status_code in (302, 400)


def test_the_empty_list_explains_channels_and_the_nav_links_here(logged_in):
    page = text(logged_in.get(LIST))
    assert "No channels yet" in page
    assert re.search(
        r'<a href="/notifications/channels" aria-current="page">Notifications</a>', page
    )
    for kind in ("email", "webhook", "apprise"):
        assert f'href="/notifications/channels/new/{kind}"' in page


def test_a_bad_webhook_url_is_shown_inline_and_keeps_the_input(logged_in):
    response = post_form(
        logged_in,
        "/notifications/channels/new/webhook",
        {"name": "Hook", "url": "ftp://example.com/x", "headers": "X-Team: ops", "enabled": "y"},
    )
    assert response.status_code == 422
    page = text(response)
    [url_input] = re.findall(r'<input[^>]*id="url"[^>]*>', page)
    assert 'aria-invalid="true"' in url_input and "url-error" in url_input
    assert 'id="url-error"' in page and "Enter a full http:// or https:// address" in page
    assert 'value="Hook"' in page and "X-Team: ops" in page
    assert in_app(logged_in, channels.list_channels) == []


def test_a_bad_apprise_url_and_bad_addresses_are_shown_inline(logged_in):
    response = post_form(
        logged_in, "/notifications/channels/new/apprise", {"name": "A", "url": "nope://x"}
    )
    assert response.status_code == 422 and "Apprise does not read this URL" in text(response)
    response = post_form(
        logged_in, "/notifications/channels/new/email", {"name": "M", "addresses": "ops@, x"}
    )
    assert response.status_code == 422
    assert "ops@ is not an e-mail address" in text(response)


def test_create_edit_and_delete_a_webhook_channel(logged_in, target):
    url = target.route("/hook", status=200)
    response = post_form(
        logged_in,
        "/notifications/channels/new/webhook",
        {"name": "Ops", "url": url, "secret": "s3cret", "enabled": "y", "is_default": "y"},
    )
    assert response.status_code == 302 and response.headers["Location"] == LIST
    [channel] = in_app(logged_in, channels.list_channels)
    page = text(logged_in.get(LIST))
    assert "Channel Ops added." in page and ">default<" in page and url in page
    assert "s3cret" not in page

    edit = f"/notifications/channels/{channel.id}/edit"
    form = text(logged_in.get(edit))
    assert "A secret is set" in form and "s3cret" not in form
    response = post_form(logged_in, edit, {"name": "Ops team", "url": url, "enabled": "y"})
    assert response.status_code == 302
    saved = in_app(logged_in, channels.get, channel.id)
    assert saved.name == "Ops team" and saved.is_default is False
    assert saved.config["secret"] == "s3cret"  # left empty: kept

    response = post_form(
        logged_in, f"/notifications/channels/{channel.id}/delete", {}, form_path=edit
    )
    assert response.status_code == 302
    assert in_app(logged_in, channels.list_channels) == []
    assert "Channel Ops team deleted." in text(logged_in.get(LIST))


def test_delete_asks_for_confirmation_and_requires_the_token(logged_in):
    channel = in_app(
        logged_in, channels.create, {"name": "M", "kind": "email", "addresses": "a@example.com"}
    )
    page = text(logged_in.get(LIST))
    assert re.search(r'action="/notifications/channels/\d+/delete"\s+data-confirm="Delete', page)
    response = logged_in.post(f"/notifications/channels/{channel.id}/delete")
    assert response.status_code == 400
    assert in_app(logged_in, channels.get, channel.id).name == "M"


def test_send_test_shows_the_result_in_place(logged_in, target):
    url = target.route("/hook", status=204)
    channel = in_app(logged_in, channels.create, {"name": "Ops", "kind": "webhook", "url": url})
    token = csrf_token(logged_in, LIST)
    response = logged_in.post(
        f"/notifications/channels/{channel.id}/test",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    fragment = text(response)
    assert "Test sent in" in fragment and "<html" not in fragment
    assert json.loads(target.requests[0].body)["event"] == "test"

    target.route("/hook", status=500, body="nope")
    fragment = text(
        logged_in.post(
            f"/notifications/channels/{channel.id}/test",
            data={"csrf_token": token},
            headers={"HX-Request": "true"},
        )
    )
    assert "Test failed: HTTP 500: nope" in fragment


def refused_under_strict(client) -> str:
    """A URL the target policy refuses when sending (not when saving: it is a name)."""
    client.application.config["TARGET_POLICY"] = "strict"
    return "http://localhost/"


def test_send_test_without_javascript_flashes_the_result(logged_in, target):
    channel = in_app(
        logged_in,
        channels.create,
        {"name": "Ops", "kind": "webhook", "url": refused_under_strict(logged_in)},
    )
    response = post_form(
        logged_in,
        f"/notifications/channels/{channel.id}/test",
        {},
        form_path=LIST,
        follow_redirects=True,
    )
    assert "The test through Ops failed: Refused by the target policy" in text(response)


def test_apprise_urls_are_shown_without_their_tokens(logged_in):
    post_form(
        logged_in,
        "/notifications/channels/new/apprise",
        {"name": "Slack", "url": "slack://TokenA/TokenB/TokenC", "enabled": "y"},
    )
    page = text(logged_in.get(LIST))
    assert "slack://T...A/T...B/T...C" in page and "TokenB" not in page
    [channel] = in_app(logged_in, channels.list_channels)
    edit = f"/notifications/channels/{channel.id}/edit"
    assert "TokenB" not in text(logged_in.get(edit))
    assert (
        post_form(logged_in, edit, {"name": "Slack ops", "url": "", "enabled": "y"}).status_code
        == 302
    )
    assert in_app(logged_in, channels.get, channel.id).config["url"] == (
        "slack://TokenA/TokenB/TokenC"
    )


def test_the_delivery_log_pages_and_filters(logged_in):
    channel = in_app(
        logged_in,
        channels.create,
        {"name": "Ops", "kind": "webhook", "url": refused_under_strict(logged_in)},
    )
    assert "Nothing has been sent yet" in text(logged_in.get("/notifications/log"))
    for _ in range(3):
        in_app(logged_in, channels.send_test, channel.id)
    page = text(logged_in.get("/notifications/log?per_page=2"))
    assert page.count("Test message for the channel Ops") == 2
    assert "Page 1 of 2" in page and 'rel="next"' in page
    assert "Refused by the target policy" in page
    assert page.count('<span class="status status-failed">failed</span>') == 2
    second = text(logged_in.get("/notifications/log?per_page=2&page=2"))
    assert second.count("Test message for the channel Ops") == 1
    none = text(logged_in.get("/notifications/log?status=sent"))
    assert "No deliveries match" in none
    assert logged_in.get("/notifications/log?status=bogus").status_code == 400


def test_smtp_settings_from_the_dashboard(logged_in):
    page = text(logged_in.get("/notifications/smtp"))
    assert 'name="host"' in page
    response = post_form(
        logged_in,
        "/notifications/smtp",
        {"host": "smtp example", "security": "starttls", "sender": "nobody"},
    )
    assert response.status_code == 422
    assert "Enter a host name or IP address" in text(response)
    assert "Enter an e-mail address" in text(response)
    response = post_form(
        logged_in,
        "/notifications/smtp",
        {
            "host": "smtp.example.com",
            "security": "tls",
            "username": "alerts",
            "password": "hunter2hunter2",
            "sender": "Upcron <alerts@example.com>",
        },
    )
    assert response.status_code == 302
    described = in_app(logged_in, smtp.describe)
    assert (described["source"], described["port"], described["password_set"]) == (
        "dashboard",
        465,
        True,
    )
    page = text(logged_in.get("/notifications/smtp"))
    assert "hunter2hunter2" not in page and "A password is saved" in page
    response = post_form(
        logged_in, "/notifications/smtp/clear", {}, form_path="/notifications/smtp"
    )
    assert response.status_code == 302
    assert in_app(logged_in, smtp.describe)["configured"] is False


def test_forms_say_why_the_target_policy_refuses_a_destination(logged_in):
    logged_in.application.config["TARGET_POLICY"] = "strict"
    response = post_form(
        logged_in,
        "/notifications/smtp",
        {"host": "[::1]", "security": "none", "sender": "alerts@example.com"},
    )
    assert response.status_code == 422
    assert "The target policy &#39;strict&#39; refuses it: ::1 is a loopback address." in text(
        response
    )
    response = post_form(
        logged_in,
        "/notifications/channels/new/apprise",
        {"name": "A", "url": "json://[::1]:8080/x", "enabled": "y"},
    )
    assert response.status_code == 422
    assert "::1 is a loopback address" in text(response)
    assert in_app(logged_in, channels.list_channels) == []


def test_smtp_from_the_environment_is_read_only(make_app, admin):
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    app = make_app(
        SMTP={
            "host": "mail.internal",
            "port": 25,
            "security": "none",
            "username": "u",
            "password": "env-password",
            "sender": "alerts@example.com",
        }
    )
    client = app.test_client()
    post_form(client, "/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    page = text(client.get("/notifications/smtp"))
    assert "Set by the <code>UPCRON_SMTP_*</code> environment variables" in page
    assert "mail.internal:25" in page and "env-password" not in page and 'name="host"' not in page


def test_log_rows_survive_their_channel(logged_in):
    channel = in_app(
        logged_in,
        channels.create,
        {"name": "Gone", "kind": "webhook", "url": refused_under_strict(logged_in)},
    )
    in_app(logged_in, channels.send_test, channel.id)
    in_app(logged_in, channels.delete, channel.id)
    [entry] = in_app(logged_in, lambda: notifications.list_log().items)
    assert (entry.channel_id, entry.channel_name) == (None, "Gone")
    assert "Gone" in text(logged_in.get("/notifications/log"))
