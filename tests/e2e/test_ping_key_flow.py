"""The ping key in a real browser: Settings shows it, a slug URL with it creates and pings a
heartbeat over real HTTP, and "New ping key" (after its confirmation) retires the old URL."""

from __future__ import annotations

import urllib.error
import urllib.request

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_slug_urls_with_the_ping_key(page, live_server, app):
    sign_in(page, live_server, app)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/settings/")
    key = page.get_by_label("Ping key").input_value()
    assert len(key) == 22
    expect(page.locator("#ping-key")).to_contain_text(f"{live_server}/ping/{key}/<slug>")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    assert _get(f"{live_server}/ping/{key}/nightly-backup?create=1") == (201, "Created")
    page.goto(live_server + "/heartbeats/")
    page.get_by_role("link", name="nightly-backup").click()
    expect(page.locator("#heartbeat-status .pill")).to_have_text("up")
    expect(page.get_by_text(f"/ping/{key}/nightly-backup")).to_be_visible()

    page.goto(live_server + "/settings/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="New ping key").click()
    assert page.get_by_label("Ping key").input_value() == key  # dismissed: nothing changed
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="New ping key").click()
    expect(page.get_by_text("New ping key made")).to_be_visible()
    new_key = page.get_by_label("Ping key").input_value()
    assert new_key != key
    screenshot(page, "ping-key")
    assert _get(f"{live_server}/ping/{key}/nightly-backup") == (404, "not found")
    assert _get(f"{live_server}/ping/{new_key}/nightly-backup") == (200, "OK")
