"""Tags in a real browser: typed on a monitor's form, shown as chips with their colour,
filtering the list, recoloured in Settings → Tags; the pages fit a 390px screen, dark too."""

from __future__ import annotations

from playwright.sync_api import expect

from app.services import monitors
from tests.e2e.conftest import screenshot, sign_in


def wait_for_dot(page, selector: str, colour: str) -> None:
    """Until the first chip matching ``selector`` shows its dot in ``colour`` (the sheet
    may still be loading when the page's text is already there)."""
    page.wait_for_function(
        "([selector, colour]) => getComputedStyle(document.querySelector(selector), "
        "'::before').backgroundColor === colour",
        arg=[selector, colour],
        timeout=5000,
    )


def test_tag_items_filter_by_tag_and_recolour_it(page, live_server, app):
    sign_in(page, live_server, app)
    with app.app_context():
        monitors.create({"name": "Billing", "url": "https://billing.example.com/"})
        shop = monitors.create({"name": "Shop", "url": "https://shop.example.com/"})

    page.goto(f"{live_server}/monitors/{shop.id}/edit")
    page.get_by_label("Tags").fill("prod, db")
    page.get_by_role("button", name="Save").click()
    chips = page.locator(".item-tags .tag-chip")
    expect(chips).to_have_text(["db", "prod"])
    # The chip's dot takes the tag's colour from the colour sheet (no inline styles).
    wait_for_dot(page, ".item-tags .tag-chip", "rgb(130, 80, 223)")  # the palette's second

    page.goto(f"{live_server}/monitors/")
    page.get_by_label("Tag", exact=True).select_option("prod")
    rows = page.locator("table.monitors tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Shop")
    expect(page).to_have_url(f"{live_server}/monitors/?q=&state=&tag=prod")  # shareable
    page.locator("table.monitors .tag-chip", has_text="db").click()
    expect(page.get_by_label("Tag", exact=True)).to_have_value("db")

    page.goto(f"{live_server}/settings/tags/")
    row = page.locator("tr", has=page.locator(".tag-chip", has_text="db"))
    expect(row).to_contain_text("1 item")
    row.get_by_label("Colour").fill("#ff0000")
    row.get_by_role("button", name="Save db").click()
    expect(page.get_by_text("Tag db saved.")).to_be_visible()
    wait_for_dot(page, f"#{row.get_attribute('id')} .tag-chip", "rgb(255, 0, 0)")

    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "tags-settings-dark-390")
    page.goto(f"{live_server}/monitors/?tag=prod")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
