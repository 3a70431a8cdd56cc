"""An uptime monitor from the browser's side, against the real pipeline: `upcron web`, a
scheduler and a worker on the test database and Redis, checking a real HTTP server on
127.0.0.1. The overview and the detail page update themselves (htmx polling): the test marks
the window and checks that no reload happened."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.engine.icmp import unavailable
from tests.e2e.conftest import screenshot, sign_in, signed_in_without_javascript
from tests.targets import TargetServer

# One check every 10 s (the least the service allows) plus one 10-second poll, with room.
LIVE_TIMEOUT_MS = 45_000


def test_a_monitor_comes_up_on_the_overview_and_goes_down_with_an_incident(
    page, browser, engine, app
):
    target = TargetServer()
    try:
        health = target.route("/health", status=200, body="ok")
        sign_in(page, engine, app)
        expect(page.get_by_role("heading", name="No monitors yet — create one")).to_be_visible()
        page.evaluate("window.notReloaded = true")

        # The form, in a second tab; a field is judged as soon as it is left.
        form = page.context.new_page()
        form.goto(engine + "/monitors/new")
        form.get_by_label("Name").fill("Storefront")
        form.get_by_label("URL", exact=True).fill(health)
        form.get_by_label("Check every (seconds)").fill("5")
        form.get_by_label("Check every (seconds)").press("Tab")
        expect(form.locator("#interval_sec-error")).to_contain_text("from 10 to 86400")
        expect(form.get_by_label("Check every (seconds)")).to_have_attribute("aria-invalid", "true")
        screenshot(form, "monitor-form")
        form.get_by_label("Check every (seconds)").fill("10")
        form.get_by_label("Down after this many failed checks").fill("1")
        form.get_by_role("button", name="Create monitor").click()
        expect(form.get_by_text("Monitor Storefront created")).to_be_visible()

        # The overview, never reloaded, shows the new monitor and then its first success.
        row = page.locator("tr.overview-row", has_text="Storefront")
        expect(row).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        expect(row.locator(".pill")).to_have_text("up", timeout=LIVE_TIMEOUT_MS)
        assert page.evaluate("window.notReloaded") is True
        assert target.requests and target.requests[0].target == "/health"
        screenshot(page, "overview")

        # The target stops answering: the detail page turns down and shows the incident.
        form.reload()
        expect(form.locator("#monitor-status .pill").first).to_have_text("up")
        form.evaluate("window.notReloaded = true")
        target.close()
        status = form.locator("#monitor-status")
        expect(status.locator(".pill").first).to_have_text("down", timeout=LIVE_TIMEOUT_MS)
        incident = status.get_by_role("link", name="Storefront")
        expect(incident).to_be_visible()
        assert incident.get_attribute("href").startswith("/incidents/")
        assert form.evaluate("window.notReloaded") is True
        expect(form.get_by_role("img", name="Response time of Storefront")).to_be_visible()
        screenshot(form, "monitor-detail")

        expect(row.locator(".pill")).to_have_text("down", timeout=LIVE_TIMEOUT_MS)
        assert page.evaluate("window.notReloaded") is True
    finally:
        target.close()


def test_monitor_pages_on_a_phone_in_dark_mode(browser, live_server, app):
    """Labelled controls, no sideways scrolling, keyboard focus visible."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, live_server, app)
        page.goto(live_server + "/monitors/new")
        page.get_by_label("Name").fill("Phone check")
        page.get_by_label("URL", exact=True).fill("https://example.com/")
        page.get_by_role("button", name="Create monitor").click()
        expect(page.get_by_role("heading", name="Phone check")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the detail page scrolls sideways ({width}px)"
        page.goto(live_server + "/")
        page.get_by_label("Search").fill("phone")
        page.get_by_label("Search").press("Enter")
        expect(page.locator("tr.overview-row")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.keyboard.press("Tab")
        screenshot(page, "overview-phone-dark")
    finally:
        context.close()


def test_choosing_tcp_swaps_in_host_and_port(page, live_server, app):
    """The kind select replaces the URL and request fields with host, port and TLS, in
    place, and the monitor is saved with them."""
    sign_in(page, live_server, app)
    page.goto(live_server + "/monitors/new")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Name").fill("Database port")
    page.get_by_label("Check", exact=True).select_option("tcp")
    expect(page.get_by_label("Host")).to_be_visible()
    expect(page.get_by_label("URL", exact=True)).to_have_count(0)
    page.get_by_label("Host").fill("db.example.com")
    page.get_by_label("Port").fill("5432")
    page.get_by_label("Complete a TLS handshake too").check()
    assert page.evaluate("window.notReloaded") is True
    page.get_by_role("button", name="Create monitor").click()
    expect(page.get_by_role("heading", name="Database port")).to_be_visible()
    expect(page.get_by_text("db.example.com:5432 over TLS")).to_be_visible()


def test_without_javascript_the_kind_shows_its_fields_and_enter_saves(browser, live_server, app):
    """Without JavaScript the kind's fields come with a button that posts the form back; Enter
    in a field still saves, rather than pressing that button."""
    sign_in(browser.new_page(), live_server, app)
    with signed_in_without_javascript(browser, live_server) as page:
        page.goto(live_server + "/monitors/new")
        page.get_by_label("Check", exact=True).select_option("tcp")
        page.get_by_role("button", name="Show the fields of this kind").click()
        page.get_by_label("Host").fill("db.example.com")
        page.get_by_label("Port").fill("5432")
        page.get_by_label("Name").fill("Database port")
        page.get_by_label("Name").press("Enter")
        expect(page.get_by_role("heading", name="Database port")).to_be_visible()
        expect(page.get_by_text("db.example.com:5432")).to_be_visible()


def test_choosing_dns_swaps_in_the_record_fields(page, live_server, app):
    """The kind select shows host, record type, resolver and expected values in place of
    the request fields, and the monitor is saved with them."""
    sign_in(page, live_server, app)
    page.goto(live_server + "/monitors/new")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Name").fill("Mail exchanger")
    page.get_by_label("Check", exact=True).select_option("dns")
    expect(page.get_by_label("Record type")).to_be_visible()
    expect(page.get_by_label("URL", exact=True)).to_have_count(0)
    expect(page.get_by_label("Port")).to_have_count(0)
    page.get_by_label("Host").fill("example.com")
    page.get_by_label("Record type").select_option("MX")
    page.get_by_label("Resolver").fill("192.0.2.53")
    page.get_by_label("Expected values").fill("10 mail.example.com")
    assert page.evaluate("window.notReloaded") is True
    page.get_by_role("button", name="Create monitor").click()
    expect(page.get_by_role("heading", name="Mail exchanger")).to_be_visible()
    expect(page.get_by_text("MX example.com via 192.0.2.53")).to_be_visible()


@pytest.mark.skipif(
    unavailable() is not None, reason="this machine allows no ICMP socket: nothing can be pinged"
)
def test_choosing_ping_swaps_in_host_packets_and_loss(page, live_server, app):
    """The kind select shows only host, packets and loss allowed in place of the request
    fields, and the monitor is saved with them."""
    sign_in(page, live_server, app)
    page.goto(live_server + "/monitors/new")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Name").fill("Loopback")
    page.get_by_label("Check", exact=True).select_option("ping")
    expect(page.get_by_label("Packets")).to_have_value("3")
    for other in ("URL", "Port", "Record type", "Resolver"):
        expect(page.get_by_label(other, exact=True)).to_have_count(0)
    page.get_by_label("Host").fill("127.0.0.1")
    page.get_by_label("Packets").fill("11")
    page.get_by_label("Loss allowed (%)").fill("50")  # leaving Packets judges it
    expect(page.locator("#packets-error")).to_have_text("Must be a whole number from 1 to 10.")
    page.get_by_label("Packets").fill("2")
    assert page.evaluate("window.notReloaded") is True
    page.get_by_role("button", name="Create monitor").click()
    expect(page.get_by_role("heading", name="Loopback")).to_be_visible()
    expect(page.get_by_text("2 echo requests within 10000 ms, up when at most 50%")).to_be_visible()
