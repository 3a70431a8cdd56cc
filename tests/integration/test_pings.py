"""The ping endpoints and the ping service: every ping kind, bodies, codes, limits, races."""

import http.client
import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from app.extensions import db
from app.models import DailyRollup, Incident, Monitor, Ping
from app.services import monitors, pings
from app.services.errors import Throttled, ValidationError


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def make(**data) -> Monitor:
    data.setdefault("period_sec", 3600)
    return monitors.create({"kind": "heartbeat", "name": "Backup", **data})


def fresh(monitor_id: int) -> Monitor:
    db.session.remove()  # pings write with Core statements; read the row anew
    return db.session.get(Monitor, monitor_id)


def stored_pings(monitor_id: int) -> list[Ping]:
    db.session.remove()
    query = sa.select(Ping).where(Ping.monitor_id == monitor_id).order_by(Ping.id)
    return list(db.session.execute(query).scalars())


def incidents(monitor_id: int) -> list[Incident]:
    db.session.remove()
    query = sa.select(Incident).where(Incident.monitor_id == monitor_id).order_by(Incident.id)
    return list(db.session.execute(query).scalars())


def test_success_ping_is_recorded_with_its_request(ctx, client):
    monitor = make()
    response = client.post(
        f"/ping/{monitor.code}",
        data=b"backup done: 42 files",
        headers={"User-Agent": "curl/8.5.0", "Content-Type": "text/plain"},
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "OK"
    assert response.mimetype == "text/plain"
    [ping] = stored_pings(monitor.id)
    assert (ping.kind, ping.exit_status, ping.method) == ("success", None, "POST")
    assert (ping.remote_addr, ping.user_agent) == ("127.0.0.1", "curl/8.5.0")
    assert (ping.body, ping.body_size, ping.duration_ms) == ("backup done: 42 files", 21, None)
    stored = fresh(monitor.id)
    assert (stored.state, stored.last_ping_at) == ("up", ping.created_at)


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
def test_every_method_pings(ctx, client, method):
    monitor = make()
    response = client.open(f"/ping/{monitor.code}", method=method)
    assert response.status_code == 200
    assert response.get_data() == (b"" if method == "HEAD" else b"OK")
    [ping] = stored_pings(monitor.id)
    assert ping.method == method


@pytest.mark.parametrize(
    ("suffix", "kind", "exit_status", "state"),
    [
        ("", "success", None, "up"),
        ("/start", "start", None, "new"),
        ("/fail", "fail", None, "down"),
        ("/log", "log", None, "new"),
        ("/0", "success", 0, "up"),
        ("/1", "fail", 1, "down"),
        ("/255", "fail", 255, "down"),
    ],
)
def test_each_ping_kind(ctx, client, suffix, kind, exit_status, state):
    monitor = make()
    assert client.get(f"/ping/{monitor.code}{suffix}").status_code == 200
    [ping] = stored_pings(monitor.id)
    assert (ping.kind, ping.exit_status) == (kind, exit_status)
    assert fresh(monitor.id).state == state


def test_failure_pings_open_one_incident_and_a_success_resolves_it(ctx, client):
    monitor = make()
    client.get(f"/ping/{monitor.code}")
    client.get(f"/ping/{monitor.code}/3")
    client.get(f"/ping/{monitor.code}/fail")
    [incident] = incidents(monitor.id)
    assert (incident.status, incident.title) == ("open", "Backup is down")
    assert incident.cause == "The job reported a failure (exit status 3)."
    assert fresh(monitor.id).last_error == "The job reported a failure."
    client.get(f"/ping/{monitor.code}/0")
    [incident] = incidents(monitor.id)
    assert incident.status == "resolved"
    assert [u.kind for u in incident.updates] == ["started", "resolved"]
    assert fresh(monitor.id).state == "up"


def test_a_log_ping_keeps_its_message_and_changes_nothing(ctx, client):
    monitor = make()
    client.get(f"/ping/{monitor.code}/fail")
    before = fresh(monitor.id)
    client.post(f"/ping/{monitor.code}/log", data="disk 91% full")
    after = fresh(monitor.id)
    assert (after.state, after.last_ping_at) == ("down", before.last_ping_at)
    assert stored_pings(monitor.id)[-1].body == "disk 91% full"


def test_start_then_success_records_the_duration(ctx):
    monitor = make()
    t0 = datetime.now(UTC)
    pings.record_ping(monitor.code, "start", None, "GET", None, None, b"", now=t0)
    assert fresh(monitor.id).last_start_at == t0
    pings.record_ping(
        monitor.code, "success", None, "GET", None, None, b"", now=t0 + timedelta(seconds=75)
    )
    start, success = stored_pings(monitor.id)
    assert (start.duration_ms, success.duration_ms) == (None, 75_000)
    stored = fresh(monitor.id)
    assert (stored.last_duration_ms, stored.last_start_at) == (75_000, None)


def test_each_ping_writes_its_row_its_rollup_and_the_heartbeat_together(ctx):
    """A ping's writes go as one statement on PostgreSQL, with or without a count in the
    day's rollup: a success or failure counts there, a start or log ping does not, and each
    one's ping row and heartbeat columns are stored all the same."""
    monitor = make()
    t0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    steps = [("success", 0), ("start", 1), ("success", 2), ("log", 3), ("fail", 4), ("fail", 5)]
    for kind, minutes in steps:
        now = t0 + timedelta(minutes=minutes)
        pings.record_ping(monitor.code, kind, None, "GET", None, "ua", b"", now=now)
    assert [(p.kind, p.created_at, p.user_agent) for p in stored_pings(monitor.id)] == [
        (kind, t0 + timedelta(minutes=minutes), "ua") for kind, minutes in steps
    ]
    [rollup] = db.session.scalars(
        sa.select(DailyRollup).where(DailyRollup.subject_id == monitor.id)
    ).all()
    assert (rollup.day, rollup.checks, rollup.failures) == (t0.date(), 4, 2)
    stored = fresh(monitor.id)
    assert (stored.state, stored.last_error) == ("down", "The job reported a failure.")
    assert stored.last_ping_at == t0 + timedelta(minutes=5)
    assert (stored.kind, stored.rate_count) == ("heartbeat", len(steps))


def test_a_failing_run_records_its_duration_too(ctx):
    monitor = make()
    t0 = datetime.now(UTC)
    pings.record_ping(monitor.code, "start", None, "GET", None, None, b"", now=t0)
    pings.record_ping(
        monitor.code, None, 2, "GET", None, None, b"", now=t0 + timedelta(milliseconds=1500)
    )
    assert stored_pings(monitor.id)[-1].duration_ms == 1500
    assert fresh(monitor.id).state == "down"


@pytest.mark.parametrize(
    "path",
    [
        "/ping/00000000-0000-4000-8000-000000000000",
        "/ping/00000000-0000-4000-8000-000000000000/fail",
        "/ping/not-a-code",
        "/ping/not-a-code/log",
        "/ping/" + "a" * 5000,
    ],
)
def test_unknown_codes_are_not_found(ctx, client, path):
    make()
    response = client.post(path, data="x")
    assert (response.status_code, response.get_data(as_text=True)) == (404, "not found")
    assert response.mimetype == "text/plain"
    assert db.session.scalar(sa.select(sa.func.count(Ping.id))) == 0


def test_an_uptime_monitor_cannot_be_pinged(ctx, client):
    site = monitors.create({"name": "Site", "url": "https://example.com/"})
    site.code = "00000000-0000-4000-8000-000000000001"  # never set by the service; still
    db.session.commit()
    assert client.get(f"/ping/{site.code}").status_code == 404


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/256", 400, "Use an exit status from 0 to 255."),
        ("/99999999999999999999", 400, "Use an exit status from 0 to 255."),
        ("/-1", 404, "not found"),
        ("/finish", 404, "not found"),
        ("/start/extra", 404, "not found"),
    ],
)
def test_malformed_ping_paths(ctx, client, path, status, text):
    monitor = make()
    response = client.get(f"/ping/{monitor.code}{path}")
    assert (response.status_code, response.get_data(as_text=True)) == (status, text)
    assert stored_pings(monitor.id) == []


def test_other_methods_are_refused_in_plain_text(ctx, client):
    monitor = make()
    response = client.put(f"/ping/{monitor.code}")
    assert (response.status_code, response.get_data(as_text=True)) == (405, "method not allowed")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST", "HEAD"}


def test_the_service_validates_kinds(ctx):
    monitor = make()
    with pytest.raises(ValidationError) as info:
        pings.record_ping(monitor.code, "finish", None, "GET", None, None, b"")
    assert list(info.value.fields) == ["kind"]


def test_an_oversized_body_is_cut_at_100_kb_and_counted(ctx, client):
    monitor = make()
    body = b"a" * (150 * 1024)
    assert client.post(f"/ping/{monitor.code}", data=body).status_code == 200
    [ping] = stored_pings(monitor.id)
    assert len(ping.body) == pings.BODY_KEEP_BYTES == 100 * 1024
    assert ping.body_size == 150 * 1024


def test_a_chunked_body_over_real_http_is_counted(ctx):
    """What `curl -T log.txt` sends: no Content-Length, the body in chunks."""
    monitor = make()
    server = make_server("127.0.0.1", 0, ctx, threaded=True)
    # A short poll: shutdown() waits for the loop to look, 0.5 s by default.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        chunks = (b"x" * 4096 for _ in range(40))
        connection.request("POST", f"/ping/{monitor.code}/log", body=chunks, encode_chunked=True)
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"OK")
        connection.close()
    finally:
        server.shutdown()
        thread.join()
    [ping] = stored_pings(monitor.id)
    assert (len(ping.body), ping.body_size) == (100 * 1024, 40 * 4096)


def test_a_body_over_10_mib_is_refused_and_nothing_stored(ctx, client):
    monitor = make()
    response = client.post(f"/ping/{monitor.code}", data=b"a" * (pings.BODY_MAX_BYTES + 1))
    assert (response.status_code, response.get_data(as_text=True)) == (
        413,
        "request entity too large",
    )
    assert stored_pings(monitor.id) == []
    assert fresh(monitor.id).state == "new"


def test_binary_bodies_are_stored_readably(ctx, client):
    monitor = make()
    client.post(f"/ping/{monitor.code}", data=b"ok\x00\xff\xfe end")
    [ping] = stored_pings(monitor.id)
    assert ping.body == "ok\ufffd\ufffd\ufffd end"
    assert ping.body_size == 9


def test_long_user_agents_are_cut(ctx, client):
    monitor = make()
    client.get(f"/ping/{monitor.code}", headers={"User-Agent": "u" * 1000})
    assert stored_pings(monitor.id)[0].user_agent == "u" * 500


def test_forwarded_addresses_count_only_from_trusted_proxies(make_app):
    import ipaddress

    for trusted, expected in (
        ((), "127.0.0.1"),
        ((ipaddress.ip_network("127.0.0.0/8"),), "203.0.113.9"),
    ):
        app = make_app(TRUSTED_PROXIES=trusted)
        with app.app_context():
            monitor = make()
            app.test_client().get(
                f"/ping/{monitor.code}", headers={"X-Forwarded-For": "203.0.113.9"}
            )
            assert stored_pings(monitor.id)[0].remote_addr == expected
            monitors.delete(monitor.id)


def test_pings_need_no_login_csrf_or_setup(ctx, client):
    # No admin exists yet (every other page redirects to /setup) and CSRF is on.
    assert client.get("/").status_code == 302
    monitor = make()
    assert client.post(f"/ping/{monitor.code}", data={"field": "value"}).status_code == 200
    assert stored_pings(monitor.id)[0].body == "field=value"


def test_a_ping_resumes_a_paused_heartbeat(ctx, client):
    monitor = make(paused=True)
    client.get(f"/ping/{monitor.code}")
    stored = fresh(monitor.id)
    assert (stored.paused, stored.state) == (False, "up")


def test_with_manual_resume_a_ping_is_kept_but_the_heartbeat_stays_paused(ctx, client):
    monitor = make(paused=True, manual_resume=True)
    assert client.get(f"/ping/{monitor.code}/fail").status_code == 200
    stored = fresh(monitor.id)
    assert (stored.paused, stored.state, stored.last_ping_at) == (True, "paused", None)
    assert [p.kind for p in stored_pings(monitor.id)] == ["fail"]
    assert incidents(monitor.id) == []


def test_rate_limit_per_code(make_app):
    app = make_app(PING_RATE_LIMIT=3)
    with app.app_context():
        client = app.test_client()
        limited, other = make(), make()
        answers = [client.get(f"/ping/{limited.code}").status_code for _ in range(5)]
        assert answers == [200, 200, 200, 429, 429]
        response = client.get(f"/ping/{limited.code}")
        assert response.get_data(as_text=True) == "rate limit exceeded"
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert client.get(f"/ping/{other.code}").status_code == 200
        assert len(stored_pings(limited.id)) == 3


def test_the_limit_counts_the_last_minute(ctx):
    ctx.config["PING_RATE_LIMIT"] = 2
    monitor = make()
    minute = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
    for second in (0, 30):
        pings.record_ping(
            monitor.code,
            "log",
            None,
            "GET",
            None,
            None,
            b"",
            now=minute + timedelta(seconds=second),
        )
    with pytest.raises(Throttled) as info:
        pings.record_ping(
            monitor.code, "log", None, "GET", None, None, b"", now=minute + timedelta(seconds=45)
        )
    assert info.value.retry_after == 15
    pings.record_ping(
        monitor.code, "log", None, "GET", None, None, b"", now=minute + timedelta(seconds=60)
    )
    assert len(stored_pings(monitor.id)) == 3


def _log_ping(monitor: Monitor, at: datetime) -> None:
    pings.record_ping(monitor.code, "log", None, "GET", None, None, b"", now=at)


def test_the_limit_holds_minute_after_minute(ctx):
    """Pings 20 s apart never have 3 before them in a minute; one 5 s after the last does.
    Most of these pass on the row's bound alone, which is set anew as the minutes go by."""
    ctx.config["PING_RATE_LIMIT"] = 3
    monitor = make()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    for n in range(12):
        _log_ping(monitor, start + timedelta(seconds=20 * n))
    last = start + timedelta(seconds=220)
    with pytest.raises(Throttled) as info:
        _log_ping(monitor, last + timedelta(seconds=5))
    assert info.value.retry_after == 15  # the ping at last - 40 s leaves the minute
    assert len(stored_pings(monitor.id)) == 12


def test_pings_taken_while_the_limit_was_off_count_once_it_is_on(ctx):
    ctx.config["PING_RATE_LIMIT"] = 3
    monitor = make()
    now = datetime.now(UTC) + timedelta(minutes=5)
    _log_ping(monitor, now)
    ctx.config["PING_RATE_LIMIT"] = 0
    for n in range(1, 5):
        _log_ping(monitor, now + timedelta(seconds=n))
    ctx.config["PING_RATE_LIMIT"] = 3
    with pytest.raises(Throttled):
        _log_ping(monitor, now + timedelta(seconds=5))
    assert len(stored_pings(monitor.id)) == 5


def test_the_limit_holds_when_the_clock_goes_back(ctx):
    """The bound counts pings after its moment; when the clock goes back before that, the
    minute is counted again, pings from the "future" included."""
    ctx.config["PING_RATE_LIMIT"] = 2
    monitor = make()
    now = datetime.now(UTC) + timedelta(minutes=5)
    for seconds in (0, 70, 135):
        _log_ping(monitor, now + timedelta(seconds=seconds))
    with pytest.raises(Throttled):  # the minute before now + 80 s holds the pings at 70 and 135
        _log_ping(monitor, now + timedelta(seconds=80))
    assert len(stored_pings(monitor.id)) == 3


def test_a_zero_limit_turns_limiting_off(make_app):
    app = make_app(PING_RATE_LIMIT=0)
    with app.app_context():
        monitor = make()
        client = app.test_client()
        assert {client.get(f"/ping/{monitor.code}/log").status_code for _ in range(80)} == {200}


def test_with_redis_down_pings_are_recorded_and_answered(make_app, tmp_path):
    app = make_app(REDIS_URL=f"unix://{tmp_path}/no-redis.sock", PING_RATE_LIMIT=3)
    with app.app_context():
        monitor = make()
        client = app.test_client()
        answers = [client.get(f"/ping/{monitor.code}").status_code for _ in range(4)]
        # The limit is counted in SQL: it holds with Redis down too.
        assert answers == [200, 200, 200, 429]
        assert len(stored_pings(monitor.id)) == 3
        assert fresh(monitor.id).state == "up"
        assert client.get("/ping/00000000-0000-4000-8000-000000000000").status_code == 404


def _concurrently(app, count: int, path: str) -> list[int]:
    barrier = threading.Barrier(count)
    statuses = []

    def send():
        client = app.test_client()
        barrier.wait()
        statuses.append(client.get(path).status_code)

    threads = [threading.Thread(target=send) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_concurrent_failure_pings_open_one_incident(ctx):
    monitor = make()
    pings.record_ping(monitor.code, "success", None, "GET", None, None, b"")
    assert _concurrently(ctx, 10, f"/ping/{monitor.code}/fail") == [200] * 10
    assert len(stored_pings(monitor.id)) == 11
    [incident] = incidents(monitor.id)
    assert incident.status == "open"
    assert fresh(monitor.id).state == "down"


def test_concurrent_success_pings_resolve_once_and_keep_the_latest_time(ctx):
    monitor = make()
    pings.record_ping(monitor.code, "fail", None, "GET", None, None, b"")
    assert _concurrently(ctx, 10, f"/ping/{monitor.code}") == [200] * 10
    [incident] = incidents(monitor.id)
    assert [u.kind for u in incident.updates] == ["started", "resolved"]
    successes = [p for p in stored_pings(monitor.id) if p.kind == "success"]
    assert len(successes) == 10
    stored = fresh(monitor.id)
    assert stored.state == "up"
    assert stored.last_ping_at == max(p.created_at for p in successes)


def test_concurrent_start_pings_keep_the_latest_start(ctx):
    monitor = make()
    assert _concurrently(ctx, 10, f"/ping/{monitor.code}/start") == [200] * 10
    starts = stored_pings(monitor.id)
    assert fresh(monitor.id).last_start_at == max(p.created_at for p in starts)


def test_list_pings_pages_newest_first_with_bodies(ctx):
    monitor = make()
    t0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    for n in range(5):
        pings.record_ping(
            monitor.code,
            "log",
            None,
            "POST",
            None,
            None,
            f"line {n}".encode(),
            now=t0 + timedelta(minutes=n),
        )
    page = pings.list_pings(monitor.id, page=1, per_page=2)
    assert [p.body for p in page.items] == ["line 4", "line 3"]
    assert (page.total, page.pages) == (5, 3)
    assert [p.body for p in pings.list_pings(monitor.id, page="3", per_page="2").items] == [
        "line 0"
    ]
    with pytest.raises(ValidationError):
        pings.list_pings(monitor.id, per_page=500)


def _pending(code: str, method: str | None) -> pings._Ping:
    values = {
        "kind": "success",
        "exit_status": None,
        "method": method,
        "remote_addr": None,
        "user_agent": None,
        "body": None,
        "body_size": 0,
        "duration_ms": None,
    }
    return pings._Ping(code, "success", None, values, None, 60)


def test_a_ping_that_fails_in_a_batch_fails_alone(ctx):
    """Pings written together share a transaction: one that cannot be stored undoes it, and
    the others of its batch are written again."""
    first, second = make(), make()
    # No method breaks the ping's NOT NULL column after its heartbeat row was read and locked.
    batch = [_pending(first.code, "GET"), _pending(first.code, None), _pending(second.code, "GET")]
    writer = pings._writer(os.getpid(), db.engine.url)
    writer._write(list(batch), db.engine)
    good, bad, other = batch
    assert all(pending.done for pending in batch)
    assert "method" in str(bad.error) and bad.outcome is None  # the driver's NOT NULL error
    assert good.error is None and other.error is None
    assert good.outcome[0].id == first.id and other.outcome[0].id == second.id
    assert len(stored_pings(first.id)) == 1
    assert len(stored_pings(second.id)) == 1
    assert fresh(first.id).last_ping_at is not None


def _lose(connection) -> None:
    """End the writer's connection from outside, as a database restart would."""
    raw = connection.dbapi_connection
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": raw.info.backend_pid}
        )
        db.session.commit()
    else:
        raw.close()


def test_a_ping_after_the_writers_connection_was_lost_is_stored_on_a_new_one(ctx):
    """The writer keeps one connection between transactions; one that died meanwhile is
    replaced and the ping written, as the pool's liveness test would have."""
    monitor = make()
    pings.record_ping(monitor.code, "success", None, "GET", None, None, b"")
    writer = pings._writer(os.getpid(), db.engine.url)
    lost = writer.connection
    _lose(lost)
    pings.record_ping(monitor.code, "success", None, "GET", None, None, b"")
    assert writer.connection is not None and writer.connection is not lost
    assert len(stored_pings(monitor.id)) == 2
    pings.record_ping(monitor.code, "success", None, "GET", None, None, b"")
    assert len(stored_pings(monitor.id)) == 3
