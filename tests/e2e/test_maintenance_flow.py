"""Plan maintenance in a real browser: the preview of the coming periods follows the typing
and explains a bad schedule, the window is saved and listed, deleted after a confirmation,
and the pages fit a 390px screen in the dark scheme."""

from __future__ import annotations

from playwright.sync_api import expect

from app.services import monitors
from tests.e2e.conftest import screenshot, sign_in


def test_plan_a_recurring_window_with_its_preview(page, live_server, app):
    sign_in(page, live_server, app)
    with app.app_context():
        monitors.create({"name": "Shop", "url": "https://shop.example.com/"})

    page.get_by_role("link", name="Maintenance").click()
    expect(page.get_by_role("heading", name="No maintenance windows yet")).to_be_visible()
    page.get_by_role("link", name="New maintenance window").click()

    page.get_by_label("On a schedule").check()
    preview = page.locator("#maintenance-preview")
    expect(preview).to_contain_text("At 02:00 on Sunday")
    schedule = page.get_by_label("Starts on the cron schedule")
    schedule.fill("")
    schedule.press_sequentially("61 * * * *")
    expect(preview).to_contain_text("minute field: 61 is out of range 0-59")
    schedule.fill("0 3 * * 0")
    page.get_by_label("Lasts (minutes)").fill("90")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    expect(preview).to_contain_text("(Europe/Berlin)")
    expect(preview.locator("li")).to_have_count(5)
    expect(preview.locator("li").first).to_contain_text("03:00 CE")  # CET or CEST
    expect(preview.locator("li").first).to_contain_text("04:30 CE")

    # Saving without a target is refused, with the reason shown.
    page.get_by_label("Title").fill("Weekly database upgrade")
    page.get_by_role("button", name="Create maintenance window").click()
    expect(
        page.get_by_text("Choose at least one monitor, heartbeat, cron job, group or tag.")
    ).to_be_visible()
    expect(page.get_by_label("Starts on the cron schedule")).to_have_value("0 3 * * 0")
    page.get_by_label("Shop").check()
    screenshot(page, "maintenance-form")
    page.get_by_role("button", name="Create maintenance window").click()
    expect(page.get_by_text("Maintenance window Weekly database upgrade created.")).to_be_visible()
    row = page.locator("table.windows tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("scheduled")
    expect(row).to_contain_text("0 3 * * 0")

    # Narrow and dark: nothing scrolls sideways.
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "maintenance-list-dark-390")
    page.get_by_role("link", name="Weekly database upgrade").click()
    expect(preview.locator("li")).to_have_count(5)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_text("Menu", exact=True).click()  # a phone's navigation is a menu button
    page.get_by_role("link", name="Maintenance", exact=True).click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Weekly database upgrade").click()
    expect(page.get_by_text("Maintenance window Weekly database upgrade deleted.")).to_be_visible()
    expect(page.get_by_role("heading", name="No maintenance windows yet")).to_be_visible()
