"""Import a configuration file in a real browser: upload, read the plan (nothing written
yet), apply it, see the result; the pages fit a 390px screen."""

from __future__ import annotations

import json

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Monitor
from app.services import config, monitors
from tests.e2e.conftest import screenshot, sign_in


def test_upload_a_file_read_the_plan_and_apply_it(page, live_server, app, tmp_path):
    sign_in(page, live_server, app)
    with app.app_context():
        monitors.create({"name": "API", "url": "https://api.example.com/"})
        document = config.export_document()
    document["monitors"][0]["interval_sec"] = 300
    document["monitors"].append({"slug": "shop", "name": "Shop", "url": "https://shop.test/"})
    path = tmp_path / "upcron.json"
    path.write_text(json.dumps(document))

    page.goto(f"{live_server}/settings/configuration/")
    expect(page.get_by_role("heading", name="Import")).to_be_visible()
    page.get_by_label("Configuration file").set_input_files(str(path))
    page.get_by_role("button", name="Show the plan").click()

    expect(page.get_by_role("heading", name="Import plan")).to_be_visible()
    expect(page.get_by_role("heading", name="Create (1)")).to_be_visible()
    expect(page.get_by_text("changes interval_sec")).to_be_visible()
    with app.app_context():
        assert db.session.execute(sa.select(Monitor.slug)).scalars().all() == ["api"]

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "config-import-plan-390")
    page.get_by_role("button", name="Apply this plan").click()

    expect(page.get_by_role("status")).to_contain_text("1 created, 1 updated, 0 deleted")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    with app.app_context():
        rows = {m.slug: m for m in db.session.execute(sa.select(Monitor)).scalars()}
        assert set(rows) == {"api", "shop"} and rows["api"].interval_sec == 300
