"""The response assertions editor of the monitor form, in a real browser: a row added in
place by htmx, Enter in a row's field saves the monitor (rather than adding a row), and
without JavaScript the same button posts the form back with one more row."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in, signed_in_without_javascript


def fill_row(page, index: int, source: str, path: str, op: str, value: str) -> None:
    row = page.get_by_role("group", name=f"Assertion {index}")
    row.get_by_label("Source").select_option(source)
    row.get_by_label("Header or JMESPath").fill(path)
    row.get_by_label("Operator").select_option(op)
    row.get_by_label("Value").fill(value)


def test_add_rows_in_place_and_save_with_enter(page, live_server, app):
    sign_in(page, live_server, app)
    page.goto(live_server + "/monitors/new")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Name").fill("Queue")
    page.get_by_label("URL", exact=True).fill("https://example.com/health")
    fill_row(page, 1, "json", "queue.depth", "lt", "10")
    page.get_by_role("button", name="Add an assertion").click()
    expect(page.get_by_role("group", name="Assertion 2")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    expect(page.get_by_role("group", name="Assertion 1").get_by_label("Value")).to_have_value("10")
    fill_row(page, 2, "header", "X-Version", "exists", "")
    screenshot(page, "monitor-form-assertions")
    page.get_by_role("group", name="Assertion 2").get_by_label("Header or JMESPath").press("Enter")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    expect(page.get_by_text("json queue.depth lt 10")).to_be_visible()
    expect(page.get_by_text("header X-Version exists")).to_be_visible()


def test_without_javascript_the_button_posts_back_one_more_row(browser, live_server, app):
    sign_in(browser.new_page(), live_server, app)
    with signed_in_without_javascript(browser, live_server) as page:
        page.goto(live_server + "/monitors/new")
        page.get_by_label("Name").fill("Queue")
        page.get_by_label("URL", exact=True).fill("https://example.com/health")
        fill_row(page, 1, "status", "", "lt", "400")
        page.get_by_role("button", name="Add an assertion").click()
        fill_row(page, 2, "body", "", "contains", "ok")
        page.get_by_role("button", name="Create monitor").click()
        expect(page.get_by_role("heading", name="Queue")).to_be_visible()
        expect(page.get_by_text("status lt 400")).to_be_visible()
        expect(page.get_by_text('body contains "ok"')).to_be_visible()
