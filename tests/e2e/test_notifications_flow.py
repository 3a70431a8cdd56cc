"""Add a webhook channel, send a test (htmx, in place), read the log, delete the channel with
its confirmation prompt: in a real browser against `upcron web`."""

import json

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in
from tests.targets import TargetServer


def test_webhook_channel_send_test_log_and_delete(page, live_server, app):
    with TargetServer() as receiver:
        hook = receiver.route("/hook", status=204)
        sign_in(page, live_server, app)

        page.get_by_role("link", name="Notifications").click()
        expect(page.get_by_role("heading", name="No channels yet")).to_be_visible()
        page.get_by_role("link", name="Webhook").click()
        page.get_by_label("Name").fill("Ops webhook")
        page.get_by_label("Webhook URL").fill("ftp://example.com/")
        page.get_by_role("button", name="Add channel").click()
        expect(page.locator("#url-error")).to_contain_text("http:// or https://")
        expect(page.get_by_label("Name")).to_have_value("Ops webhook")
        screenshot(page, "notifications-channel-form")

        page.get_by_label("Webhook URL").fill(hook)
        page.get_by_label("Signing secret").fill("s3cret")
        page.get_by_label("Default for new monitors and cron jobs").check()
        page.get_by_role("button", name="Add channel").click()
        expect(page.get_by_text("Channel Ops webhook added.")).to_be_visible()

        page.get_by_role("button", name="Send test through Ops webhook").click()
        expect(page.get_by_text("Test sent in")).to_be_visible()
        [request] = receiver.requests
        assert json.loads(request.body)["event"] == "test"
        assert request.headers["x-upcron-signature"].startswith("sha256=")
        screenshot(page, "notifications-channels")

        page.get_by_role("link", name="Delivery log").click()
        expect(
            page.get_by_role("cell", name="Test message for the channel Ops webhook test")
        ).to_be_visible()
        screenshot(page, "notifications-log")

        page.get_by_role("link", name="Channels").click()
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Delete Ops webhook").click()
        expect(page.get_by_text("Channel Ops webhook deleted.")).to_be_visible()
        expect(page.get_by_role("heading", name="No channels yet")).to_be_visible()
