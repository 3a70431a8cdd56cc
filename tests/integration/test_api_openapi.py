"""The OpenAPI document against the code: the same routes, methods and scopes, a readable
reference page, and schemathesis finding no server error and no schema violation."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.extensions import db
from app.models import ApiKey
from app.services import api_keys
from app.web.api import openapi


def routes_in_app(app) -> dict[tuple[str, str], str | None]:
    """(method, OpenAPI path) → required scope, for every rule under /api."""
    found = {}
    for rule in app.url_map.iter_rules():
        # The public status JSON (/api/status…) belongs to the status page, not this API.
        if not rule.rule.startswith("/api/") or not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        scope = app.view_functions[rule.endpoint].required_scope
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found[(method.lower(), path)] = scope
    return found


def routes_in_document(document) -> dict[tuple[str, str], str | None]:
    return {
        (method, path): operation["x-required-scope"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    }


def test_document_and_routes_agree(app, client):
    document = client.get("/api/openapi.json").json
    assert document["openapi"] == "3.1.0"
    assert routes_in_document(document) == routes_in_app(app)


def test_document_lists_every_scope_and_path_parameter(client):
    document = client.get("/api/openapi.json").json
    assert set(document["x-scopes"]) == set(api_keys.SCOPES)
    for path, item in document["paths"].items():
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), path


def test_reference_page_is_readable_and_csp_safe(client):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert "<script>" not in html and " style=" not in html
    # Nothing loaded from elsewhere (a word search for "cdn" would also hit random tokens).
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for text in (
        "Insufficient permissions. Required scope: monitors:read",
        "/api/monitors/{monitor_id}/pause",
        "/api/cron-jobs/{cron_job_id}/next-runs",
        "cron-jobs:write",
        "X-RateLimit-Remaining",
        'id="schema-MonitorCreate"',
    ):
        assert text in html, text


# --- schemathesis ------------------------------------------------------------------------

CONFIG = schemathesis.Config.from_dict(
    {
        "phases": {
            "coverage": {"enabled": False},
            "stateful": {"enabled": False},
        },
        "generation": {"max-examples": 5},
    }
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def fuzz_key(api, app):
    """A key holding every scope, kept usable even after a case revokes it."""
    key_id, secret = api.create_key("*", rate_limit_per_sec=1000)

    def unrevoke():
        with app.app_context():
            db.session.execute(db.update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=None))
            db.session.commit()

    return secret, unrevoke


# The document is built without an app, so the schema loads at import and each operation
# becomes its own test; requests go straight into the WSGI app of the test's database.
schema = schemathesis.openapi.from_dict(openapi.document(), config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_document(case, app, seeded, fuzz_key):
    secret, unrevoke = fuzz_key
    unrevoke()
    response = case.call(app=app, headers={"Authorization": f"Bearer {secret}"})
    case.validate_response(response, checks=CHECKS)
