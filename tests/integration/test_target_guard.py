"""The target policy's one guard, at every place a user types a destination the server then
connects to: monitor and cron job URLs, webhook and Apprise channels, the mail server set in
the dashboard. Under ``strict``, canary listeners on 127.0.0.1 and ::1 must see no connection.

Items are saved under the ``default`` policy and the app is then switched to ``strict``, as
an operator tightening the policy finds them: a literal loopback address is refused when it is
saved (tested below too), but the check that matters is the one made when connecting.
"""

from __future__ import annotations

import smtplib
import socket
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa
from flask import current_app

from app.engine import address_policy
from app.engine.address_policy import Refused, guarded_resolution
from app.engine.scheduler import to_ms
from app.extensions import db
from app.models import CheckResult, CronExecution, NotificationLog
from app.services import channels, cron_jobs, monitors, smtp
from app.services.errors import ValidationError
from app.tasks import jobs
from tests.pipeline import work
from tests.targets import MailServer, SilentListener

T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
SENDER = "Upcron <alerts@example.com>"


def _has_ipv6_loopback() -> bool:
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        return False
    return True


IPV6 = _has_ipv6_loopback()
needs_ipv6 = pytest.mark.skipif(not IPV6, reason="no IPv6 loopback on this machine")


class Canaries:
    """A silent listener on 127.0.0.1 and one on ::1 (where the machine has it)."""

    def __init__(self):
        self.v4 = SilentListener("127.0.0.1")
        self.v6 = SilentListener("::1") if IPV6 else None

    def hosts(self) -> list[tuple[str, int]]:
        """Every spelling of loopback a user could type, with the port of its canary."""
        found = [
            ("127.0.0.1", self.v4.port),
            ("localhost", self.v4.port),
            ("2130706433", self.v4.port),
            ("0x7f.1", self.v4.port),
            ("[::ffff:127.0.0.1]", self.v4.port),
            ("[::127.0.0.1]", self.v4.port),
        ]
        if self.v6:
            found += [("[::1]", self.v6.port), ("[::1%25lo]", self.v6.port)]
        return found

    def port(self, host: str) -> int:
        return dict(self.hosts())[host]

    def accepted(self) -> int:
        """Connections received, counted exactly (the listeners close, once)."""
        for listener in (self.v4, self.v6):
            if listener:
                listener.close()
        return self.v4.accepted + (self.v6.accepted if self.v6 else 0)


@pytest.fixture
def canaries():
    watching = Canaries()
    yield watching
    watching.accepted()


@pytest.fixture
def ctx(make_app):
    app = make_app(NOTIFY_RETRY_DELAYS=(0, 0, 0, 0))
    with app.app_context():
        yield app


def strict(app) -> None:
    app.config["TARGET_POLICY"] = "strict"


def log_rows() -> list[NotificationLog]:
    db.session.remove()
    rows = list(
        db.session.execute(sa.select(NotificationLog).order_by(NotificationLog.id)).scalars()
    )
    db.session.commit()
    return rows


def a_monitor_goes_down(canaries) -> None:
    """A monitor on the canary: its check is refused too, it goes down, and alerts go out."""
    monitor = monitors.create(
        {"name": "API", "url": f"http://127.0.0.1:{canaries.v4.port}/", "failure_threshold": 1}
    )
    strict(current_app)
    jobs.run_batch([["m", monitor.id, to_ms(T0), 0, "schedule"]])
    work()


def assert_refused(error: str) -> None:
    assert error.startswith("Refused by the target policy 'strict': "), error
    assert "is a loopback address" in error


# --- checks, cron jobs and webhooks: the probe -----------------------------------------------


def test_monitors_cron_jobs_and_webhooks_never_reach_loopback(ctx, canaries):
    hosts = canaries.hosts()
    items = []
    for host, port in hosts:
        url = f"http://{host}:{port}/"
        monitor = monitors.create({"name": f"M {host}", "url": url})
        job = cron_jobs.create({"name": f"C {host}", "url": url, "cron_expr": "0 * * * *"})
        hook = channels.create({"name": f"W {host}", "kind": "webhook", "url": url})
        items.append((monitor.id, job.id, hook.id))
    strict(ctx)
    batch = [["m", m, to_ms(T0), 0, "schedule"] for m, _, _ in items]
    batch += [["c", c, to_ms(T0), 0, "schedule"] for _, c, _ in items]
    jobs.run_batch(batch)
    for (host, _port), (monitor_id, job_id, hook_id) in zip(hosts, items, strict=True):
        [result] = db.session.execute(sa.select(CheckResult).filter_by(monitor_id=monitor_id))
        [execution] = db.session.execute(sa.select(CronExecution).filter_by(cron_job_id=job_id))
        for row in (result[0], execution[0]):
            assert row.outcome == "failed_blocked_target", host
            assert_refused(row.error)
        test = channels.send_test(hook_id)
        assert test["ok"] is False
        assert_refused(test["error"])
    assert canaries.accepted() == 0


# --- Apprise ---------------------------------------------------------------------------------

APPRISE_HOSTS = ["127.0.0.1", "localhost", "2130706433", pytest.param("[::1]", marks=needs_ipv6)]


@pytest.mark.parametrize("host", APPRISE_HOSTS)
def test_apprise_channels_never_reach_loopback(ctx, canaries, host):
    channel = channels.create(
        {
            "name": "json",
            "kind": "apprise",
            "url": f"json://{host}:{canaries.port(host)}/x",
            "is_default": True,
        }
    )
    a_monitor_goes_down(canaries)  # the real alert, through the notify queue and a worker
    test = channels.send_test(channel.id)
    assert test["ok"] is False
    assert_refused(test["error"])
    alert, tested = log_rows()
    assert (alert.event, alert.status, alert.attempts) == ("monitor.down", "failed", 1)
    assert_refused(alert.last_error)
    assert (tested.status, tested.last_error) == ("failed", test["error"])
    assert canaries.accepted() == 0


@pytest.mark.parametrize("host", ["[::ffff:127.0.0.1]", "[::1%25lo]", "[::127.0.0.1]"])
def test_apprise_urls_it_cannot_read_are_refused_when_saved(ctx, canaries, host):
    with pytest.raises(ValidationError) as info:
        channels.create(
            {"name": "json", "kind": "apprise", "url": f"json://{host}:{canaries.v4.port}/x"}
        )
    assert "Apprise does not read this URL" in info.value.fields["url"]


def rebinding(monkeypatch, name: str, first_answer: str) -> None:
    """The check before the send sees ``first_answer`` for ``name``; every later lookup gets
    the system's answer (loopback for localhost), as a rebinding DNS server would arrange."""
    system = address_policy.resolve

    def first_public(host, port):
        return [first_answer] if host == name else system(host, port)

    monkeypatch.setattr(address_policy, "resolve", first_public)


def test_apprise_is_refused_loopback_even_after_the_check_passed(ctx, canaries, monkeypatch):
    channel = channels.create(
        {"name": "json", "kind": "apprise", "url": f"json://localhost:{canaries.v4.port}/x"}
    )
    strict(ctx)
    rebinding(monkeypatch, "localhost", "93.184.216.34")
    test = channels.send_test(channel.id)
    assert test["ok"] is False
    assert_refused(test["error"])
    assert "(an address of localhost)" in test["error"]
    assert canaries.accepted() == 0


# --- the mail server typed in the dashboard ---------------------------------------------------

SMTP_HOSTS = ["127.0.0.1", "localhost", "::ffff:127.0.0.1", pytest.param("::1", marks=needs_ipv6)]


def dashboard_smtp(host: str, port: int) -> None:
    smtp.update({"host": host, "port": port, "security": "none", "sender": SENDER})


@pytest.mark.parametrize("host", SMTP_HOSTS)
def test_a_dashboard_mail_server_on_loopback_is_never_connected_to(ctx, canaries, host):
    port = canaries.v6.port if host == "::1" else canaries.v4.port
    dashboard_smtp(host, port)
    channel = channels.create(
        {"name": "Mail", "kind": "email", "addresses": "ops@example.com", "is_default": True}
    )
    a_monitor_goes_down(canaries)
    test = channels.send_test(channel.id)
    assert test["ok"] is False
    assert test["error"].startswith(f"E-mail through {host}:{port}: Refused by the target policy")
    assert "is a loopback address" in test["error"]
    alert, _tested = log_rows()
    assert (alert.status, alert.attempts) == ("failed", 1)
    assert canaries.accepted() == 0


def test_smtplib_connects_only_to_the_address_that_was_checked(ctx, canaries, monkeypatch):
    dashboard_smtp("localhost", canaries.v4.port)
    channel = channels.create({"name": "Mail", "kind": "email", "addresses": "ops@example.com"})
    strict(ctx)
    rebinding(monkeypatch, "localhost", "93.184.216.34")
    test = channels.send_test(channel.id)
    assert test["ok"] is False and "is a loopback address" in test["error"]
    assert canaries.accepted() == 0


def test_the_operators_own_mail_server_is_trusted(make_app):
    """UPCRON_SMTP_HOST is configuration, not user input: a local relay works under strict."""
    with MailServer() as mail:
        settings = {"host": "127.0.0.1", "port": mail.port, "security": "none"}
        app = make_app(
            TARGET_POLICY="strict",
            SMTP={**settings, "username": None, "password": None, "sender": SENDER},
        )
        with app.app_context():
            channel = channels.create(
                {"name": "Mail", "kind": "email", "addresses": "ops@example.com"}
            )
            assert channels.send_test(channel.id)["ok"] is True
        assert len(mail.mails) == 1


# --- refused when saved ------------------------------------------------------------------------


def test_literal_forbidden_addresses_are_refused_when_saved(ctx, canaries):
    strict(ctx)
    url = f"http://[::1]:{canaries.v4.port}/"
    attempts = [
        (monitors.create, {"name": "M", "url": url}, "url"),
        (cron_jobs.create, {"name": "C", "url": url, "cron_expr": "0 * * * *"}, "url"),
        (channels.create, {"name": "W", "kind": "webhook", "url": url}, "url"),
        (
            channels.create,
            {"name": "A", "kind": "apprise", "url": f"json://2130706433:{canaries.v4.port}/"},
            "url",
        ),
        (smtp.update, {"host": "[::1]", "sender": SENDER}, "host"),
    ]
    for create, data, field in attempts:
        with pytest.raises(ValidationError) as info:
            create(data)
        message = info.value.fields[field]
        assert message.startswith("The target policy 'strict' refuses it: "), message
        assert "is a loopback address" in message
    ctx.config["TARGET_POLICY"] = "default"
    with pytest.raises(ValidationError) as info:
        monitors.create({"name": "Metadata", "url": "http://169.254.169.254/latest/"})
    assert info.value.fields["url"] == (
        "The target policy 'default' refuses it: 169.254.169.254 is a link-local address."
    )
    # A name is judged when connecting, not when saved: its addresses may change.
    strict(ctx)
    assert monitors.create({"name": "Named", "url": "http://localhost/"}).id
    assert canaries.accepted() == 0


def test_the_api_says_why_a_destination_is_refused(make_app, canaries):
    from app.services import api_keys

    app = make_app(TARGET_POLICY="strict")
    with app.app_context():
        _key, secret = api_keys.create({"name": "all", "scopes": ["*"]})
    response = app.test_client().post(
        "/api/monitors",
        json={"name": "M", "url": f"http://127.0.0.1:{canaries.v4.port}/"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 422
    assert "127.0.0.1 is a loopback address" in response.get_json()["fields"]["url"]


# --- the mechanism for libraries that connect by themselves -----------------------------------


def test_guarded_resolution_refuses_what_libraries_look_up(canaries):
    url = canaries.v4.url("/")
    with guarded_resolution("strict") as refusals:
        with pytest.raises(requests.ConnectionError):
            requests.get(url.replace("127.0.0.1", "localhost"), timeout=2)
        with pytest.raises(Refused):
            smtplib.SMTP("127.0.0.1", canaries.v4.port, timeout=2)
    assert [r.reason for r in refusals] == [
        "127.0.0.1 is a loopback address (an address of localhost)",
        "127.0.0.1 is a loopback address",
    ]
    assert canaries.accepted() == 0


def test_outside_the_block_lookups_are_untouched(canaries):
    with guarded_resolution("strict"):
        pass
    with socket.create_connection(("localhost", canaries.v4.port), timeout=2):
        pass
    assert canaries.accepted() == 1
