"""TLS certificates on every TLS check: real HTTPS and TLS targets on loopback with
certificates made by trustme (expiring in 5 days, expired, for another name, from an unknown
CA), the certificate recorded with ``tls_verify`` on and off, the reasons a refused one gives,
and the expiry alerts of each threshold sent once to a real webhook receiver through the
scheduler, the batch job and the recording of results."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import trustme

from app.engine import batch, certificates
from app.engine.certificates import Certificate
from app.engine.checks import Rules
from app.engine.probe import ProbeRequest, probe
from app.engine.scheduler import KIND_MONITOR, Scheduler, to_ms
from app.engine.tcp import ConnectRequest, connect
from app.extensions import db, redis_client
from app.models import CertificateAlert, CronJob, Monitor, NotificationLog
from app.models.history import FAILED_TLS, OK
from app.services import channels, cron_jobs, monitors, results
from app.services.errors import ValidationError
from app.tasks import jobs
from tests.conftest import page_text, post_form, swap_kind_fields
from tests.pipeline import check_results, run_due, work
from tests.targets import TargetServer, ca_name

BASE_URL = "https://upcron.example.com"
DAY = timedelta(days=1)


def leaf(ca: trustme.CA, name: str = "localhost", days: float = 5, *extra: str):
    """A certificate for ``name`` (and ``extra`` names) that expires in ``days`` days
    (negative: expired that long ago); valid since 30 days before."""
    now = datetime.now(UTC)
    return ca.issue_cert(
        name, *extra, not_before=now - 30 * DAY, not_after=now + timedelta(days=days)
    )


def https(certificate) -> TargetServer:
    server = TargetServer(certificate=certificate)
    server.route("/health", body="ok")
    return server


@pytest.fixture
def ctx(make_app, ca_bundle):
    """An app that trusts the test CA and retries notifications at once."""
    app = make_app(CA_BUNDLE=ca_bundle, NOTIFY_RETRY_DELAYS=(0, 0, 0, 0), BASE_URL=BASE_URL)
    with app.app_context():
        yield app


@pytest.fixture
def receiver(ctx):
    """A webhook receiver on loopback, the default channel of new monitors and cron jobs."""
    with TargetServer() as server:
        url = server.route("/hook", status=204)
        channels.create({"name": "Ops hook", "kind": "webhook", "url": url, "is_default": True})
        yield server


def alerts(server: TargetServer) -> list[dict]:
    return [json.loads(r.body) for r in server.requests if r.target == "/hook"]


def claimed(subject_id: int, subject_type: str = "monitor") -> list[tuple[str, int]]:
    db.session.remove()
    rows = db.session.execute(
        sa.select(CertificateAlert.fingerprint, CertificateAlert.threshold_days)
        .where(
            CertificateAlert.subject_type == subject_type,
            CertificateAlert.subject_id == subject_id,
        )
        .order_by(CertificateAlert.fingerprint, CertificateAlert.threshold_days.desc())
    )
    return [tuple(row) for row in rows]


# --- the check itself --------------------------------------------------------------------


def test_a_verified_certificate_is_recorded_with_its_names_dates_and_fingerprint(ca, ca_bundle):
    with https(leaf(ca, "localhost", 5, "www.localhost", "127.0.0.1")) as server:
        result = probe(ProbeRequest(server.url("/health", host="localhost"), ca_bundle=ca_bundle))
    assert result.outcome == OK, result.error
    cert = result.certificate
    assert cert.sans == ("localhost", "www.localhost", "127.0.0.1")
    assert cert.issuer == ca_name(ca)
    assert cert.subject.startswith("OU=Testing cert") and "O=trustme" in cert.subject
    left = cert.expires_at - datetime.now(UTC)
    assert 4.9 * DAY < left <= 5 * DAY
    assert cert.expires_at.tzinfo is not None
    assert len(cert.fingerprint) == 64 and int(cert.fingerprint, 16)


def test_a_certificate_expiring_within_the_warning_is_a_warning(ca, ca_bundle):
    with https(leaf(ca)) as server:
        result = probe(ProbeRequest(server.url("/health", host="localhost"), ca_bundle=ca_bundle))
    now = datetime.now(UTC)
    day = f"{result.certificate.expires_at:%Y-%m-%d}"
    warning = f"The certificate expires on {day}, in 5 days"
    assert certificates.certificate_warning(14, result.certificate, now) == warning
    assert certificates.certificate_warning(5, result.certificate, now) == warning
    assert certificates.certificate_warning(4, result.certificate, now) is None
    assert certificates.certificate_warning(0, result.certificate, now) is None  # off
    assert certificates.certificate_warning(14, None, now) is None
    assert Rules("200-399", tls_expiry_warn_days=14).tls_expiry_warn_days == 14


def test_an_expired_certificate_is_down_naming_the_day_it_expired(ca, ca_bundle):
    with https(leaf(ca, days=-3)) as server:
        result = probe(ProbeRequest(server.url("/health", host="localhost"), ca_bundle=ca_bundle))
        assert server.requests == []
    day = f"{result.certificate.expires_at:%Y-%m-%d}"
    assert result.outcome == FAILED_TLS
    assert result.error == f"Negotiating TLS with localhost failed: certificate expired on {day}"


def test_a_certificate_for_other_names_is_a_hostname_mismatch_naming_them(ca, ca_bundle):
    with https(leaf(ca, "a.example", 30, "b.example")) as server:
        result = probe(ProbeRequest(server.url("/health", host="localhost"), ca_bundle=ca_bundle))
    assert result.outcome == FAILED_TLS
    assert result.error == (
        "Negotiating TLS with localhost failed: hostname mismatch: certificate is for "
        "a.example, b.example"
    )
    assert result.certificate.sans == ("a.example", "b.example")


def test_a_certificate_from_an_unknown_ca_names_its_issuer(ca_bundle):
    stranger = trustme.CA()
    with https(leaf(stranger)) as server:
        result = probe(ProbeRequest(server.url("/health", host="localhost"), ca_bundle=ca_bundle))
    assert result.outcome == FAILED_TLS
    assert result.error == (
        f"Negotiating TLS with localhost failed: unknown issuer: {ca_name(stranger)}"
    )


def test_without_verification_any_certificate_is_accepted_and_recorded(ca_bundle):
    stranger = trustme.CA()  # not trusted, and the certificate expired for another name
    with https(leaf(stranger, "elsewhere.example", -2)) as server:
        url = server.url("/health", host="localhost")
        result = probe(ProbeRequest(url, ca_bundle=ca_bundle, tls_verify=False))
        tcp = connect(ConnectRequest("localhost", server.port, tls=True, tls_verify=False))
    assert result.outcome == OK and result.status_code == 200
    assert result.certificate.sans == ("elsewhere.example",)
    assert result.certificate.expires_at < datetime.now(UTC) - 1.9 * DAY
    assert result.certificate.issuer == ca_name(stranger)
    assert tcp.outcome == OK, tcp.error
    assert tcp.certificate == result.certificate
    day = f"{result.certificate.expires_at:%Y-%m-%d}"
    assert certificates.certificate_warning(14, result.certificate, datetime.now(UTC)) == (
        f"The certificate expired on {day}"
    )


def test_a_tcp_check_with_tls_records_the_certificate(ca, ca_bundle):
    with https(leaf(ca, days=40)) as server:
        result = connect(
            ConnectRequest("localhost", server.port, tls=True, ca_bundle=ca_bundle),
        )
        plain = connect(ConnectRequest("127.0.0.1", server.port))
    assert result.outcome == OK, result.error
    assert result.certificate.sans == ("localhost",)
    assert plain.outcome == OK and plain.certificate is None


def test_plain_http_has_no_certificate():
    with TargetServer() as server:
        result = probe(ProbeRequest(server.route("/", body="ok")))
    assert result.outcome == OK and result.certificate is None


# --- thresholds and wording ---------------------------------------------------------------


def test_thresholds_are_the_warning_then_seven_three_and_one_day():
    assert certificates.thresholds(14) == (14, 7, 3, 1)
    assert certificates.thresholds(7) == (7, 3, 1)
    assert certificates.thresholds(5) == (5, 3, 1)
    assert certificates.thresholds(1) == (1,)
    assert certificates.thresholds(0) == ()
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert certificates.crossed(14, now + 5 * DAY, now) == (14, 7)
    assert certificates.crossed(14, now + 7 * DAY, now) == (14, 7)
    assert certificates.crossed(14, now + 20 * DAY, now) == ()
    assert certificates.crossed(14, now + timedelta(hours=2), now) == (14, 7, 3, 1)
    assert certificates.crossed(14, now - DAY, now) == ()  # expired: down, not "expiring"
    assert certificates.crossed(0, now + DAY, now) == ()


def test_expiry_sentences():
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert certificates.expiry(now + 5 * DAY, now) == (
        "The certificate expires on 2026-12-11, in 5 days"
    )
    assert certificates.expiry(now + DAY, now) == "The certificate expires on 2026-12-07, in 1 day"
    assert certificates.expiry(now + timedelta(hours=3), now) == (
        "The certificate expires on 2026-12-06, in less than a day"
    )
    assert certificates.expiry(now - 6 * DAY, now) == "The certificate expired on 2026-11-30"


def test_an_unreadable_certificate_is_not_recorded():
    assert certificates.parse(b"not a certificate") is None
    assert certificates.parse(None) is None
    expires = datetime(2026, 12, 11, tzinfo=UTC)
    cert = Certificate("CN=x", "CN=Example CA,O=Example", (), expires - 90 * DAY, expires, "00")
    assert certificates.common_name(cert.issuer) == "Example CA"
    assert certificates.common_name("O=No CN") == "O=No CN"


# --- through the pipeline ------------------------------------------------------------------


def test_expiry_alerts_reach_a_webhook_once_per_certificate_through_the_scheduler(
    ctx, ca, receiver
):
    with https(leaf(ca, days=5)) as server, https(leaf(ca, days=2)) as renewed:
        monitor = monitors.create(
            {
                "name": "Shop",
                "url": server.url("/health", host="localhost"),
                "interval_sec": 10,
                "timeout_ms": 2000,
                "failure_threshold": 1,
            }
        )
        scheduler = Scheduler(conn=redis_client.conn)
        scheduler.rebuild()
        start = datetime.now(UTC)
        run_due(scheduler, start)
        run_due(scheduler, start + timedelta(seconds=10))  # the same certificate: no alert
        run_due(scheduler, start + timedelta(seconds=20))
        assert [r.outcome for r in check_results(monitor.id)] == [OK, OK, OK]

        # The expiring certificate makes the monitor degraded; its one alert is the
        # threshold's, not a second "degraded" one.
        shop = db.session.get(Monitor, monitor.id)
        assert shop.state == "degraded"
        assert shop.last_warning.startswith("The certificate expires on ")
        assert [r.warning for r in check_results(monitor.id)] == [shop.last_warning] * 3
        assert shop.tls_sans == ["localhost"] and shop.tls_issuer == ca_name(ca)
        assert 4.9 * DAY < shop.tls_expires_at - datetime.now(UTC) <= 5 * DAY
        first = shop.tls_fingerprint
        day = f"{shop.tls_expires_at:%Y-%m-%d}"
        [alert] = alerts(receiver)
        assert alert["event"] == "monitor.certificate_expiring"
        assert alert["severity"] == "warning"
        assert alert["summary"] == "Monitor Shop has a TLS certificate that expires soon"
        assert alert["detail"] == f"The certificate expires on {day}, in 5 days"
        assert alert["subject"]["url"] == f"{BASE_URL}/monitors/{monitor.id}"
        assert [r.headers["x-upcron-event"] for r in receiver.requests] == [alert["event"]]
        # The warning (14 days) and 7 days were both crossed: one alert, both remembered.
        assert claimed(monitor.id) == [(first, 14), (first, 7)]

        # A renewed (here: another) certificate starts afresh.
        monitors.update(monitor.id, {"url": renewed.url("/health", host="localhost")})
        run_due(scheduler, start + timedelta(seconds=30))
        run_due(scheduler, start + timedelta(seconds=40))
    second = db.session.get(Monitor, monitor.id).tls_fingerprint
    assert second != first
    assert [a["detail"].rsplit(", ", 1)[1] for a in alerts(receiver)] == ["in 5 days", "in 2 days"]
    assert sorted(claimed(monitor.id)) == sorted(
        [(first, 14), (first, 7), (second, 14), (second, 7), (second, 3)]
    )


def test_each_threshold_of_one_certificate_is_announced_once_as_days_pass(ctx, ca, receiver):
    """The recording of real check outcomes at later moments: the certificate crosses the
    warning with 7 days, then 3, then 1; re-recorded slots (retries) announce nothing."""
    with https(leaf(ca, days=6)) as server:
        monitor = monitors.create(
            {"name": "API", "url": server.url("/health", host="localhost"), "timeout_ms": 2000}
        )
        planned = datetime.now(UTC).replace(microsecond=0)
        work_items = batch.prepare([[KIND_MONITOR, monitor.id, to_ms(planned), 0, "schedule"]])
        db.session.commit()
        [outcome] = batch.probe_all(work_items)

    def record(after: timedelta, minute: int) -> list:
        slot = dataclasses.replace(outcome, planned_at=planned + timedelta(minutes=minute))
        return results.record([slot], planned + after)

    # The first warning makes the new monitor degraded; only the threshold is announced.
    assert record(timedelta(0), 0) == [
        ("monitor", monitor.id, "degraded"),
        ("monitor", monitor.id, "certificate_expiring"),
    ]
    assert record(timedelta(hours=1), 1) == []
    assert record(timedelta(hours=1), 1) == []  # the same slot again: skipped entirely
    assert record(3.2 * DAY, 2) == [("monitor", monitor.id, "certificate_expiring")]
    assert record(3.3 * DAY, 3) == []
    assert record(5.5 * DAY, 4) == [("monitor", monitor.id, "certificate_expiring")]
    assert record(5.6 * DAY, 5) == []
    fingerprint = outcome.result.certificate.fingerprint
    assert [days for _, days in claimed(monitor.id)] == [14, 7, 3, 1]
    assert {f for f, _ in claimed(monitor.id)} == {fingerprint}
    # One delivery per alert to the channel, each staged for the moment it was recorded.
    db.session.remove()
    staged = db.session.execute(sa.select(NotificationLog).order_by(NotificationLog.id))
    details = [row.payload["detail"].rsplit(", ", 1)[1] for row in staged.scalars()]
    assert details == ["in 6 days", "in 3 days", "in less than a day"]
    work()
    [sent] = alerts(receiver)  # the others are due days from now
    assert sent["detail"].endswith(", in 6 days")


def test_no_expiry_alert_when_the_monitor_turns_them_off(ctx, ca, receiver):
    with https(leaf(ca, days=5)) as server:
        quiet = monitors.create({"name": "Quiet", "url": server.url("/health", host="localhost")})
        off = monitors.create(
            {
                "name": "Off",
                "url": server.url("/health", host="localhost"),
                "tls_expiry_warn_days": 0,
            }
        )
        db.session.get(Monitor, quiet.id).notify_degraded_certificate = False
        db.session.commit()
        monitors.run_checks([quiet.id, off.id])
        work()
    assert alerts(receiver) == []
    assert claimed(quiet.id) == claimed(off.id) == []
    # The certificate is recorded all the same.
    assert db.session.get(Monitor, off.id).tls_sans == ["localhost"]


def test_an_expired_certificate_takes_a_monitor_down_with_the_reason(ctx, ca, receiver):
    with https(leaf(ca, days=-6)) as server:
        monitor = monitors.create(
            {
                "name": "Legacy",
                "url": server.url("/health", host="localhost"),
                "failure_threshold": 1,
            }
        )
        monitors.run_checks([monitor.id])
        work()
        assert server.requests == []
    legacy = db.session.get(Monitor, monitor.id)
    day = f"{legacy.tls_expires_at:%Y-%m-%d}"
    assert legacy.state == "down"
    reason = f"Negotiating TLS with localhost failed: certificate expired on {day}"
    assert legacy.last_error == reason
    [result] = check_results(monitor.id)
    assert (result.outcome, result.error) == (FAILED_TLS, reason)
    [down] = alerts(receiver)  # the down alert, no "expiring" one for an expired certificate
    assert (down["event"], down["detail"]) == ("monitor.down", reason)


def test_without_verification_a_self_signed_service_is_up_and_its_dates_recorded(ctx, receiver):
    internal = trustme.CA()  # nobody trusts it
    with https(leaf(internal, days=200)) as server:
        monitor = monitors.create(
            {
                "name": "Internal",
                "url": server.url("/health", host="localhost"),
                "tls_verify": False,
                "failure_threshold": 1,
            }
        )
        tcp = monitors.create(
            {
                "name": "Internal TLS port",
                "kind": "tcp",
                "host": "localhost",
                "port": server.port,
                "tls": True,
                "tls_verify": False,
                "failure_threshold": 1,
            }
        )
        monitors.run_checks([monitor.id, tcp.id])
    for subject in (db.session.get(Monitor, monitor.id), db.session.get(Monitor, tcp.id)):
        assert subject.state == "up", subject.last_error
        assert subject.tls_issuer == ca_name(internal)
        assert 199 * DAY < subject.tls_expires_at - datetime.now(UTC) <= 200 * DAY


def test_a_cron_job_over_https_records_and_announces_its_certificate(ctx, ca, receiver):
    with https(leaf(ca, days=2)) as server:
        job = cron_jobs.create(
            {
                "name": "Backup",
                "url": server.url("/health", host="localhost"),
                "cron_expr": "0 2 * * *",
            }
        )
        planned = to_ms(datetime.now(UTC))
        jobs.run_batch([["c", job.id, planned, 0, "manual"]])
        jobs.run_batch([["c", job.id, planned + 60_000, 0, "manual"]])
        work()
    backup = db.session.get(CronJob, job.id)
    assert backup.last_outcome == OK
    assert backup.tls_sans == ["localhost"] and len(backup.tls_fingerprint) == 64
    [alert] = alerts(receiver)
    assert alert["event"] == "cron_job.certificate_expiring"
    assert alert["summary"] == "Cron job Backup has a TLS certificate that expires soon"
    assert alert["detail"].endswith(", in 2 days")
    assert [days for _, days in claimed(job.id, "cron_job")] == [14, 7, 3]
    cron_jobs.delete(job.id)
    assert claimed(job.id, "cron_job") == []


def test_deleting_a_monitor_forgets_its_announced_thresholds(ctx, ca, receiver):
    with https(leaf(ca, days=5)) as server:
        monitor = monitors.create({"name": "Gone", "url": server.url("/health", host="localhost")})
        monitors.run_checks([monitor.id])
    assert len(claimed(monitor.id)) == 2
    monitors.delete(monitor.id)
    assert claimed(monitor.id) == []


# --- the API -------------------------------------------------------------------------------


@pytest.fixture
def key(api):
    return api.key("monitors:*", "cron-jobs:*")


def test_api_shows_and_changes_the_tls_fields(api, key):
    created = api.post("/api/monitors", key, json={"name": "W", "url": "https://example.com/"})
    assert created.status_code == 201, created.json
    assert {k: v for k, v in created.json.items() if k.startswith("tls_")} == {
        "tls_verify": True,
        "tls_expiry_warn_days": 14,
        "tls_expires_at": None,
        "tls_subject": None,
        "tls_issuer": None,
        "tls_sans": None,
        "tls_fingerprint": None,
    }
    changed = api.put(
        f"/api/monitors/{created.json['id']}",
        key,
        json={"tls_verify": False, "tls_expiry_warn_days": 30},
    )
    assert changed.status_code == 200, changed.json
    assert (changed.json["tls_verify"], changed.json["tls_expiry_warn_days"]) == (False, 30)
    tcp = api.post(
        "/api/monitors",
        key,
        json={"type": "tcp", "name": "T", "host": "db.example.com", "port": 5432, "tls": True},
    )
    assert tcp.json["tls_verify"] is True and "tls_expires_at" in tcp.json
    job = api.post(
        "/api/cron-jobs",
        key,
        json={
            "name": "J",
            "url": "https://example.com/run",
            "cron_expr": "0 2 * * *",
            "tls_expiry_warn_days": 0,
        },
    )
    assert job.status_code == 201, job.json
    assert (job.json["tls_verify"], job.json["tls_expiry_warn_days"]) == (True, 0)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"tls_expiry_warn_days": 366}, "tls_expiry_warn_days", "from 0 to 365"),
        ({"tls_expiry_warn_days": -1}, "tls_expiry_warn_days", "from 0 to 365"),
        ({"tls_expiry_warn_days": "soon"}, "tls_expiry_warn_days", "from 0 to 365"),
        ({"tls_expiry_warn_days": True}, "tls_expiry_warn_days", "from 0 to 365"),
        ({"tls_verify": "maybe"}, "tls_verify", "true or false"),
        ({"tls_verify": None}, "tls_verify", "true or false"),
    ],
)
def test_api_names_a_bad_tls_field(api, key, body, field, message):
    for path, base in (
        ("/api/monitors", {"name": "W", "url": "https://example.com/"}),
        ("/api/cron-jobs", {"name": "J", "url": "https://example.com/", "cron_expr": "0 2 * * *"}),
    ):
        response = api.post(path, key, json=base | body)
        assert response.status_code == 422, response.json
        assert list(response.json["fields"]) == [field]
        assert message in response.json["fields"][field]


def test_api_refuses_tls_fields_where_nothing_shakes_hands(app, api, key):
    dns = api.post(
        "/api/monitors",
        key,
        json={"type": "dns", "name": "D", "host": "example.com", "tls_verify": False},
    )
    assert dns.status_code == 422
    assert dns.json["fields"] == {"tls_verify": "Not used by dns monitors."}
    with app.app_context(), pytest.raises(ValidationError) as refused:
        monitors.create(
            {"kind": "heartbeat", "name": "H", "period_sec": 3600, "tls_expiry_warn_days": 3}
        )
    assert refused.value.fields == {"tls_expiry_warn_days": "Not used by heartbeat monitors."}


# --- the dashboard -------------------------------------------------------------------------

HTTPS_FORM = {
    "name": "Shop",
    "kind": "http",
    "url": "https://shop.example.com/health",
    "method": "GET",
    "interval_sec": "60",
    "timeout_ms": "2000",
    "expected_status": "200-399",
    "max_redirects": "10",
    "failure_threshold": "2",
    "recovery_threshold": "1",
}


def test_the_monitor_form_sets_the_tls_fields_and_the_page_shows_the_certificate(logged_in):
    form = page_text(logged_in.get("/monitors/new"))
    assert 'id="tls_verify"' in form and 'name="tls_verify" type="checkbox" value="y"' in form
    assert 'id="tls_expiry_warn_days"' in form and 'value="14"' in form
    bad = post_form(
        logged_in, "/monitors/new", {**HTTPS_FORM, "tls_verify": "y", "tls_expiry_warn_days": "400"}
    )
    assert bad.status_code == 422
    assert 'id="tls_expiry_warn_days-error"' in page_text(bad)
    assert "from 0 to 365" in page_text(bad)

    created = post_form(logged_in, "/monitors/new", {**HTTPS_FORM, "tls_expiry_warn_days": "21"})
    assert created.status_code == 302, page_text(created)
    with logged_in.application.app_context():
        [monitor] = monitors.list_monitors().items
        assert (monitor.tls_verify, monitor.tls_expiry_warn_days) == (False, 21)
        monitor.tls_expires_at = datetime(2027, 3, 1, 12, tzinfo=UTC)
        monitor.tls_sans = ["shop.example.com", "www.shop.example.com"]
        monitor.tls_issuer = "CN=R11,O=Let's Encrypt,C=US"
        monitor.tls_subject = "CN=shop.example.com"
        monitor.tls_fingerprint = "ab" * 32
        monitor_id = monitor.id
        db.session.commit()
    detail = page_text(logged_in.get(f"/monitors/{monitor_id}"))
    assert "2027-03-01 12:00 UTC" in detail
    assert "shop.example.com, www.shop.example.com" in detail
    assert "CN=R11,O=Let&#39;s Encrypt,C=US" in detail
    assert "SHA-256 " + "ab" * 32 in detail
    assert "off: any certificate is accepted" in detail
    assert "21 days before, then alerts at 7, 3 and 1 days" in detail

    edit = page_text(logged_in.get(f"/monitors/{monitor_id}/edit"))
    assert 'value="21"' in edit
    saved = post_form(
        logged_in,
        f"/monitors/{monitor_id}/edit",
        {**HTTPS_FORM, "tls_verify": "y", "tls_expiry_warn_days": "0"},
    )
    assert saved.status_code == 302, page_text(saved)
    with logged_in.application.app_context():
        monitor = monitors.get(monitor_id)
        assert (monitor.tls_verify, monitor.tls_expiry_warn_days) == (True, 0)


def test_dns_monitor_forms_have_no_tls_fields(logged_in):
    response = swap_kind_fields(logged_in, {"kind": "dns"})
    assert 'id="host"' in page_text(response) and "tls_verify" not in page_text(response)


def test_the_cron_job_form_sets_the_tls_fields_and_the_page_shows_them(logged_in):
    data = {
        "name": "Backup",
        "url": "https://ops.example.com/backup",
        "method": "GET",
        "cron_expr": "0 2 * * *",
        "timezone": "UTC",
        "enabled": "y",
        "tls_expiry_warn_days": "30",
    }
    bad = post_form(logged_in, "/cron-jobs/new", {**data, "tls_expiry_warn_days": "-1"})
    assert bad.status_code == 422 and "from 0 to 365" in page_text(bad)
    created = post_form(logged_in, "/cron-jobs/new", {**data, "tls_verify": "y"})
    assert created.status_code == 302, page_text(created)
    with logged_in.application.app_context():
        job = db.session.execute(sa.select(CronJob)).scalar_one()
        assert (job.tls_verify, job.tls_expiry_warn_days) == (True, 30)
        job_id = job.id
    detail = page_text(logged_in.get(f"/cron-jobs/{job_id}"))
    assert "not seen yet" in detail and "30 days before" in detail


def test_a_certificate_with_very_many_names_is_kept_within_bounds(ca, ca_bundle):
    names = [f"host{i}.example" for i in range(150)]
    with https(ca.issue_cert(*names)) as server:
        result = probe(ProbeRequest(server.url("/health", host="localhost"), ca_bundle=ca_bundle))
    assert len(result.certificate.sans) == certificates.NAMES_KEPT
    assert result.error == (
        "Negotiating TLS with localhost failed: hostname mismatch: certificate is for "
        "host0.example, host1.example, host2.example, host3.example, host4.example and more"
    )


def test_a_refused_certificate_is_fetched_again_from_the_address_already_judged(ca_bundle):
    """The second handshake that reads a refused certificate asks no resolver again: it
    connects to the address the target guard judged for the first."""
    asked = []

    def resolver(host, port):
        asked.append(host)
        return ["127.0.0.1"]

    with https(leaf(trustme.CA(), "shop.example")) as server:
        url = server.url("/health", host="shop.example")
        result = probe(ProbeRequest(url, ca_bundle=ca_bundle), resolver=resolver)
        assert server.server_names == ["shop.example", "shop.example"]
        assert server.requests == []
    assert asked == ["shop.example"]
    assert result.outcome == FAILED_TLS and result.certificate.sans == ("shop.example",)
