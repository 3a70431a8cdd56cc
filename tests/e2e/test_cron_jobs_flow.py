"""Create a cron job in a real browser: the schedule preview follows the typing, a bad
expression is explained inline, and Run now against a local target shows the execution,
carried out by a real `upcron worker`."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in
from tests.targets import TargetServer


def test_preview_inline_errors_and_run_now(page, live_server, app, worker):
    sign_in(page, live_server, app)
    with TargetServer() as target:
        url = target.route("/nightly", body="report sent", headers={"X-Job": "nightly"})

        page.get_by_role("link", name="Cron jobs").click()
        expect(page.get_by_role("heading", name="No cron jobs yet")).to_be_visible()
        page.get_by_role("link", name="New cron job").click()
        preview = page.locator("#schedule-preview")
        expect(preview).to_contain_text("At 02:00 every day")

        # The preview follows the typing, and explains a bad expression next to the field.
        expression = page.get_by_label("Cron expression")
        expression.fill("")
        expression.press_sequentially("61 * * * *")
        expect(preview).to_contain_text("minute field: 61 is out of range 0-59")
        expression.fill("30 5 * * 1")
        expect(preview).to_contain_text("At 05:30 on Monday")
        expect(preview.locator("li")).to_have_count(5)
        expect(preview.locator("li").first).to_contain_text("05:30 UTC")
        zone = page.get_by_label("Time zone")
        zone.fill("America/New_York")
        expect(preview).to_contain_text("(America/New_York)")
        expect(preview.locator("li").first).to_contain_text(" 05:30 E")  # EST or EDT

        page.get_by_label("Name", exact=True).fill("Nightly report")
        page.get_by_label("URL", exact=True).fill(url)
        page.get_by_label("Save response headers and body").check()
        screenshot(page, "cron-job-form")

        # Saving a bad expression is refused, with the message on the field.
        expression.fill("0 0 31 2 *")
        page.get_by_role("button", name="Create cron job").click()
        expect(page.locator("#cron_expr-error")).to_contain_text("This schedule never runs")
        expect(page.get_by_label("Name", exact=True)).to_have_value("Nightly report")

        page.get_by_label("Cron expression").fill("30 5 * * 1")
        page.get_by_role("button", name="Create cron job").click()
        expect(page.get_by_text("Cron job Nightly report created.")).to_be_visible()
        expect(page.get_by_text("No executions yet")).to_be_visible()

        page.get_by_role("button", name="Run now").click()
        expect(page.get_by_text("Nightly report is starting now")).to_be_visible()
        # The worker runs it; the log refreshes itself and shows the execution.
        row = page.locator("#executions tbody tr").first
        expect(row).to_contain_text("ok", timeout=20_000)
        expect(row).to_contain_text("manual")
        expect(row).to_contain_text("200")
        [request] = target.requests
        assert request.target == "/nightly" and "x-upcron-execution-id" in request.headers
        screenshot(page, "cron-job-detail")

        # The log keeps polling, but with no new run it is left alone: focus stays put.
        details = row.get_by_role("link", name="Details")
        details.focus()
        with page.expect_response(lambda r: "seen=" in r.url, timeout=10_000) as poll:
            pass
        assert poll.value.status == 204
        expect(details).to_be_focused()

        details.click()
        expect(page.get_by_role("heading", name="Timings")).to_be_visible()
        expect(page.get_by_role("cell", name="Connect")).to_be_visible()
        expect(page.locator("pre.body")).to_have_text("report sent")
        expect(page.get_by_text("x-job")).to_be_visible()
        screenshot(page, "cron-job-execution")

        page.get_by_role("link", name="Back to Nightly report").click()
        page.get_by_role("button", name="Disable").click()
        expect(page.get_by_text("Nightly report disabled; it will not run.")).to_be_visible()
        expect(page.get_by_role("button", name="Enable")).to_be_visible()
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Delete").click()
        expect(page.get_by_text("Cron job Nightly report deleted")).to_be_visible()
        expect(page.get_by_role("heading", name="No cron jobs yet")).to_be_visible()
