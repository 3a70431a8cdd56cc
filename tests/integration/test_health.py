def test_healthz_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_names_what_failed(make_app):
    response = make_app(REDIS_URL="redis://127.0.0.1:1/0").test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body["database"] == "ok"
    assert body["redis"].startswith("error")


def test_redis_test_needs_a_signed_in_admin_or_a_key(client):
    response = client.get("/api/system/redis")
    assert response.status_code == 401
    assert response.get_json()["error"].startswith("Missing API key")


def test_redis_test_reports_latency_and_version(logged_in):
    body = logged_in.get("/api/system/redis").get_json()
    assert body["ok"] is True
    assert body["latency_ms"] >= 0
    assert body["version"].count(".") == 2


def test_unknown_api_paths_and_methods_answer_json(client):
    missing = client.get("/api/no-such-thing")
    assert missing.status_code == 404
    assert missing.get_json() == {"error": "Not found."}
    wrong = client.delete("/api/setup/status")
    assert wrong.status_code == 405
    assert "not allowed" in wrong.get_json()["error"]


def test_unknown_pages_get_a_friendly_page(client, admin):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "text/html" in response.content_type
