"""Dashboard pages of configuration as code: export downloads, and import as upload →
plan (nothing written) → apply, with every error listed."""

from __future__ import annotations

import html
import io
import json
import re

import sqlalchemy as sa
import yaml

from app.extensions import db
from app.models import Monitor
from app.services import config, monitors
from tests.conftest import csrf_token, post_form

PAGE = "/settings/configuration/"


def setup_items(app) -> None:
    with app.app_context():
        monitors.create(
            {
                "name": "API",
                "url": "https://api.example.com/",
                "auth_username": "probe",
                "auth_password": "hunter2",
            }
        )
        monitors.create({"kind": "heartbeat", "name": "Backup", "period_sec": 3600})


def slugs(app) -> set[str]:
    with app.app_context():
        return set(db.session.execute(sa.select(Monitor.slug)).scalars())


def upload(client, document: dict | bytes, prune: bool = False, source: str = "upcron"):
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    data = {
        "csrf_token": csrf_token(client, PAGE),
        "file": (io.BytesIO(raw), "upcron.json"),
        "source": source,
    }
    if prune:
        data["prune"] = "y"
    return client.post(f"{PAGE}import", data=data, content_type="multipart/form-data")


def test_page_needs_sign_in_and_offers_export_and_import(client, logged_in):
    assert client.application.test_client().get(PAGE).status_code == 302
    page = logged_in.get(PAGE).get_data(as_text=True)
    assert 'aria-current="page">Configuration' in page
    assert "Include secrets" in page and 'type="file"' in page
    assert 'enctype="multipart/form-data"' in page


def test_export_downloads_without_secrets_unless_chosen(app, logged_in):
    setup_items(app)
    response = post_form(logged_in, f"{PAGE}export", {"format": "json"}, form_path=PAGE)
    assert response.status_code == 200
    assert 'attachment; filename="upcron.json"' in response.headers["Content-Disposition"]
    document = json.loads(response.get_data())
    assert {m["slug"] for m in document["monitors"]} == {"api"}
    assert "hunter2" not in response.get_data(as_text=True)

    response = post_form(
        logged_in, f"{PAGE}export", {"format": "yaml", "with_secrets": "y"}, form_path=PAGE
    )
    assert response.headers["Content-Disposition"].endswith('filename="upcron-secrets.yaml"')
    assert yaml.safe_load(response.get_data())["monitors"][0]["auth_password"] == "hunter2"
    # Without the CSRF token nothing is exported.
    assert logged_in.post(f"{PAGE}export", data={"format": "json"}).status_code == 400


def test_upload_shows_the_plan_and_writes_nothing_until_applied(app, logged_in):
    setup_items(app)
    with app.app_context():
        document = config.export_document()
    document["monitors"].append({"slug": "shop", "name": "Shop", "url": "https://shop.test/"})
    document["monitors"][0]["interval_sec"] = 300
    response = upload(logged_in, document)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Create (1)" in page and "shop" in page
    assert "Update (1)" in page and "changes interval_sec" in page
    assert "Unchanged (2)" in page and "Apply this plan" in page
    assert slugs(app) == {"api", "backup"}

    hidden = re.search(r'name="document" type="hidden" value="([^"]*)"', page)
    assert hidden, page
    response = post_form(
        logged_in,
        f"{PAGE}apply",
        {"document": html.unescape(hidden.group(1)), "prune": ""},
        form_path=PAGE,
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "1 created, 1 updated, 0 deleted, 2 unchanged" in response.get_data(as_text=True)
    assert slugs(app) == {"api", "backup", "shop"}
    with app.app_context():
        api = db.session.execute(sa.select(Monitor).where(Monitor.slug == "api")).scalar_one()
        assert api.interval_sec == 300 and api.auth_password == "hunter2"


def test_prune_is_shown_as_deletions_and_a_matching_file_offers_nothing_to_apply(app, logged_in):
    setup_items(app)
    with app.app_context():
        document = config.export_document()
    page = upload(logged_in, document).get_data(as_text=True)
    assert "Nothing would change" in page and "Apply this plan" not in page

    document["monitors"] = []
    page = upload(logged_in, document, prune=True).get_data(as_text=True)
    assert "Delete (1)" in page and "will be deleted" in page
    assert slugs(app) == {"api", "backup"}


def test_invalid_files_list_every_error_and_write_nothing(app, logged_in):
    document = {
        "upcron": 1,
        "monitors": [
            {"slug": "a", "name": "A", "url": "nope"},
            {"slug": "b", "name": "B", "url": "https://b.test/", "interval_sec": 1},
        ],
    }
    response = upload(logged_in, document)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "monitors[a].url" in page and "monitors[b].interval_sec" in page
    assert 'role="alert"' in page
    assert slugs(app) == set()

    for raw in (b"\x00\x01", b"{" * 5000, b"upcron: [1"):
        response = upload(logged_in, raw)
        assert response.status_code == 422
    response = logged_in.post(
        f"{PAGE}import",
        data={"csrf_token": csrf_token(logged_in, PAGE), "source": "upcron"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "Choose a file" in response.get_data(as_text=True)


def test_apply_judges_the_document_again(app, logged_in):
    response = post_form(
        logged_in,
        f"{PAGE}apply",
        {"document": json.dumps({"upcron": 1, "monitors": [{"slug": "x", "name": ""}]})},
        form_path=PAGE,
    )
    assert response.status_code == 422
    assert "monitors[x].name" in response.get_data(as_text=True)
    assert slugs(app) == set()
