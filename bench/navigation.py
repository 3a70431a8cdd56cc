"""Moving between the dashboard's sections in a real browser: full page loads against
htmx-boosted ones (the navigation's links fetched by htmx and swapped into the body).

`upcron web` (gunicorn) runs on SQLite with a few hundred monitors; Chromium (Playwright)
signs in and goes through the main navigation's links, round after round, both ways in
turn: a full load of each link's page (the stylesheet and scripts come from the browser's
cache, being served under content-hashed names as immutable), and a click on the link with
``hx-boost`` on every link of the navigation. The dashboard boosts the links that measure
faster that way and loads the others in full (``full_loads`` in base.html). A navigation is
timed until the new page's heading is there: the ``load`` event for a full load, htmx's
``afterSettle`` for a boosted one.

Run: `.venv/bin/python bench/navigation.py [--monitors 300] [--rounds 5]`.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (  # noqa: E402
    app_env,
    bench_app,
    embedded_redis,
    free_port,
    insert_monitors,
    percentile,
)

EMAIL = "bench@example.com"
PASSWORD = "a long bench passphrase"
SECTIONS = (
    "Monitors",
    "Heartbeats",
    "Cron jobs",
    "Incidents",
    "Maintenance",
    "Notifications",
    "Status page",
    "API keys",
    "Settings",
    "System",
    "Overview",
)
BOOST = """() => {
  const nav = document.querySelector('.nav-wide nav');
  nav.querySelectorAll('[hx-boost]').forEach(link => link.removeAttribute('hx-boost'));
  nav.setAttribute('hx-boost', 'true');
  htmx.process(nav);
  window.settled = new Promise(done =>
    document.addEventListener('htmx:afterSettle', done, {once: true}));
}"""


def serve(database_url: str, redis_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = app_env(database_url, redis_url) | {
        "UPCRON_PORT": str(port),
        "UPCRON_WEB_WORKERS": "2",
        "UPCRON_ACCESS_LOG": "off",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "web"],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}"


def navigate(page, boosted: bool, rounds: int) -> dict[str, list[float]]:
    nav = page.locator(".nav-wide nav")
    timings: dict[str, list[float]] = {section: [] for section in SECTIONS}
    for _ in range(rounds):
        for section in SECTIONS:
            link = nav.get_by_role("link", name=section, exact=True)
            if boosted:
                page.evaluate(BOOST)
                started = time.perf_counter()
                link.click()
                page.evaluate("window.settled")
            else:
                href = link.get_attribute("href")
                started = time.perf_counter()
                page.goto(href)  # what a click on the link does
            page.locator("main h1").first.wait_for()
            timings[section].append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--monitors", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    from app.services import accounts

    folder = Path(tempfile.mkdtemp(prefix="upcron-bench-nav-"))
    database_url = f"sqlite:///{folder / 'bench.db'}"
    with embedded_redis() as redis_url:
        app = bench_app(database_url, redis_url)
        with app.app_context():
            insert_monitors(args.monitors, "https://example.com/")
            accounts.create_admin(EMAIL, PASSWORD)
        process, base = serve(database_url, redis_url)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
                )
                page = browser.new_page(viewport={"width": 1366, "height": 900}, base_url=base)
                page.goto(base + "/login")
                page.get_by_label("E-mail").fill(EMAIL)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_load_state("load")
                navigate(page, boosted=False, rounds=1)  # warm both workers and the cache
                print(f"{args.monitors} monitors, {len(SECTIONS)} sections x {args.rounds}")
                # Alternate the two ways round by round, so a busy moment of a shared
                # machine weighs on both alike.
                full: dict[str, list[float]] = {section: [] for section in SECTIONS}
                boosted: dict[str, list[float]] = {section: [] for section in SECTIONS}
                for _ in range(args.rounds):
                    for way, into in ((False, full), (True, boosted)):
                        for section, values in navigate(page, way, 1).items():
                            into[section].extend(values)
                print(f"{'section':>14}  full load (median, p90)   boosted (median, p90)")
                for section in SECTIONS:
                    print(
                        f"{section:>14}  {percentile(full[section], 50):7.1f} "
                        f"{percentile(full[section], 90):7.1f} ms"
                        f"        {percentile(boosted[section], 50):7.1f} "
                        f"{percentile(boosted[section], 90):7.1f} ms"
                    )
                for name, figures in (("full load", full), ("boosted", boosted)):
                    every = [value for values in figures.values() for value in values]
                    print(
                        f"{name:>14}: median {percentile(every, 50):6.1f} ms, "
                        f"p90 {percentile(every, 90):6.1f} ms, max {max(every):6.1f} ms"
                    )
                browser.close()
        finally:
            process.terminate()
            process.wait(15)


if __name__ == "__main__":
    main()
