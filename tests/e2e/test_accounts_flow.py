"""Setup → sign out → sign in → sign out, in a real browser."""

from playwright.sync_api import expect

from tests.e2e.conftest import EMAIL, PASSWORD, screenshot


def test_first_run_setup_login_and_logout(page, live_server):
    page.goto(live_server + "/")
    expect(page).to_have_url(live_server + "/setup")
    expect(page.get_by_role("heading", name="Welcome to Upcron")).to_be_visible()
    screenshot(page, "setup")

    # A weak password is refused inline, and what was typed is kept.
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat password").fill("short")
    page.get_by_role("button", name="Create admin account").click()
    expect(page.locator("#password-error")).to_contain_text("at least 12")
    expect(page.get_by_label("E-mail")).to_have_value(EMAIL)

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create admin account").click()
    expect(page).to_have_url(live_server + "/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text("Your admin account is ready")).to_be_visible()
    screenshot(page, "overview")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server + "/login")
    expect(page.get_by_text("You are signed out.")).to_be_visible()

    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill("a wrong passphrase")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong e-mail or password.")
    screenshot(page, "login")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server + "/")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Admins").click()
    expect(page.get_by_role("cell", name=EMAIL)).to_be_visible()
    screenshot(page, "admins")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server + "/login")

    # The setup page is closed for good.
    page.goto(live_server + "/setup")
    expect(page).to_have_url(live_server + "/login")
