"""Alerts for real: a transition recorded by a batch → notification_log rows → RQ jobs on the
notify queue → a real webhook receiver, SMTP server or Apprise target on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import trustme
from rq import SimpleWorker

from app.engine import queues
from app.engine.scheduler import to_ms
from app.extensions import db, redis_client
from app.models import Incident, IncidentUpdate, Monitor, NotificationLog
from app.services import channels, cron_jobs, monitors, notifications, smtp
from app.tasks import jobs
from tests.pipeline import work
from tests.targets import MailServer, TargetServer

BASE_URL = "https://upcron.example.com"
NO_WAIT = (0, 0, 0, 0)


@pytest.fixture
def ctx(make_app):
    """An app whose retries follow at once, so one burst of the worker runs them all."""
    app = make_app(NOTIFY_RETRY_DELAYS=NO_WAIT, BASE_URL=BASE_URL)
    with app.app_context():
        yield app


@pytest.fixture
def target():
    with TargetServer() as server:
        yield server


def check(monitor_id: int, at: datetime) -> None:
    """One check of the monitor, planned at ``at``, through the real batch job."""
    jobs.run_batch([["m", monitor_id, to_ms(at), 0, "schedule"]])


def run(cron_job_id: int, at: datetime) -> None:
    jobs.run_batch([["c", cron_job_id, to_ms(at), 0, "schedule"]])


def log_rows(**where) -> list[NotificationLog]:
    db.session.remove()
    query = sa.select(NotificationLog).filter_by(**where).order_by(NotificationLog.id)
    rows = list(db.session.execute(query).scalars())
    db.session.commit()
    return rows


def posts(server: TargetServer, path: str) -> list:
    return [r for r in server.requests if r.method == "POST" and r.target == path]


def webhook(url: str, **extra):
    return channels.create({"name": "Ops hook", "kind": "webhook", "url": url, **extra})


# Planned times of the checks below: recent, as a scheduler would plan them.
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)


def test_down_and_up_reach_a_signed_webhook_once_each(ctx, target):
    hook = target.route("/hook", status=204)
    health = target.route("/health", status=503, body="busy")
    channel = webhook(hook, secret="s3cret-key", headers={"X-Team": "ops"}, is_default=True)
    monitor = monitors.create({"name": "API", "url": health, "failure_threshold": 1})

    check(monitor.id, T0)
    work()
    [down] = posts(target, "/hook")
    payload = json.loads(down.body)
    expected = "sha256=" + hmac.new(b"s3cret-key", down.body, hashlib.sha256).hexdigest()
    assert down.headers["x-upcron-signature"] == expected
    assert down.headers["content-type"] == "application/json"
    assert down.headers["x-upcron-event"] == "monitor.down"
    assert down.headers["x-team"] == "ops"
    assert payload["event"] == "monitor.down"
    assert payload["severity"] == "failure"
    assert payload["summary"] == "Monitor API is down"
    assert payload["detail"] == "HTTP 503, expected 200-399"
    assert payload["status"] == "down"
    assert payload["subject"] == {
        "type": "monitor",
        "id": monitor.id,
        "name": "API",
        "kind": "http",
        "url": f"{BASE_URL}/monitors/{monitor.id}",
    }
    incident = payload["incident"]
    assert (incident["title"], incident["status"]) == ("API is down", "open")
    assert incident["url"] == f"{BASE_URL}/incidents/{incident['id']}"
    assert payload["links"]["incident"] == incident["url"]
    assert payload["delivery"] == {"id": down.headers["x-upcron-delivery"], "attempt": 1}
    datetime.fromisoformat(payload["occurred_at"])  # ISO-8601

    check(monitor.id, T0 + timedelta(minutes=1))  # still down: no new alert
    target.route("/health", body="fine")
    check(monitor.id, T0 + timedelta(minutes=2))
    work()
    assert len(posts(target, "/hook")) == 2
    up = json.loads(posts(target, "/hook")[1].body)
    assert (up["event"], up["status"], up["severity"]) == ("monitor.up", "up", "success")
    assert up["summary"] == "Monitor API is up again"
    assert up["incident"]["status"] == "resolved"
    assert up["detail"].startswith("The incident lasted ")

    rows = log_rows(channel_id=channel.id)
    assert [(r.event, r.status, r.attempts) for r in rows] == [
        ("monitor.down", "sent", 1),
        ("monitor.up", "sent", 1),
    ]
    assert rows[0].attempt_log[0].ok is True


def test_cron_job_alerts_arrive_by_email(make_app, target):
    with MailServer() as mail:
        app = make_app(
            BASE_URL=BASE_URL,
            SMTP={
                "host": "127.0.0.1",
                "port": mail.port,
                "security": "none",
                "username": None,
                "password": None,
                "sender": "Upcron <alerts@example.com>",
            },
        )
        with app.app_context():
            channels.create(
                {
                    "name": "On call",
                    "kind": "email",
                    "addresses": "ops@example.com, dev@example.com",
                    "is_default": True,
                }
            )
            url = target.route("/backup", status=500, body="disk full")
            job = cron_jobs.create(
                {
                    "name": "Backup",
                    "url": url,
                    "cron_expr": "* * * * *",
                    "notify_failure_after": 2,
                    "auto_disable_after": 3,
                }
            )
            run(job.id, T0)
            work()
            assert mail.mails == []  # one failure is under the job's "N failures"
            run(job.id, T0 + timedelta(minutes=1))
            work()
            [failed] = mail.mails
            assert failed.sender == "alerts@example.com"
            assert failed.recipients == ["ops@example.com", "dev@example.com"]
            message = failed.message
            assert message["Subject"] == "[Upcron] Cron job Backup is failing"
            assert message["From"] == "Upcron <alerts@example.com>"
            assert message["X-Upcron-Event"] == "cron_job.failed"
            text = message.get_body(("plain",)).get_content()
            html = message.get_body(("html",)).get_content()
            assert "HTTP 500, expected 200-299" in text
            assert f"{BASE_URL}/cron-jobs/{job.id}" in text
            assert "<h1" in html and "Cron job Backup is failing" in html

            run(job.id, T0 + timedelta(minutes=2))
            work()
            assert mail.mails[-1].message["Subject"] == "[Upcron] Cron job Backup was disabled"
            assert "Disabled automatically after 3 consecutive failures." in (
                mail.mails[-1].message.get_body(("plain",)).get_content()
            )
            assert len(mail.mails) == 2


def test_html_in_names_is_escaped_in_email(ctx):
    from app.engine import notify

    payload = notifications.test_payload(
        channels.create({"name": "<b>x</b>", "kind": "email", "addresses": "a@example.com"}),
        T0,
    )
    message = notify.compose(payload)
    assert "<b>x</b>" in message.text
    assert "&lt;b&gt;x&lt;/b&gt;" in message.html and "<b>x</b>" not in message.html


def test_dashboard_smtp_settings_with_starttls_and_login(make_app, tmp_path):
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    credentials = ("alerts", "correct horse")
    with MailServer("starttls", ca.issue_cert("localhost"), credentials) as mail:
        app = make_app(CA_BUNDLE=str(bundle))
        with app.app_context():
            smtp.update(
                {
                    "host": "localhost",
                    "port": mail.port,
                    "security": "starttls",
                    "username": "alerts",
                    "password": "wrong password",
                    "sender": "alerts@example.com",
                }
            )
            channel = channels.create(
                {"name": "Mail", "kind": "email", "addresses": ["ops@example.com"]}
            )
            refused = channels.send_test(channel.id)
            assert refused["ok"] is False
            assert "535" in refused["error"] and "wrong password" not in refused["error"]

            smtp.update(
                {
                    "host": "localhost",
                    "port": mail.port,
                    "username": "alerts",
                    "password": "correct horse",
                    "sender": "alerts@example.com",
                }
            )
            sent = channels.send_test(channel.id)
            assert sent == {
                "ok": True,
                "error": None,
                "duration_ms": sent["duration_ms"],
                "log_id": sent["log_id"],
            }
            [received] = mail.mails
            assert received.message["Subject"] == "[Upcron] Test message for the channel Mail"
            assert set(mail.logins) == {"alerts"}
            [row] = log_rows(id=sent["log_id"])
            assert (row.event, row.status, row.attempts) == ("test", "sent", 1)


def test_email_without_a_server_fails_at_once(ctx):
    channel = channels.create({"name": "Mail", "kind": "email", "addresses": "a@example.com"})
    result = channels.send_test(channel.id)
    assert result["ok"] is False
    assert result["error"].startswith("No e-mail server is set up")


def test_apprise_json_url_reaches_a_loopback_receiver(ctx, target):
    receiver = target.route("/apprise", status=200)
    url = receiver.replace("http://", "json://")
    channel = channels.create({"name": "Apprise", "kind": "apprise", "url": url})
    assert channels.send_test(channel.id)["ok"] is True
    [request] = posts(target, "/apprise")
    body = json.loads(request.body)
    assert body["title"] == "Test message for the channel Apprise"
    assert "Nothing is wrong." in body["message"]
    assert body["type"] == "info"

    target.route("/apprise", status=500)
    failed = channels.send_test(channel.id)
    assert failed["ok"] is False and "500" in failed["error"]


def test_a_receiver_that_fails_twice_gets_the_alert_on_the_third_attempt(ctx, target):
    hook = target.route_sequence(
        "/hook", {"status": 500, "body": "oops"}, {"status": 502}, {"status": 200}
    )
    health = target.route("/health", status=503)
    channel = webhook(hook, is_default=True)
    monitor = monitors.create({"name": "API", "url": health, "failure_threshold": 1})
    check(monitor.id, T0)
    work()
    requests = posts(target, "/hook")
    assert len(requests) == 3
    assert len({r.headers["x-upcron-delivery"] for r in requests}) == 1
    assert [json.loads(r.body)["delivery"]["attempt"] for r in requests] == [1, 2, 3]
    [row] = log_rows(channel_id=channel.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert [(a.number, a.ok, a.error) for a in row.attempt_log] == [
        (1, False, "HTTP 500: oops"),
        (2, False, "HTTP 502"),
        (3, True, None),
    ]
    assert queues.queue(queues.NOTIFY).failed_job_registry.get_job_ids() == []


def test_a_receiver_that_always_fails_gets_five_attempts(ctx, target):
    hook = target.route("/hook", status=503)
    webhook(hook, is_default=True)
    monitor = monitors.create(
        {"name": "API", "url": target.route("/h", status=500), "failure_threshold": 1}
    )
    check(monitor.id, T0)
    work()
    assert len(posts(target, "/hook")) == 5
    [row] = log_rows()
    assert (row.status, row.attempts, row.last_error) == ("failed", 5, "HTTP 503")
    assert len(row.attempt_log) == 5


def test_retries_back_off_exponentially(make_app, target):
    app = make_app()  # the real delays: 30 s, 2 min, 8 min, 32 min
    with app.app_context():
        channel = webhook(target.route("/hook", status=500))
        monitor = monitors.create(
            {
                "name": "API",
                "url": target.route("/h", status=500),
                "failure_threshold": 1,
                "channels": [channel.id],
            }
        )
        check(monitor.id, T0)
        [row] = log_rows()
        now = row.next_attempt_at
        for number, delay in enumerate((30, 120, 480, 1920), start=1):
            assert notifications.deliver(row.id, now) == "pending"
            [row] = log_rows()
            assert row.attempts == number
            assert (
                timedelta(seconds=delay) <= row.next_attempt_at - now < timedelta(seconds=delay + 5)
            )
            assert notifications.deliver(row.id, now) is None  # not due yet: nothing sent
            now = row.next_attempt_at
        assert notifications.deliver(row.id, now) == "failed"
        assert len(posts(target, "/hook")) == 5

        # Through RQ: the failed job is scheduled again after its first delay.
        other = monitors.create(
            {
                "name": "Other",
                "url": target.route("/h", status=500),
                "failure_threshold": 1,
                "channels": [channel.id],
            }
        )
        check(other.id, T0)
        SimpleWorker([queues.queue(queues.NOTIFY)], connection=redis_client.conn).work(
            burst=True, with_scheduler=False
        )
        [_, again] = log_rows()
        registry = queues.queue(queues.NOTIFY).scheduled_job_registry
        assert registry.get_job_ids() == [f"notify-{again.id}"]
        assert (again.status, again.attempts) == ("pending", 1)


def test_the_same_transition_processed_twice_sends_one_alert(ctx, target):
    hook = target.route("/hook", status=200)
    webhook(hook, is_default=True)
    health = target.route("/health", status=503)
    monitor = monitors.create({"name": "API", "url": health, "failure_threshold": 1})
    items = [["m", monitor.id, to_ms(T0), 0, "schedule"]]
    jobs.run_batch(items)
    jobs.run_batch(items)  # a retried batch: the result exists, nothing happens twice
    # The same transition reported again after its commit (a worker that died between its
    # commit and the enqueue, as a later heartbeat ping or incident service would report it):
    assert notifications.dispatch([("monitor", monitor.id, "down")]) == []
    assert notifications.dispatch([("monitor", monitor.id, "down")]) == []
    [row] = log_rows()
    # Two jobs for the one row (a lost job re-sent while the first was only late): one send.
    notifications.enqueue([row.id, row.id])
    work()
    assert len(posts(target, "/hook")) == 1
    assert log_rows()[0].attempts == 1


def test_every_channel_has_its_own_job(ctx, target):
    slow = target.route("/slow", status=200, delay=1.0)
    broken = target.route("/broken", status=500)
    fine = target.route("/fine", status=200)
    for name, url in (("slow", slow), ("broken", broken), ("fine", fine)):
        channels.create({"name": name, "kind": "webhook", "url": url, "is_default": True})
    monitor = monitors.create(
        {"name": "API", "url": target.route("/h", status=500), "failure_threshold": 1}
    )
    check(monitor.id, T0)
    assert queues.queue(queues.NOTIFY).count == 3
    work()
    statuses = {row.channel_name: (row.status, row.attempts) for row in log_rows()}
    assert statuses == {"slow": ("sent", 1), "broken": ("failed", 5), "fine": ("sent", 1)}


def test_a_webhook_to_a_refused_address_is_refused_and_logged(ctx):
    ctx.config["TARGET_POLICY"] = "open"  # saved before the operator chose a policy
    channel = webhook("http://169.254.169.254/latest/meta-data/", is_default=True)
    ctx.config["TARGET_POLICY"] = "default"
    result = channels.send_test(channel.id)
    assert result["ok"] is False
    assert "169.254.169.254" in result["error"] and "link-local" in result["error"]
    [row] = log_rows()
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, result["error"])


def test_new_items_get_the_default_channels(ctx):
    default = channels.create(
        {"name": "Default", "kind": "email", "addresses": "ops@example.com", "is_default": True}
    )
    other = channels.create({"name": "Other", "kind": "email", "addresses": "x@example.com"})
    url = "https://example.com/health"
    assert [c.id for c in monitors.create({"name": "A", "url": url}).channels] == [default.id]
    assert monitors.create({"name": "B", "url": url, "channels": []}).channels == []
    chosen = monitors.create({"name": "C", "url": url, "channels": [str(other.id)]})
    assert [c.id for c in chosen.channels] == [other.id]
    job = cron_jobs.create({"name": "J", "url": url, "cron_expr": "0 * * * *"})
    assert [c.id for c in job.channels] == [default.id]
    job = cron_jobs.update(job.id, {"channels": [other.id, default.id]})
    assert {c.id for c in job.channels} == {other.id, default.id}
    with pytest.raises(Exception) as info:
        monitors.update(chosen.id, {"channels": [other.id, 999]})
    assert info.value.fields == {"channels": "No notification channel with id 999."}


def test_disabled_or_deleted_channels_get_nothing(ctx, target):
    kept = webhook(target.route("/kept", status=200), is_default=True)
    off = webhook(target.route("/off", status=200), is_default=True)
    gone = webhook(target.route("/gone", status=200), is_default=True)
    monitor = monitors.create(
        {"name": "API", "url": target.route("/h", status=500), "failure_threshold": 1}
    )
    channels.update(off.id, {"enabled": False})
    check(monitor.id, T0)
    channels.delete(gone.id)  # after its alert was staged, before it was sent
    work()
    rows = log_rows()
    assert [(row.channel_id, row.status) for row in rows] == [
        (kept.id, "sent"),
        (None, "cancelled"),
    ]
    assert rows[1].attempts == 0 and rows[1].attempt_log == []
    assert posts(target, "/off") == [] and posts(target, "/gone") == []


def test_reminders_repeat_while_a_monitor_stays_down(ctx, target):
    webhook(target.route("/hook", status=200), is_default=True)
    monitor = monitors.create(
        {
            "name": "API",
            "url": target.route("/h", status=500),
            "failure_threshold": 1,
            "reminder_hours": 2,
        }
    )
    check(monitor.id, T0)
    # Down since 9 hours ago, so every moment below has passed (a reminder is due at once).
    since = datetime.now(UTC) - timedelta(hours=9)
    db.session.get(Monitor, monitor.id).state_changed_at = since
    db.session.commit()
    assert notifications.remind(since + timedelta(hours=1, minutes=59)) == 0
    assert notifications.remind(since + timedelta(hours=2)) == 1
    assert notifications.remind(since + timedelta(hours=3)) == 0  # the 2-hour one went out
    assert notifications.remind(since + timedelta(hours=9)) == 1  # one, not three
    work()
    events = [json.loads(r.body)["event"] for r in posts(target, "/hook")]
    assert events == ["monitor.down", "monitor.reminder", "monitor.reminder"]
    reminder = json.loads(posts(target, "/hook")[1].body)
    assert reminder["summary"] == "Monitor API is still down"
    assert reminder["detail"] == "Down for 2 h 0 min."


def test_the_upkeep_job_sends_reminders_on_the_maintenance_queue(ctx, target):
    webhook(target.route("/hook", status=200), is_default=True)
    monitor = monitors.create(
        {
            "name": "API",
            "url": target.route("/h", status=500),
            "failure_threshold": 1,
            "reminder_hours": 1,
        }
    )
    check(monitor.id, datetime.now(UTC) - timedelta(hours=2))
    row = db.session.get(Monitor, monitor.id)
    row.state_changed_at = datetime.now(UTC) - timedelta(hours=1, minutes=1)
    db.session.commit()
    queues.queue(queues.MAINTENANCE).enqueue(jobs.send_due_notifications)
    work()
    assert [r.event for r in log_rows()] == ["monitor.down", "monitor.reminder"]
    assert all(r.status == "sent" for r in log_rows())


def test_an_alert_whose_job_was_lost_is_sent_by_the_upkeep(ctx, target):
    webhook(target.route("/hook", status=200), is_default=True)
    monitor = monitors.create(
        {"name": "API", "url": target.route("/h", status=500), "failure_threshold": 1}
    )
    check(monitor.id, T0)
    queues.queue(queues.NOTIFY).empty()  # Redis lost the job (restarted, flushed)
    [row] = log_rows()
    assert notifications.requeue_lost(row.next_attempt_at + timedelta(minutes=1)) == 0
    assert notifications.requeue_lost(row.next_attempt_at + timedelta(minutes=3)) == 1
    # Its new job is queued: the next upkeep leaves it alone.
    assert notifications.requeue_lost(row.next_attempt_at + timedelta(minutes=4)) == 0
    work()
    assert log_rows()[0].status == "sent"
    assert len(posts(target, "/hook")) == 1


def test_an_incident_update_is_announced_once(ctx, target):
    webhook(target.route("/hook", status=200), is_default=True)
    monitor = monitors.create(
        {"name": "API", "url": target.route("/h", status=500), "failure_threshold": 1}
    )
    check(monitor.id, T0)
    incident = db.session.execute(sa.select(Incident)).scalar_one()
    incident.updates.append(
        IncidentUpdate(kind="comment", message="We are restarting the database.")
    )
    db.session.commit()
    assert len(notifications.incident_changed(incident.id, "updated")) == 1
    assert notifications.incident_changed(incident.id, "updated") == []
    work()
    update = json.loads(posts(target, "/hook")[-1].body)
    assert update["event"] == "incident.updated"
    assert update["summary"] == "Incident updated: API is down"
    assert update["detail"] == "We are restarting the database."
    assert update["incident"]["update"]["message"] == "We are restarting the database."
    assert update["subject"]["id"] == monitor.id
    with pytest.raises(ValueError):
        notifications.incident_changed(incident.id, "deleted")


def test_heartbeat_events_read_without_changes(ctx, target):
    webhook(target.route("/hook", status=200), is_default=True)
    heartbeat = Monitor(
        kind="heartbeat",
        name="Nightly backup",
        slug="nightly-backup",
        state="late",
        state_changed_at=T0,
        code="0b7c1a52-0000-4000-8000-000000000001",
        period_sec=86400,
    )
    heartbeat.channels = channels.defaults()
    db.session.add(heartbeat)
    db.session.commit()
    notifications.dispatch([("monitor", heartbeat.id, "late")], T0)
    work()
    [late] = [json.loads(r.body) for r in posts(target, "/hook")]
    assert (late["event"], late["severity"]) == ("monitor.late", "warning")
    assert late["summary"] == "Heartbeat Nightly backup is late"
    assert late["subject"]["kind"] == "heartbeat"


def test_a_heartbeat_can_keep_late_to_itself(ctx, target):
    webhook(target.route("/hook", status=200), is_default=True)
    heartbeat = monitors.create(
        {"kind": "heartbeat", "name": "Quiet", "period_sec": 3600, "notify_late": False}
    )
    notifications.dispatch([("monitor", heartbeat.id, "late")], T0)
    notifications.dispatch([("monitor", heartbeat.id, "down")], T0)
    work()
    assert [json.loads(r.body)["event"] for r in posts(target, "/hook")] == ["monitor.down"]


def test_cron_preferences_choose_the_events(ctx, target):
    webhook(target.route("/hook", status=200), is_default=True)
    url = target.route("/job", status=500)
    job = cron_jobs.create(
        {"name": "Quiet", "url": url, "cron_expr": "* * * * *", "notify_on_failure": False}
    )
    run(job.id, T0)
    target.route("/job", status=200)
    run(job.id, T0 + timedelta(minutes=1))
    work()
    assert [json.loads(r.body)["event"] for r in posts(target, "/hook")] == ["cron_job.recovered"]


def test_a_cron_jobs_payload_status_follows_its_health(ctx, target):
    webhook(target.route("/hook", status=200), is_default=True)
    url = target.route("/job", status=500)
    flaky = cron_jobs.create({"name": "Flaky", "url": url, "cron_expr": "* * * * *"})
    broken = cron_jobs.create(
        {"name": "Broken", "url": url, "cron_expr": "* * * * *", "auto_disable_after": 2}
    )
    run(flaky.id, T0)
    run(broken.id, T0)
    run(broken.id, T0 + timedelta(minutes=1))  # the second failure in a row disables it
    target.route("/job", status=200)
    run(flaky.id, T0 + timedelta(minutes=1))
    work()
    events = [json.loads(r.body) for r in posts(target, "/hook")]
    assert sorted((e["subject"]["name"], e["event"], e["status"]) for e in events) == [
        ("Broken", "cron_job.disabled", "disabled"),
        ("Broken", "cron_job.failed", "failing"),
        ("Flaky", "cron_job.failed", "failing"),
        ("Flaky", "cron_job.recovered", "ok"),
    ]


def test_the_scheduler_enqueues_the_upkeep_every_minute(ctx):
    from app.engine.scheduler import Scheduler

    scheduler = Scheduler(conn=redis_client.conn)
    now = datetime.now(UTC)
    scheduler.tick(now)
    scheduler.tick(now)  # within the minute: not again
    ids = queues.queue(queues.MAINTENANCE).get_job_ids()
    assert ids.count(f"notify-upkeep-{now:%Y%m%d%H%M}") == 1


def test_the_log_is_pruned_with_raw_history(ctx):
    from app.models import NotificationAttempt
    from app.services import history

    ctx.config["TARGET_POLICY"] = "strict"
    channel = webhook("http://localhost/")  # refused when sent
    channels.send_test(channel.id)
    [row] = log_rows()
    row.created_at = datetime.now(UTC) - timedelta(days=31)
    db.session.commit()
    channels.send_test(channel.id)
    counts = history.prune(datetime.now(UTC))
    assert counts["notification_log"] == 1
    assert [r.id for r in log_rows()] == [row.id + 1]
    assert db.session.execute(sa.select(sa.func.count(NotificationAttempt.id))).scalar() == 1
    db.session.commit()


def test_a_worker_whose_clock_is_behind_still_sends_a_new_alert(ctx, target):
    webhook(target.route("/hook", status=200), is_default=True)
    monitor = monitors.create(
        {"name": "API", "url": target.route("/h", status=500), "failure_threshold": 1}
    )
    check(monitor.id, T0)
    [row] = log_rows()
    assert notifications.deliver(row.id, row.next_attempt_at - timedelta(seconds=2)) == "sent"


def test_a_row_pruned_while_its_alert_is_sent_ends_the_attempt_quietly(ctx, target):
    """The history prune deletes an old log row while its webhook is in flight: the send
    finds no row to record on and ends without an error, rather than failing its job."""
    webhook(target.route("/hook", status=200, delay=1.0), is_default=True)
    monitor = monitors.create(
        {"name": "API", "url": target.route("/h", status=500), "failure_threshold": 1}
    )
    check(monitor.id, T0)
    [row] = log_rows()
    outcome = {}

    def send():
        with ctx.app_context():
            outcome["status"] = notifications.deliver(row.id, row.next_attempt_at)
            db.session.remove()

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 10
    while not posts(target, "/hook") and time.monotonic() < deadline:
        time.sleep(0.01)
    db.session.execute(sa.delete(NotificationLog).where(NotificationLog.id == row.id))
    db.session.commit()
    sender.join(timeout=15)
    assert outcome == {"status": None}
    assert log_rows() == []
