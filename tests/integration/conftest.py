"""Fixtures for the JSON API tests (keys, a client that sends them, seeded objects) and for
the TLS targets (a certificate authority of the tests' own)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import trustme

from app.engine.scheduler import Scheduler
from app.extensions import db, redis_client
from app.models import CheckResult, CronExecution
from app.services import api_keys, channels, cron_jobs, incidents, maintenance, monitors, tags


@pytest.fixture(scope="session")
def ca():
    """A CA for the tests' HTTPS and TLS targets, trusted through ``ca_bundle``."""
    return trustme.CA()


@pytest.fixture
def ca_bundle(ca, tmp_path):
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


class Api:
    """A test client for /api that creates keys and sends them as a real client would."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def create_key(self, *scopes: str, **fields):
        """Create a key (``*`` by default, with a high rate limit); returns (id, secret)."""
        data = {"name": "test key", "scopes": list(scopes) or ["*"], "rate_limit_per_sec": 1000}
        with self.app.app_context():
            key, secret = api_keys.create({**data, **fields})
            return key.id, secret

    def key(self, *scopes: str, **fields) -> str:
        return self.create_key(*scopes, **fields)[1]

    def call(self, method: str, path: str, key: str | None = None, headers=None, **kwargs):
        headers = dict(headers or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, key=None, **kwargs):
        return self.call("GET", path, key, **kwargs)

    def post(self, path, key=None, **kwargs):
        return self.call("POST", path, key, **kwargs)

    def put(self, path, key=None, **kwargs):
        return self.call("PUT", path, key, **kwargs)

    def patch(self, path, key=None, **kwargs):
        return self.call("PATCH", path, key, **kwargs)

    def delete(self, path, key=None, **kwargs):
        return self.call("DELETE", path, key, **kwargs)


@pytest.fixture
def api(app):
    return Api(app)


@pytest.fixture
def root_key(api):
    """A key holding every scope."""
    return api.key("*")


@pytest.fixture
def seeded(app):
    """One of everything the API can address: monitor with a check, cron job with an
    execution, an open incident on each, a spare API key, a notification channel and a
    maintenance window and a tag. Returns their ids.

    The channel sends e-mail and the tests configure no e-mail server, so a test send through
    it fails at once without touching the network, whoever calls it.
    """
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        monitor = monitors.create({"name": "Shop", "url": "https://shop.example.com/health"})
        job = cron_jobs.create(
            {"name": "Backup", "url": "https://ops.example.com/backup", "cron_expr": "0 2 * * *"}
        )
        check = CheckResult(
            monitor_id=monitor.id,
            planned_at=now - timedelta(minutes=1),
            started_at=now - timedelta(minutes=1),
            outcome="failed_http_status",
            status_code=503,
            error="HTTP 503",
            connect_us=1200,
            total_us=5400,
        )
        execution = CronExecution(
            cron_job_id=job.id,
            execution_uid=str(uuid.uuid4()),
            planned_at=now - timedelta(hours=1),
            started_at=now - timedelta(hours=1),
            duration_ms=42,
            outcome="ok",
            status_code=200,
            response_headers={"Content-Type": "text/plain"},
            response_body="backup done",
            dns_us=300,
            connect_us=900,
            first_byte_us=30000,
            total_us=42000,
        )
        db.session.add_all([check, execution])
        monitor_incident = incidents.open_incident(
            monitor_id=monitor.id, title="Shop is down", cause="HTTP 503", now=now
        )
        job_incident = incidents.open_incident(
            cron_job_id=job.id, title="Cron job Backup is failing", cause="timeout", now=now
        )
        db.session.commit()
        spare, _ = api_keys.create({"name": "spare", "scopes": ["api-keys:read"]})
        channel = channels.create({"name": "Ops", "kind": "email", "addresses": "ops@example.com"})
        # Far ahead, so that it covers nothing while tests run.
        window = maintenance.create(
            {
                "title": "Data centre move",
                "starts_at": datetime(2099, 1, 1, tzinfo=UTC),
                "ends_at": datetime(2099, 1, 2, tzinfo=UTC),
                "monitor_ids": [monitor.id],
            }
        )
        tag = tags.create({"name": "prod"})
        return {
            "monitor_id": monitor.id,
            "cron_job_id": job.id,
            "check_id": check.id,
            "execution_id": execution.id,
            "incident_id": monitor_incident.id,
            "job_incident_id": job_incident.id,
            "key_id": spare.id,
            "channel_id": channel.id,
            "window_id": window.id,
            "tag_id": tag.id,
        }


@pytest.fixture
def scheduler(app):
    """A scheduler on the test Redis whose due set was built from SQL, as a leader's is."""
    with app.app_context():
        scheduler = Scheduler(conn=redis_client.conn)
        scheduler.rebuild()
        yield scheduler
