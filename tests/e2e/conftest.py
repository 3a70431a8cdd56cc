"""Browser tests: Playwright driving Debian's Chromium against a real `upcron web`.

Without a Chromium on the machine these tests are skipped, and the test summary says so
loudly (see ``pytest_terminal_summary`` in tests/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

from app.processes import die_with_parent
from tests.processes import PROJECT, free_port

ARTIFACTS = PROJECT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MISSING_CHROMIUM = "Chromium is not installed: browser tests skipped"


def pytest_collection_modifyitems(config, items):
    """Browser tests are marked, and run on SQLite only: what a page shows comes from the
    services, which the integration tests run on both databases; a browser on each would
    double the slowest part of the suite for nothing it could catch (said in the summary)."""
    kept, dropped = [], []
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            params = getattr(item, "callspec", None)
            if params is not None and params.params.get("database_url") == "postgresql":
                dropped.append(item)
                continue
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        pytest.skip(MISSING_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()


def screenshot(page, name: str) -> None:
    """Keep a picture of a main page as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


EMAIL = "owner@example.com"
PASSWORD = "a long passphrase"


def upcron(command: str, database_url: str, redis_url: str, folder, **env) -> subprocess.Popen:
    """Start `upcron <command>` on the test database and Redis; it dies with the test run."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("UPCRON_")}
    environment.update(
        UPCRON_DATABASE_URL=database_url,
        UPCRON_REDIS_URL=redis_url,
        UPCRON_INSTANCE_DIR=str(folder),
        UPCRON_SECRET_KEY="e2e-secret-key-long-enough",
        **env,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "app", command],
        cwd=PROJECT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="session")
def web_server(database_url, redis_url, tmp_path_factory):
    """`upcron web` (gunicorn) on a free port, on the test database and Redis: started once
    for the whole session (a start costs seconds), as the test wipe leaves it nothing of
    one test's to show the next (its rows and keys are wiped, each test has a browser
    context of its own). Yields the process and its address."""
    port = free_port()
    folder = tmp_path_factory.mktemp("web")
    process = upcron(
        "web", database_url, redis_url, folder, UPCRON_PORT=str(port), UPCRON_WEB_WORKERS="1"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert process.poll() is None, "upcron web exited"
            time.sleep(0.1)
    yield process, f"http://127.0.0.1:{port}"
    stop(process)


@pytest.fixture
def live_server(make_app, web_server):
    """The address of the session's `upcron web`; the rows and keys a test leaves are wiped
    after it."""
    make_app()  # registers the wipe of rows and keys after the test
    process, address = web_server
    assert process.poll() is None, "upcron web exited during an earlier test"
    return address


@pytest.fixture
def worker(live_server, database_url, redis_url, tmp_path):
    """`upcron worker` beside the web server: what is enqueued gets done."""
    process = upcron("worker", database_url, redis_url, tmp_path)
    yield process
    stop(process)


@pytest.fixture
def engine(worker, live_server, database_url, redis_url, tmp_path):
    """A scheduler too, so monitors really get checked; yields the web server's address."""
    process = upcron("scheduler", database_url, redis_url, tmp_path)
    yield live_server
    stop(process)


def sign_in(page, live_server: str, app) -> None:
    """Create the admin and sign in through the login form."""
    from playwright.sync_api import expect

    from app.services import accounts

    with app.app_context():
        accounts.create_admin(EMAIL, PASSWORD)
    page.goto(live_server + "/login")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Signed in: a wide screen shows Sign out, a phone the menu button that holds it.
    signed_in = page.locator(".topbar .signout button, .topbar .nav-menu summary")
    expect(signed_in.filter(visible=True).first).to_be_visible()


@contextmanager
def signed_in_without_javascript(browser, live_server: str):
    """A page of its own browser context with JavaScript off, signed in through the login form
    as the admin ``sign_in`` created; the context is closed afterwards."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server + "/login")
        page.get_by_label("E-mail").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        yield page
    finally:
        context.close()
