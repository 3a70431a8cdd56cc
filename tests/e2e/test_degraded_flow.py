"""A degraded monitor in a real browser: amber on the overview and on the status page, readable
in the light and the dark theme."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Monitor
from app.services import monitors
from tests.e2e.conftest import screenshot, sign_in

WARNING = "Answered in 2,340 ms, slower than 1,000 ms"


def luminance(rgb: str) -> float:
    channels = [int(part) / 255 for part in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def colours(page, selector: str, background: str) -> tuple[str, str]:
    return page.evaluate(
        "([selector, background]) => [getComputedStyle(document.querySelector(selector)).color,"
        " getComputedStyle(document.querySelector(background)).backgroundColor]",
        [selector, background],
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_degraded_is_amber_and_readable(browser, live_server, app, scheme):
    with app.app_context():
        monitor = monitors.create(
            {"name": "Storefront", "url": "https://shop.example/", "public": True}
        )
        db.session.execute(
            sa.update(Monitor)
            .where(Monitor.id == monitor.id)
            .values(state="degraded", last_warning=WARNING, degraded_kind="slow")
        )
        db.session.commit()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, live_server, app)
        page.goto(live_server + "/?status=degraded")
        row = page.locator("tr.overview-row", has_text="Storefront")
        expect(row.locator(".pill")).to_have_text("degraded")
        expect(row.locator(".warning-note")).to_have_text(WARNING)
        for selector in (".overview-row .pill-degraded", ".overview-row .warning-note"):
            assert contrast(*colours(page, selector, ".table-card")) >= 4.5, selector
        screenshot(page, f"overview-degraded-{scheme}")

        page.goto(live_server + "/status")
        expect(page.locator(".banner")).to_contain_text("Degraded performance")
        pill = page.locator(".item .pill-degraded")
        expect(pill).to_have_text("Degraded performance")
        assert contrast(*colours(page, ".item .pill-degraded", ".items")) >= 4.5
        screenshot(page, f"status-degraded-{scheme}")
    finally:
        context.close()
