"""Create a heartbeat in a real browser, copy its ping URL, ping it from here with a real
HTTP request, and watch its page turn up by its own refresh, with the ping in the log."""

from __future__ import annotations

import urllib.request

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in


def test_create_copy_ping_and_see_it_up(page, live_server, app):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, live_server, app)

    page.get_by_role("link", name="Heartbeats").click()
    expect(page.get_by_role("heading", name="No heartbeats yet")).to_be_visible()
    page.get_by_role("link", name="New heartbeat").click()
    page.get_by_label("Name", exact=True).fill("Nightly backup")
    page.get_by_label("Period", exact=True).fill("0")
    page.get_by_role("button", name="Create heartbeat").click()
    expect(page.locator("#period-error")).to_contain_text("from 1 minute to 365 days")

    page.get_by_label("Period", exact=True).fill("1")
    page.get_by_label("Period unit").select_option("days")
    page.get_by_label("Grace time (minutes)").fill("10")
    page.get_by_role("button", name="Create heartbeat").click()
    expect(page.get_by_text("Heartbeat Nightly backup created.")).to_be_visible()
    status = page.locator("#heartbeat-status .pill")
    expect(status).to_have_text("new")
    expect(page.get_by_text("No pings yet")).to_be_visible()

    ping_url = page.get_by_label("Ping URL").input_value()
    assert ping_url.startswith(live_server + "/ping/")
    copy = page.locator('button[data-copy="ping-url"]')
    copy.click()
    expect(copy).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == ping_url

    with urllib.request.urlopen(ping_url, data=b"backup done: 3 GB", timeout=10) as response:
        assert response.status == 200
    # No reload: the status region refreshes itself, and tells the log to follow.
    expect(status).to_have_text("up", timeout=15_000)
    expect(page.locator("#pings")).to_contain_text("success")
    page.locator("#pings summary").first.click()
    expect(page.locator("#pings pre.body")).to_have_text("backup done: 3 GB")
    screenshot(page, "heartbeat-detail")

    page.get_by_role("button", name="Pause").click()
    expect(status).to_have_text("paused")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="New ping URL").click()
    expect(page.get_by_text("has a new ping URL")).to_be_visible()
    assert page.get_by_label("Ping URL").input_value() != ping_url

    # The list filters as you choose, without leaving the page.
    page.get_by_role("link", name="All heartbeats").click()
    # htmx binds the filter once the page has loaded; a change before that goes unheard.
    page.wait_for_load_state("load")
    page.get_by_label("Status").select_option("up")
    expect(page.get_by_role("heading", name="No heartbeat matches")).to_be_visible()
    assert "state=up" in page.url
    page.get_by_label("Status").select_option("paused")
    expect(page.get_by_role("link", name="Nightly backup")).to_be_visible()
    page.get_by_role("link", name="Nightly backup").click()

    # On a phone the page fits the screen: nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(status).to_have_text("paused")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "heartbeat-detail-phone")
