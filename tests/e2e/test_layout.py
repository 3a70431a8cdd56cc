"""Every page and form at a phone's and a desktop's width (390 and 1366 px), light and
dark: nothing scrolls sideways, the navigation stays small on a phone, axe-core finds no
serious or critical violation (every page in light and in dark), and a screenshot of each
page at both widths is kept in tests/artifacts/.

One browser context visits every page once and sees it at each width in each scheme,
resized and switched in place (the layout and the colours are CSS media queries, so no
reload is needed); problems are collected and reported together, so one run shows all of
them.

axe-core 4.14.1 (MPL-2.0) is vendored in tests/e2e/vendor/ with its licence.
"""

from __future__ import annotations

import json
import re
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import CheckResult, CronExecution, Monitor
from app.services import (
    accounts,
    api_keys,
    channels,
    cron_jobs,
    incidents,
    maintenance,
    monitors,
    tags,
)
from tests.e2e.conftest import ARTIFACTS, EMAIL, PASSWORD

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
# A phone's and a desktop's width, each in both schemes, ending on the desktop in light.
VIEWS = ((390, "light"), (390, "dark"), (1366, "dark"), (1366, "light"))
PHONE_HEIGHT = 844
# axe runs on every page once in each scheme, and once in each layout (the menu button on a
# phone, the row of links on a desktop): contrast differs by scheme, structure by layout,
# neither between neighbouring widths.
AXE_RUNS = {(390, "dark"), (1366, "light")}
NAV_SHARE_MAX = 0.15
# A configuration file whose plan creates a tag and a monitor (the import's plan page).
DOCUMENT = json.dumps(
    {
        "upcron": 1,
        "tags": [{"name": "imported", "colour": "#8250df"}],
        "monitors": [{"slug": "imported", "name": "Imported", "url": "https://a.example.com/"}],
    }
).encode()

# The elements wider than the screen, named so a failure says where to look.
_OVERFLOWING = """() => {
  const width = innerWidth;
  return [...document.querySelectorAll('body *')]
    .filter(node => node.getBoundingClientRect().right > width + 0.5
                    && node.getClientRects().length)
    .slice(-5)
    .map(node => node.tagName.toLowerCase() + (node.id ? '#' + node.id : '')
                 + (node.className && typeof node.className === 'string'
                    ? '.' + node.className.trim().split(/\\s+/).join('.') : '')
                 + ' ' + Math.round(node.getBoundingClientRect().right - width) + 'px');
}"""

# Rows of buttons whose buttons differ in height, and the sizes of the cards' headings.
_UNEVEN = """() => {
  const visible = node => node.getClientRects().length > 0;
  const rows = '.actions, .form-actions, .page-head, .copy-row, .secret-row, .choices li';
  const uneven = [...document.querySelectorAll(rows)].filter(row => {
    const heights = new Set([...row.querySelectorAll('button:not(.link), a.button')]
      .filter(button => visible(button) && button.closest(rows) === row)
      .map(button => Math.round(button.getBoundingClientRect().height)));
    return heights.size > 1;
  }).map(row => row.className + ' ' + row.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40));
  const sizes = new Set([...document.querySelectorAll('.card h2')].filter(visible)
    .map(heading => getComputedStyle(heading).fontSize));
  return {uneven, sizes: [...sizes]};
}"""

_AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3)
         .map(n => n.target.join(' ')).join(' | '));
}"""


def seed(app) -> dict[str, str]:
    """One of everything a page can show; returns the pages to visit by name."""
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        tags.create({"name": "prod", "colour": "#1f6feb"})
        channel = channels.create(
            {"name": "Ops mail", "kind": "email", "addresses": "ops@example.com"}
        )
        monitor = monitors.create(
            {
                "name": "Shop front with a rather long name to see how it wraps",
                "url": "https://shop.example.com/health/and/a/long/path/that/goes/on",
                "group": "Production",
                "tags": ["prod"],
                "channels": [channel.id],
            }
        )
        heartbeat = monitors.create(
            {"kind": "heartbeat", "name": "Nightly backup", "period_sec": 86400}
        )
        job = cron_jobs.create(
            {"name": "Report", "url": "https://ops.example.com/report", "cron_expr": "0 2 * * *"}
        )
        execution = CronExecution(
            cron_job_id=job.id,
            execution_uid=str(uuid.uuid4()),
            planned_at=now - timedelta(hours=1),
            started_at=now - timedelta(hours=1),
            duration_ms=42,
            outcome="ok",
            status_code=200,
            response_headers={"Content-Type": "text/plain"},
            response_body="done",
            total_us=42000,
        )
        db.session.add(execution)
        for minutes, outcome in ((3, "ok"), (2, "failed_http_status"), (1, "ok")):
            at = now - timedelta(minutes=minutes)
            db.session.add(
                CheckResult(
                    monitor_id=monitor.id,
                    planned_at=at,
                    started_at=at,
                    outcome=outcome,
                    status_code=200 if outcome == "ok" else 500,
                    total_us=12000 * minutes,
                )
            )
        resolved = incidents.open_incident(
            monitor_id=monitor.id,
            title="Shop is down",
            cause="HTTP 500",
            now=now - timedelta(hours=2),
        )
        incidents.resolve_open(
            message="Shop is up again", now=now - timedelta(hours=1), monitor_id=monitor.id
        )
        incidents.open_incident(
            cron_job_id=job.id, title="Cron job Report is failing", cause="timeout", now=now
        )
        db.session.commit()
        window = maintenance.create(
            {
                "title": "Upgrade",
                "starts_at": now + timedelta(days=1),
                "ends_at": now + timedelta(days=1, hours=1),
                "monitor_ids": [monitor.id],
            }
        )
        api_keys.create({"name": "deploy", "scopes": ["monitors:read"]})
        ids = {
            "monitor": monitor.id,
            "heartbeat": heartbeat.id,
            "job": job.id,
            "execution": execution.id,
            "incident": resolved.id,
            "window": window.id,
            "channel": channel.id,
        }
    return {
        "overview": "/",
        "monitors": "/monitors/",
        "monitor": f"/monitors/{ids['monitor']}",
        "monitor-new": "/monitors/new",
        "monitor-edit": f"/monitors/{ids['monitor']}/edit",
        "heartbeats": "/heartbeats/",
        "heartbeat": f"/heartbeats/{ids['heartbeat']}",
        "heartbeat-new": "/heartbeats/new",
        "heartbeat-edit": f"/heartbeats/{ids['heartbeat']}/edit",
        "cron-jobs": "/cron-jobs/",
        "cron-job": f"/cron-jobs/{ids['job']}",
        "cron-job-new": "/cron-jobs/new",
        "cron-job-edit": f"/cron-jobs/{ids['job']}/edit",
        "execution": f"/cron-jobs/{ids['job']}/executions/{ids['execution']}",
        "incidents": "/incidents/",
        "incident": f"/incidents/{ids['incident']}",
        "maintenance": "/maintenance/",
        "maintenance-new": "/maintenance/new",
        "maintenance-edit": f"/maintenance/{ids['window']}/edit",
        "notifications": "/notifications/",
        "channel-email": "/notifications/channels/new/email",
        "channel-webhook": "/notifications/channels/new/webhook",
        "channel-apprise": "/notifications/channels/new/apprise",
        "channel-edit": f"/notifications/channels/{ids['channel']}/edit",
        "smtp": "/notifications/smtp",
        "delivery-log": "/notifications/log",
        "status-page-settings": "/settings/status-page",
        "api-keys": "/api-keys/",
        "api-docs": "/api/docs",
        "settings": "/settings/",
        "tags": "/settings/tags/",
        "configuration": "/settings/configuration/",
        "admins": "/settings/admins",
        "password": "/account/password",
        "two-factor": "/account/two-factor",
        "system": "/system/",
    }


def show(page, width: int, scheme: str) -> None:
    """Resize the page and switch its colour scheme in place: the layout and the colours
    follow from CSS media queries alone, so a page needs no reload to be seen either way."""
    page.set_viewport_size({"width": width, "height": PHONE_HEIGHT if width < 768 else 900})
    page.emulate_media(color_scheme=scheme)


class Audit:
    """What the pages showed wrong, each seen in every one of ``views`` (width, scheme).

    Each page is loaded once and then seen at each width in each scheme; the views end on the
    desktop in light, where the flows between pages go on."""

    def __init__(self, views=VIEWS):
        self.views = views
        self.problems: list[str] = []

    def check(self, page, name: str) -> None:
        for width, scheme in self.views:
            show(page, width, scheme)
            self._check_view(page, name, width, scheme)

    def _check_view(self, page, name: str, width: int, scheme: str) -> None:
        where = f"{name} at {width} px {scheme}"
        overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
        if overflow > 0:
            culprits = ", ".join(page.evaluate(_OVERFLOWING))
            self.problems.append(f"{where}: scrolls {overflow} px sideways ({culprits})")
        if width == 390:
            height = page.evaluate(
                "(document.querySelector('.topbar') || {getBoundingClientRect: () =>"
                " ({height: 0})}).getBoundingClientRect().height"
            )
            if height > NAV_SHARE_MAX * PHONE_HEIGHT:
                self.problems.append(f"{where}: the top bar is {height:.0f} px high")
        if width == 1366 and scheme == "light":
            rows = page.evaluate(
                "new Set([...document.querySelectorAll('.nav-wide nav a')]"
                ".map(a => Math.round(a.getBoundingClientRect().top))).size"
            )
            if rows > 1:
                self.problems.append(f"{where}: the navigation wraps onto {rows} rows")
            found = page.evaluate(_UNEVEN)
            for row in found["uneven"]:
                self.problems.append(f"{where}: buttons of uneven height in {row}")
            if len(found["sizes"]) > 1:
                self.problems.append(f"{where}: card headings in sizes {found['sizes']}")
        if (width, scheme) in AXE_RUNS:
            if not page.evaluate("typeof axe !== 'undefined'"):
                page.evaluate(AXE)
            for violation in page.evaluate(_AXE_RUN):
                self.problems.append(f"{where}: axe {violation}")
        if scheme == "light":
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            # The API reference runs to tens of screens: its first screen shows its layout.
            page.screenshot(
                path=str(ARTIFACTS / f"page-{name}-{width}.png"),
                full_page=name != "api-docs",
            )


def audit_once(page, name: str) -> list[str]:
    """The checks of a page a flow reaches only once (recovery codes, the sign-in code): in
    the two layouts and schemes axe runs in, on the flow's own page."""
    audit = Audit(sorted(AXE_RUNS))
    audit.check(page, name)
    return audit.problems


@contextmanager
def desktop_page(browser):
    """A page of a browser context of its own, closed afterwards."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, f"{url} answered {response and response.status}"
    page.wait_for_load_state("load")


def test_every_dashboard_page_fits_every_screen_and_passes_axe(browser, live_server, make_app):
    app = make_app()
    pages = seed(app)
    with app.app_context():
        accounts.create_admin(EMAIL, PASSWORD)
    audit = Audit()
    with desktop_page(browser) as page:
        page.goto(live_server + "/login")
        page.get_by_label("E-mail").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("h1")).to_have_text("Overview")
        for name, path in pages.items():
            visit(page, live_server + path)
            audit.check(page, name)
        # Each kind of monitor shows its own fields; each must fit as well.
        visit(page, live_server + pages["monitor-new"])
        for kind in ("keyword", "tcp", "dns", "ping"):
            page.get_by_label("Check", exact=True).select_option(kind)
            expect(page.locator("#kind-fields")).to_have_attribute("data-kind", kind)
            audit.check(page, f"monitor-new-{kind}")
        # The heartbeat form with a cron schedule shows its own fields and preview.
        visit(page, live_server + pages["heartbeat-new"])
        expect(page.get_by_label("Cron expression")).to_be_hidden()
        page.get_by_label("On a cron schedule").check()
        expect(page.get_by_label("Period", exact=True)).to_be_hidden()
        page.get_by_label("Cron expression").fill("0 2 * * *")
        expect(page.locator("#schedule-preview li").first).to_be_visible()
        audit.check(page, "heartbeat-new-cron")
        # Every form's errors, shown inline, must fit too.
        for name in ("monitor-new", "cron-job-new", "heartbeat-new", "maintenance-new"):
            visit(page, live_server + pages[name])
            page.locator("main form button[type=submit]").last.click()
            page.wait_for_load_state("load")
            audit.check(page, f"{name}-errors")
        # Pages only a form leads to: a new key's secret, a bulk delete's confirmation, an
        # import's plan; and the page of an address that does not exist.
        visit(page, live_server + pages["api-keys"])
        page.get_by_label("Name", exact=True).fill("ci")
        page.get_by_label("monitors:read").check()
        page.get_by_role("button", name="Create key").click()
        expect(page.locator("h1")).to_contain_text("key")
        audit.check(page, "api-key-created")
        visit(page, live_server + pages["monitors"])
        page.locator("input[data-select-row]").first.check()
        page.get_by_label("Action").select_option("delete")
        page.get_by_role("button", name="Apply to selected").click()
        page.wait_for_load_state("load")
        audit.check(page, "bulk-delete-confirmation")
        visit(page, live_server + pages["configuration"])
        page.get_by_label("Configuration file").set_input_files(
            files=[{"name": "upcron.json", "mimeType": "application/json", "buffer": DOCUMENT}]
        )
        page.get_by_role("button", name=re.compile("plan", re.I)).click()
        expect(page.get_by_role("button", name="Apply this plan")).to_be_visible()
        audit.check(page, "configuration-plan")
        assert page.goto(live_server + "/no-such-page").status == 404
        audit.check(page, "not-found")
    assert not audit.problems, "\n".join(audit.problems)


def test_public_pages_fit_every_screen_and_pass_axe(browser, live_server, make_app):
    app = make_app()
    audit = Audit()
    with desktop_page(browser) as page:
        visit(page, live_server + "/setup")
        audit.check(page, "setup")
        page.get_by_label("Password", exact=True).fill("short")
        page.get_by_label("Repeat password").fill("other")
        page.get_by_role("button", name="Create admin account").click()
        expect(page.locator("#password-error")).to_be_visible()
        audit.check(page, "setup-errors")
    with app.app_context():
        accounts.create_admin(EMAIL, PASSWORD)
        monitors.create(
            {"name": "Website", "url": "https://www.example.com/", "public": True, "group": "Core"}
        )
    with desktop_page(browser) as page:
        for name, path in (("login", "/login"), ("status", "/status")):
            visit(page, live_server + path)
            audit.check(page, name)
    assert not audit.problems, "\n".join(audit.problems)


@pytest.mark.parametrize("javascript", [True, False])
def test_the_phone_menu_names_the_section_and_opens(browser, live_server, app, javascript):
    """The menu works with and without script; the tab's icon follows the overall state
    across a boosted navigation too (htmx swaps only the body: the icon comes out of band)."""
    with app.app_context():
        accounts.create_admin(EMAIL, PASSWORD)
        monitor_id = monitors.create({"name": "Shop", "url": "https://shop.example.com/"}).id
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, java_script_enabled=javascript
    )
    page = context.new_page()
    try:
        page.goto(live_server + "/login")
        page.get_by_label("E-mail").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(live_server + "/heartbeats/")
        menu = page.locator("details.nav-menu summary")
        expect(menu).to_have_text("Menu Heartbeats")
        icon = page.locator("link#favicon-svg")
        expect(icon).to_have_attribute("href", re.compile(r"/static/favicon-up\.\w+\.svg"))
        with app.app_context():
            db.session.execute(
                sa.update(Monitor).where(Monitor.id == monitor_id).values(state="down")
            )
            db.session.commit()
        links = page.get_by_role("navigation", name="Main").get_by_role("link")
        expect(links.first).to_be_hidden()
        menu.click()
        expect(page.get_by_role("link", name="Cron jobs")).to_be_visible()
        expect(page.get_by_role("link", name="Heartbeats")).to_have_attribute(
            "aria-current", "page"
        )
        if javascript:
            page.evaluate("window.stayed = true")  # survives a boosted navigation only
        page.get_by_role("link", name="Notifications").click()
        expect(page.locator("h1")).to_have_text("Notifications")
        expect(page.locator("details.nav-menu summary")).to_have_text("Menu Notifications")
        expect(icon).to_have_attribute("href", re.compile(r"/static/favicon-down\.\w+\.svg"))
        if javascript:
            assert page.evaluate("window.stayed === true"), "the navigation was not boosted"
    finally:
        context.close()
