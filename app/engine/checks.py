"""What one check of a monitor, or one execution of a cron job, is: the request we send and
how we judge the answer. The probe only fetches (a tcp monitor's check only connects, a dns
monitor's only asks a resolver); these
rules decide success."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from app.engine.assertions import Assertion, evaluate, needs_body
from app.engine.dns_check import DnsRequest, query
from app.engine.probe import ProbeRequest, ProbeResult, probe
from app.engine.status_codes import parse_status_ranges, status_matches
from app.engine.tcp import ConnectRequest, connect
from app.models import CronJob, Monitor
from app.models.history import FAILED_ASSERTION, FAILED_HTTP_STATUS, FAILED_KEYWORD, OK
from app.models.monitor import KIND_DNS, KIND_TCP

# The whole body we accept is searched for the keyword (and read by body and json assertions).
KEYWORD_SCAN_BYTES = 1024 * 1024
SAVED_BODY_BYTES = 64 * 1024  # what a cron job with save_responses keeps
# Stable across retries of one slot, so a target can de-duplicate a re-sent execution.
_EXECUTION_NAMESPACE = uuid.UUID("5b0f3c52-7d0e-4f43-9d2b-2f8a4c1e9a61")


@dataclass
class Outcome:
    """One finished check or execution, ready to be recorded."""

    kind: str  # "m" monitor, "c" cron job
    subject_id: int
    planned_at: datetime
    started_at: datetime
    trigger: str
    missed: int
    outcome: str
    error: str | None
    result: ProbeResult
    execution_uid: str | None = None
    extra: dict = field(default_factory=dict)


def execution_uid(cron_job_id: int, planned_ms: int) -> str:
    return str(uuid.uuid5(_EXECUTION_NAMESPACE, f"{cron_job_id}@{planned_ms}"))


def _auth(row) -> tuple[str, str] | None:
    if row.auth_username:
        return row.auth_username, row.auth_password or ""
    return None


def monitor_request(
    monitor: Monitor, policy: str, ca_bundle: str | None
) -> ProbeRequest | ConnectRequest | DnsRequest:
    if monitor.kind == KIND_DNS:
        return DnsRequest(
            host=monitor.host,
            record_type=monitor.record_type,
            resolver=monitor.resolver,
            expected_values=tuple(monitor.expected_values or ()),
            timeout_ms=monitor.timeout_ms,
            policy=policy,
        )
    if monitor.kind == KIND_TCP:
        return ConnectRequest(
            host=monitor.host,
            port=monitor.port,
            tls=monitor.tls,
            timeout_ms=monitor.timeout_ms,
            policy=policy,
            ca_bundle=ca_bundle,
        )
    return ProbeRequest(
        url=monitor.url,
        method=monitor.method,
        headers=dict(monitor.headers or {}),
        body=monitor.body,
        auth=_auth(monitor),
        timeout_ms=monitor.timeout_ms,
        follow_redirects=monitor.follow_redirects,
        max_redirects=monitor.max_redirects,
        keep_body_bytes=KEYWORD_SCAN_BYTES if _reads_body(monitor) else 0,
        policy=policy,
        ca_bundle=ca_bundle,
    )


def _reads_body(monitor: Monitor) -> bool:
    """A keyword, or a body or json assertion, needs the body; otherwise none is kept."""
    return bool(monitor.keyword) or needs_body(_assertions(monitor))


def _assertions(monitor: Monitor) -> tuple[Assertion, ...]:
    return tuple(Assertion.from_stored(item) for item in monitor.assertions or ())


def run(request: ProbeRequest | ConnectRequest | DnsRequest) -> ProbeResult:
    """Make a check's request: a connection for a tcp monitor, a query for a dns monitor
    (which judges its own answer), the HTTP probe otherwise."""
    if isinstance(request, DnsRequest):
        return query(request)
    return connect(request) if isinstance(request, ConnectRequest) else probe(request)


def cron_request(job: CronJob, uid: str, policy: str, ca_bundle: str | None) -> ProbeRequest:
    """Cron jobs do not follow redirects: a 3xx is the answer (success with redirect_success)."""
    return ProbeRequest(
        url=job.url,
        method=job.method,
        headers={**(job.headers or {}), "X-Upcron-Execution-Id": uid},
        body=job.body,
        auth=_auth(job),
        timeout_ms=job.timeout_ms,
        follow_redirects=False,
        keep_body_bytes=SAVED_BODY_BYTES if job.save_responses else 0,
        policy=policy,
        ca_bundle=ca_bundle,
    )


@dataclass(frozen=True)
class Rules:
    """What makes an answer a success; a plain copy, safe to use in probing threads."""

    expected_status: str | None  # None: nothing to judge beyond the connection (tcp)
    keyword: str | None = None
    keyword_absent: bool = False
    redirect_success: bool = False
    assertions: tuple[Assertion, ...] = ()


def monitor_rules(monitor: Monitor) -> Rules:
    if monitor.kind in (KIND_TCP, KIND_DNS):
        return Rules(None)
    return Rules(
        monitor.expected_status,
        monitor.keyword,
        monitor.keyword_absent,
        assertions=_assertions(monitor),
    )


def cron_rules(job: CronJob) -> Rules:
    return Rules(job.expected_status, redirect_success=job.redirect_success)


def judge(rules: Rules, result: ProbeResult) -> tuple[str, str | None]:
    """Transport first, then the expected status (3xx too with redirect_success), then the
    keyword (present, or absent when so configured), then every response assertion."""
    if result.outcome != OK or rules.expected_status is None:
        return result.outcome, result.error
    code = result.status_code
    redirect_ok = rules.redirect_success and 300 <= code <= 399
    if not redirect_ok and not status_matches(code, parse_status_ranges(rules.expected_status)):
        return FAILED_HTTP_STATUS, f"HTTP {code}, expected {rules.expected_status}"
    if rules.keyword:
        found = rules.keyword in result.body.decode("utf-8", errors="replace")
        if rules.keyword_absent and found:
            return FAILED_KEYWORD, f"The response contains {rules.keyword!r}, which must not appear"
        if not rules.keyword_absent and not found:
            return FAILED_KEYWORD, f"The response does not contain {rules.keyword!r}"
    if rules.assertions and (reason := evaluate(rules.assertions, result)):
        return FAILED_ASSERTION, reason
    return OK, None
