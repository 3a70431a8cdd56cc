"""Every way a request can be wrong gets a JSON 4xx, never a 500, and changes nothing."""

from __future__ import annotations

import pytest

WRITES = [
    ("POST", "/api/monitors"),
    ("PUT", "/api/monitors/{monitor_id}"),
    ("POST", "/api/cron-jobs"),
    ("PUT", "/api/cron-jobs/{cron_job_id}"),
    ("PATCH", "/api/incidents/{incident_id}"),
    ("POST", "/api/incidents/{incident_id}/updates"),
    ("PUT", "/api/settings/history"),
    ("POST", "/api/api-keys"),
]


@pytest.mark.parametrize(("method", "rule"), WRITES)
def test_bodies_that_cannot_be_read(api, root_key, seeded, method, rule):
    path = rule.format(**seeded)
    cases = [
        ({"data": "{not json", "content_type": "application/json"}, 400, "not valid JSON"),
        ({"data": b"\xff\xfe{", "content_type": "application/json"}, 400, "not valid JSON"),
        ({"data": "[" * 100_000, "content_type": "application/json"}, 400, "not valid JSON"),
        ({}, 400, "needs a JSON object"),
        ({"data": "name=x", "content_type": "application/x-www-form-urlencoded"}, 415, "JSON"),
        ({"data": '{"name": "x"}', "content_type": "text/plain"}, 415, "application/json"),
        ({"data": "x" * (1024 * 1024 + 1), "content_type": "application/json"}, 413, "1 MiB"),
        ({"json": ["a", "list"]}, 422, ""),
        ({"json": "text"}, 422, ""),
        ({"data": "null", "content_type": "application/json"}, 422, ""),
    ]
    for kwargs, status, text in cases:
        response = api.call(method, path, root_key, **kwargs)
        assert response.status_code == status, (kwargs.keys(), response.json)
        assert response.is_json and text in response.json["error"]


def test_json_with_a_charset_or_vendor_type_is_accepted(api, root_key):
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = api.post(
            "/api/monitors",
            root_key,
            data='{"name": "x", "url": "https://e.com/"}',
            content_type=content_type,
        )
        assert response.status_code == 201


def test_validation_errors_change_nothing(api, root_key, seeded):
    path = f"/api/monitors/{seeded['monitor_id']}"
    before = api.get(path, root_key).json
    response = api.put(path, root_key, json={"name": "Renamed", "max_redirects": 99})
    assert response.status_code == 422 and list(response.json["fields"]) == ["max_redirects"]
    assert api.get(path, root_key).json == before


def test_unknown_paths_and_methods_are_json(api, root_key):
    response = api.get("/api/nothing-here", root_key)
    assert response.status_code == 404 and response.json == {"error": "Not found."}
    response = api.patch("/api/monitors", root_key, json={})
    assert response.status_code == 405 and response.is_json
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    response = api.post("/api/incidents", root_key, json={})
    assert response.status_code == 405 and response.is_json


@pytest.mark.parametrize(
    "path",
    ["/api/monitors/0", "/api/monitors/-1", "/api/monitors/abc", "/api/monitors/1" + "0" * 30],
)
def test_ids_that_cannot_exist_are_404(api, root_key, path):
    response = api.get(path, root_key)
    assert response.status_code == 404 and response.is_json


def test_ids_beyond_the_key_columns_are_a_clean_404(api, root_key, seeded):
    job = seeded["cron_job_id"]
    for path in (
        "/api/monitors/2147483647",
        "/api/monitors/2147483648",
        "/api/incidents/99999999999",
        f"/api/cron-jobs/{job}/executions/9223372036854775807",
        f"/api/cron-jobs/{job}/executions/9223372036854775808",
    ):
        response = api.get(path, root_key)
        assert response.status_code == 404 and response.is_json, path
    assert api.get("/api/incidents?monitor_id=2147483648", root_key).status_code == 422


def test_query_parameters_are_validated(api, root_key):
    for query in ("page=0", "page=x", "per_page=0", "per_page=500"):
        response = api.get(f"/api/monitors?{query}", root_key)
        assert response.status_code == 422, query
        assert response.json["error"] == "Validation failed"
    assert api.get("/api/incidents?offset=-1", root_key).status_code == 422


def test_nul_characters_are_refused_not_fatal(api, root_key, seeded):
    # PostgreSQL text cannot hold NUL; every backend answers alike, refusing it where the
    # request is decoded (app.web.decoding).
    for path in (
        "/api/monitors?group=a%00b",
        "/api/monitors?search=%00",
        "/api/cron-jobs?group=%00",
    ):
        assert api.get(path, root_key).status_code == 422, path
    for method, path, body in (
        ("POST", "/api/monitors", {"name": "a\x00b", "url": "https://e.com/"}),
        ("POST", "/api/monitors", {"name": "x", "url": "https://e.com/", "headers": {"X": "\x00"}}),
        ("POST", f"/api/incidents/{seeded['incident_id']}/updates", {"message": "a\x00b"}),
        ("POST", "/api/api-keys", {"name": "k", "scopes": ["*\x00"]}),
    ):
        response = api.call(method, path, root_key, json=body)
        assert response.status_code == 422, (path, body)
        assert "NUL character" in response.json["error"]
    response = api.get("/api/monitors", headers={"X-Api-Key": "upk_" + "\x00" * 43})
    assert response.status_code == 401
