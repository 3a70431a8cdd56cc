"""Bulk actions in a real browser: tick rows and pause them, select a page and then all the
items matching a search, delete many with the typed confirmation, the bar at 390 px, and
the same form without JavaScript."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Monitor
from app.services import monitors
from tests.e2e.conftest import screenshot, sign_in, signed_in_without_javascript


def paused(app) -> dict[str, bool]:
    with app.app_context():
        db.session.remove()
        return {m.name: m.paused for m in db.session.execute(sa.select(Monitor)).scalars()}


def test_tick_rows_pause_them_then_select_all_matching(page, browser, live_server, app):
    sign_in(page, live_server, app)
    with app.app_context():
        for n in range(30):
            monitors.create({"name": f"Shop {n:02}", "url": f"https://s{n}.example.com/"})
        monitors.create({"name": "Blog", "url": "https://blog.example.com/"})

    page.goto(live_server + "/monitors/")
    bar = page.get_by_role("group", name="Bulk actions")
    # The fields of other actions stay out of the way, and so does "all matching" for now.
    expect(bar.get_by_label("Tags")).to_be_hidden()
    expect(bar.get_by_label("Select all 31 matching monitors")).to_be_hidden()
    page.get_by_label("Select Shop 00").check()
    page.get_by_label("Select Shop 02").check()
    expect(bar.locator("[data-bulk-count]")).to_have_text("2 selected.")
    bar.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("Paused 2 monitors.")).to_be_visible()
    rows = page.locator("table.monitors tbody tr")
    expect(rows.filter(has_text="Shop 00").locator(".pill")).to_have_text("paused")
    expect(rows.filter(has_text="Shop 01").locator(".pill")).not_to_have_text("paused")

    # A search, the whole page, then every match on every page.
    page.get_by_label("Search").fill("shop")
    expect(page.get_by_label("Select Blog")).to_have_count(0)
    bar = page.get_by_role("group", name="Bulk actions")
    bar.get_by_label("Select all 25 on this page").check()
    expect(page.get_by_label("Select Shop 24")).to_be_checked()
    everything = bar.get_by_label("Select all 30 matching monitors")
    expect(everything).to_be_visible()
    everything.check()
    expect(bar.locator("[data-bulk-count]")).to_have_text("All 30 matching monitors selected.")
    screenshot(page, "bulk-select-all-matching")
    bar.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("Paused 28 monitors; 2 were already paused.")).to_be_visible()
    state = paused(app)
    assert all(state[f"Shop {n:02}"] for n in range(30)) and not state["Blog"]

    # Deleting more than ten: the number must be typed.
    page.get_by_label("Search").fill("shop")
    bar = page.get_by_role("group", name="Bulk actions")
    bar.get_by_label("Select all 25 on this page").check()
    bar.get_by_label("Select all 30 matching monitors").check()
    bar.get_by_label("Action").select_option("delete")
    bar.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("heading", name="Delete 30 monitors?")).to_be_visible()
    page.get_by_label("Type 30 to confirm").fill("3")
    page.get_by_role("button", name="Delete 30 monitors").click()
    expect(page.get_by_text("Type 30 to confirm.", exact=True)).to_be_visible()
    page.get_by_label("Type 30 to confirm").fill("30")
    page.get_by_role("button", name="Delete 30 monitors").click()
    expect(page.get_by_text("Deleted 30 monitors with their history.")).to_be_visible()
    assert paused(app) == {"Blog": False}

    # Narrow and dark: the bar wraps, nothing scrolls sideways.
    page.goto(live_server + "/monitors/")
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("group", name="Bulk actions").get_by_label("Action").select_option(
        "set_channels"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "bulk-bar-dark-390")

    # Without JavaScript the same form posts the ticked rows.
    with signed_in_without_javascript(browser, live_server) as plain:
        plain.goto(live_server + "/monitors/")
        plain.get_by_label("Select Blog").check()
        plain.get_by_label("Action").select_option("pause")
        plain.get_by_role("button", name="Apply to selected").click()
        expect(plain.get_by_text("Paused 1 monitor.")).to_be_visible()
    assert paused(app) == {"Blog": True}
