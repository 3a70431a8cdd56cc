"""Two-factor sign-in in a real browser: enrol from the settings, then sign in with a code."""

import re
import time

import pyotp
from playwright.sync_api import expect

from tests.e2e.conftest import EMAIL, PASSWORD, screenshot, sign_in
from tests.e2e.test_layout import audit_once


def test_enrol_then_sign_in_with_a_code(page, live_server, app):
    sign_in(page, live_server, app)
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Two-factor").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    expect(page.locator(".qr-code svg")).to_be_visible()
    screenshot(page, "two-factor-enrol")
    totp = pyotp.TOTP(page.locator("#totp-secret").inner_text().replace(" ", ""))

    code_field = page.get_by_label("Code from your authenticator app")
    expect(code_field).to_have_attribute("autocomplete", "one-time-code")
    expect(code_field).to_have_attribute("inputmode", "numeric")
    code_field.fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator("#code-error")).to_contain_text("Wrong code")

    page.get_by_label("Code from your authenticator app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    codes = re.findall(r"[a-z2-7]{5}-[a-z2-7]{5}", page.locator("#recovery-codes").inner_text())
    assert len(codes) == 10
    screenshot(page, "two-factor-recovery-codes")
    problems = audit_once(page, "recovery-codes")
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("You have 10 unused recovery codes.")).to_be_visible()
    screenshot(page, "two-factor-on")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server + "/login/code")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    screenshot(page, "two-factor-sign-in")
    problems += audit_once(page, "login-code")
    assert not problems, "\n".join(problems)
    # The code of the next time step: the current one was used to enrol.
    page.get_by_label("Code from your authenticator app").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(live_server + "/")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # A recovery code, typed in its own field, signs in once.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Use a recovery code instead").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("You signed in with a recovery code; 9 left.")).to_be_visible()
