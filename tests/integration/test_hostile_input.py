"""Hostile input on every route: text no database can store is refused where requests are
decoded (``app.web.decoding``), and nothing an attacker sends makes a 5xx or a traceback."""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlencode

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from app.extensions import db
from app.models import Monitor
from app.services import monitors
from tests.conftest import csrf_token

SURROGATE = '"\\ud800"'  # a JSON string holding a lone surrogate


def raw_json(template: dict, **hostile: str) -> str:
    """``template`` as JSON with the given fields set to raw JSON text, e.g. an escape."""
    body = json.dumps({**template, **{name: "@@" + name for name in hostile}})
    for name, text in hostile.items():
        body = body.replace(json.dumps("@@" + name), text)
    return body


def count_rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


# --- what the issue named: lone surrogates on write routes, NUL on public routes ---------

# Each body is valid but for the surrogate in one text field: before the fix it reached SQL.
WRITE_ROUTES = [
    ("POST", "/api/monitors", {"url": "https://example.com/"}, "name"),
    ("PUT", "/api/monitors/{monitor_id}", {}, "name"),
    ("POST", "/api/cron-jobs", {"url": "https://example.com/", "cron_expr": "0 2 * * *"}, "name"),
    ("PUT", "/api/cron-jobs/{cron_job_id}", {}, "name"),
    ("POST", "/api/incidents/{incident_id}/updates", {}, "message"),
    ("POST", "/api/maintenance", {"cron_expr": "0 2 * * *", "duration_min": 5}, "title"),
    ("POST", "/api/notification-channels", {"kind": "email", "addresses": "a@b.example"}, "name"),
    ("PUT", "/api/notification-channels/{channel_id}", {}, "name"),
    ("POST", "/api/api-keys", {"scopes": ["monitors:read"]}, "name"),
    ("PUT", "/api/settings/status-page", {}, "title"),
    ("POST", "/compat/cronhub/api/v1/monitors", {"schedule": "* * * * *"}, "name"),
    ("PUT", "/compat/cron-job-org/jobs", None, None),
    ("POST", "/compat/openuptimes/api/services", {"url": "https://example.com/"}, "name"),
    ("POST", "/compat/setcronjob/api/cron.add", {"url": "https://example.com/"}, "name"),
]


@pytest.mark.parametrize(("method", "path", "template", "field"), WRITE_ROUTES)
def test_lone_surrogate_in_json_is_refused(api, root_key, seeded, method, path, template, field):
    if template is None:  # cron-job.org nests its fields in {"job": {…}}
        body = '{"job": {"url": "https://example.com/", "title": ' + SURROGATE + "}}"
    else:
        body = raw_json(template, **{field: SURROGATE})
    monitors_before = count_rows(api.app, Monitor)

    response = api.call(
        method,
        path.format(**seeded),
        root_key,
        data=body,
        headers={"Content-Type": "application/json", "X-Api-Key": root_key},
    )

    assert response.status_code == 422, response.get_data(as_text=True)
    # cron-job.org answers with a bare status line; its reason rides in a header.
    said = response.get_data(as_text=True) + response.headers.get("X-Upcron-Error", "")
    assert "unpaired surrogate" in said
    assert count_rows(api.app, Monitor) == monitors_before


@pytest.mark.parametrize(
    "path",
    [
        "/api/status/history?serviceName=%00",
        "/badge/a%00b/status.svg",
        "/badge/a%00b/shields.json",
        "/badge/a%00b/uptime.svg",
    ],
)
def test_nul_on_public_routes_is_refused(client, path):
    response = client.get(path)

    assert response.status_code in (400, 422)
    assert "NUL character" in response.get_data(as_text=True)


def test_refusals_speak_each_surface(api, root_key, logged_in):
    # The API: 422 JSON.
    response = api.get("/api/monitors?search=%00", root_key)
    assert response.status_code == 422
    assert response.json["error"].startswith("The field 'search' of the query string contains")
    assert response.json["fields"] == {"search": response.json["error"]}
    # A facade: its own envelope (cronhub's {"success": false, …}).
    response = api.get("/compat/cronhub/api/v1/monitors/a%00b", headers={"X-Api-Key": root_key})
    assert response.status_code == 422 and response.json["success"] is False
    # A page: 400 (htmx would swap a 422 page into a form as its inline errors).
    response = logged_in.get("/monitors/?q=%00")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "NUL character" in response.get_data(as_text=True)
    # A form field: refused before the view or its CSRF check reads it.
    token = csrf_token(logged_in, "/monitors/new")
    response = logged_in.post(
        "/monitors/new", data={"csrf_token": token, "name": "a\x00b", "url": "https://a.example/"}
    )
    assert response.status_code == 400
    assert "The field &#39;name&#39; of the form" in response.get_data(as_text=True)
    # A ping URL: plain text for the script that called it.
    response = api.client.get("/ping/a%00b")
    assert response.status_code == 400 and response.mimetype == "text/plain"


def test_query_of_raw_bytes_that_are_not_utf8_is_refused(client):
    # Werkzeug decodes a query strictly: raw bytes that are not UTF-8 used to raise there.
    response = client.get(
        "/api/status/history", environ_overrides={"QUERY_STRING": "serviceName=\xff"}
    )

    assert response.status_code == 422
    assert response.json["error"] == "The query string is not valid UTF-8."


def test_ping_body_of_nul_and_invalid_utf8_is_stored_safely(app, client):
    with app.app_context():
        code = monitors.create({"kind": "heartbeat", "name": "Job", "cron_expr": "0 0 * * *"}).code

    response = client.post(f"/ping/{code}", data=b"ok\x00\xff\xed\xa0\x80done")

    assert response.status_code == 200
    with app.app_context():
        body = db.session.scalars(db.text("SELECT body FROM pings")).one()
    assert body.startswith("ok") and body.endswith("done") and "\x00" not in body


# --- the walk: every rule, every method, three actors ------------------------------------

# Text an attacker may put wherever the app reads text. In URLs a surrogate can only be
# spelled as the UTF-8 bytes of one, which Werkzeug decodes to U+FFFD like other bytes that
# are not UTF-8; NUL is refused where it is decoded, so it travels alone, and the rest
# together, to reach the views.
LONG = "x" * 100_000
URL_NUL = "a%00b"
URL_TEXT = "%ED%A0%80%FF%FE" + LONG
# Field names the app's forms, API and facades read; a service refuses unknown ones by name
# but still parses the others, so one body reaches every parser of a route.
FIELDS = (
    "name url method headers body cron_expr timezone interval_seconds timeout_seconds kind "
    "description public slug group expected_status keyword channels message title status "
    "action scopes email password new_password addresses secret apprise_url host port "
    "username ttl_seconds unlimited grace_seconds enabled job folder schedule token id q "
    "search page per_page period from to limit cursor serviceName type items next"
).split()
QUERY = ("q", "search", "status", "page", "per_page", "period", "serviceName", "type", "next")
# As the server hands a query over: percent-encoded, or raw bytes (latin-1 in WSGI).
QUERIES = ["&".join(f"{name}={text}" for name in QUERY) for text in (URL_NUL, URL_TEXT)]
QUERIES.append("q=\xff\xfe")
# Long text in groups of fields, each body under the 1 MiB limit, so it reaches the views.
LONG_GROUPS = [FIELDS[start : start + 9] for start in range(0, len(FIELDS), 9)]
FORM = "application/x-www-form-urlencoded"


def json_object(value: str, fields=FIELDS) -> str:
    """A JSON object with ``value`` (raw JSON text) in each field."""
    return "{" + ", ".join(f'"{field}": {value}' for field in fields) + "}"


# JSON bodies: text no store can hold, the wrong types, deep nesting and 10 MB.
JSON_BODIES = [
    json_object(value)
    for value in ('"a\\u0000b"', SURROGATE, "[1, [2], {}]", '{"a": null}', "-1e309", "true")
]
JSON_BODIES += [json_object(json.dumps(LONG), group) for group in LONG_GROUPS]
JSON_BODIES += ["[1, [2], {}]", '"a"', "[" * 100_000 + "]" * 100_000, b"\x00" * 10_000_000]
FORM_BODIES = [urlencode(dict.fromkeys(group, LONG)) for group in LONG_GROUPS]
FORM_BODIES.append(
    b"name=\xff\xfe&url=a%00b&" + "&".join(f"{f}=%ED%A0%80" for f in FIELDS).encode()
)
ID_CONVERTERS = {"int", "id", "bigid"}


def real_values(app, seeded) -> dict[str, object]:
    """Path variables by name: ids and codes of things that exist."""
    with app.app_context():
        beat = monitors.create(
            {"kind": "heartbeat", "name": "Beat", "cron_expr": "0 0 * * *", "public": True}
        )
        public = monitors.create({"name": "Public", "url": "https://a.example/", "public": True})
        values = {**seeded, "code": beat.code, "slug": public.slug, "heartbeat_id": beat.id}
    values.update(
        job_id=seeded["cron_job_id"], exit_status=0, kind="email", field="name", filename="app.css"
    )
    return values


def requests_for(rule, method: str, values: dict) -> list[tuple[str, dict]]:
    """(path, EnvironBuilder keywords) for one rule and method: each text variable of the
    path hostile, then real ids with hostile queries and bodies (JSON bodies where the
    surface reads JSON, forms on pages, and one of the other kind to each)."""

    def path(hostile: str | None = None) -> str:
        def fill(match):
            converter, name = match.groups()
            if hostile is not None and converter not in ID_CONVERTERS:
                return hostile
            if name == "monitor_id" and rule.rule.startswith("/heartbeats/"):
                name = "heartbeat_id"
            return str(values.get(name, "1"))

        return re.sub(r"<(?:(\w+):)?(\w+)>", fill, rule.rule)

    real = path()
    out: list[tuple[str, dict]] = []
    if path(URL_NUL) != real:
        out += [(path(URL_NUL), {}), (path(URL_TEXT), {})]
    out += [(real, {"query_string": query}) for query in QUERIES]
    if method == "GET":
        return out
    json_bodies, form_bodies = JSON_BODIES, FORM_BODIES
    if real.startswith(("/api/", "/compat/")):
        form_bodies = FORM_BODIES[-1:]
    else:
        json_bodies = [JSON_BODIES[0], JSON_BODIES[2], JSON_BODIES[-1]]
    out += [(real, {"data": body, "content_type": "application/json"}) for body in json_bodies]
    out += [(real, {"data": body, "content_type": FORM}) for body in form_bodies]
    return out


# Walked last: these end the session or remove what the other routes address.
LAST = ("logout", "delete", "revoke", "remove", "clear")


def walk(app, values: dict, headers: dict, caplog) -> list[str]:
    """Every request of every rule and method; returns what went wrong.

    Straight into the WSGI app: the test client's cookie jar would rebuild the URL of each
    request, which for a query of megabytes costs more than the app does."""
    rules = sorted(
        app.url_map.iter_rules(),
        key=lambda rule: (any(word in rule.endpoint for word in LAST), rule.rule),
    )
    failures = []
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for path, kwargs in requests_for(rule, method, values):
                query = kwargs.pop("query_string", None)
                builder = EnvironBuilder(path=path, method=method, headers=headers, **kwargs)
                environ = builder.get_environ()
                if query is not None:
                    environ["QUERY_STRING"] = query
                _, status, _ = run_wsgi_app(app, environ, buffered=True)  # closes the body
                if int(status[:3]) >= 500:
                    sent = {name: str(value)[:60] for name, value in kwargs.items()}
                    failures.append(f"{method} {path[:80]} {query and query[:40]} {sent}: {status}")
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    failures += [
        f"logged: {r.getMessage()[:200]} {r.exc_info and r.exc_info[1]!r}" for r in tracebacks
    ]
    return failures


@pytest.mark.parametrize("actor", ["admin", "key", "anonymous"])
def test_hostile_input_on_every_route_is_never_a_server_error(
    request, app, seeded, root_key, actor, caplog
):
    # A crash becomes a 500 and a logged traceback, as in production, instead of being
    # raised into the test: one walk reports every request that fails.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    values = real_values(app, seeded)
    headers: dict[str, str] = {}
    if actor == "admin":
        client = request.getfixturevalue("logged_in")
        values["user_id"] = request.getfixturevalue("admin")
        headers["X-CSRFToken"] = csrf_token(client, "/monitors/new")
        # The same session cookie on every request, so signing out does not end the walk.
        headers["Cookie"] = f"session={client.get_cookie('session').value}"
    if actor == "key":
        headers.update({"Authorization": f"Bearer {root_key}", "X-Api-Key": root_key})
    caplog.set_level(logging.INFO)

    failures = walk(app, values, headers, caplog)

    assert not failures, "\n".join(failures)
