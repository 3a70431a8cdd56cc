"""What one check of a monitor, or one execution of a cron job, is: the request we send and
how we judge the answer. The probe only fetches (a tcp monitor's check only connects, a dns
monitor's only asks a resolver, a ping monitor's only sends echo requests); these rules
decide success, and whether a success comes with a warning (a degraded answer)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from app.engine import certificates
from app.engine.assertions import Assertion, evaluate, needs_body
from app.engine.dns_check import DnsRequest, query
from app.engine.icmp import EchoRequest, ping
from app.engine.probe import ProbeRequest, ProbeResult, probe
from app.engine.status_codes import parse_status_ranges, status_matches
from app.engine.tcp import ConnectRequest, connect
from app.models import CronJob, Monitor
from app.models.history import FAILED_ASSERTION, FAILED_HTTP_STATUS, FAILED_KEYWORD, OK
from app.models.monitor import KIND_DNS, KIND_PING, KIND_TCP, WARNING_CERTIFICATE, WARNING_SLOW

# The whole body we accept is searched for the keyword (and read by body and json assertions).
KEYWORD_SCAN_BYTES = 1024 * 1024
SAVED_BODY_BYTES = 64 * 1024  # what a cron job with save_responses keeps
# Stable across retries of one slot, so a target can de-duplicate a re-sent execution.
_EXECUTION_NAMESPACE = uuid.UUID("5b0f3c52-7d0e-4f43-9d2b-2f8a4c1e9a61")

# What one check sends: a probe (http, keyword, cron jobs), a connection, a lookup or echoes.
Request = ProbeRequest | ConnectRequest | DnsRequest | EchoRequest

_T = TypeVar("_T")


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
    # A successful check's warning: a sentence for people, and its kind (WARNING_KINDS).
    warning: str | None = None
    warning_kind: str | None = None


def execution_uid(cron_job_id: int, planned_ms: int) -> str:
    return str(uuid.uuid5(_EXECUTION_NAMESPACE, f"{cron_job_id}@{planned_ms}"))


def _auth(row) -> tuple[str, str] | None:
    if row.auth_username:
        return row.auth_username, row.auth_password or ""
    return None


def _required(value: _T | None, field: str, monitor: Monitor) -> _T:
    """A field the monitor's kind cannot do without; the services never store one without it."""
    if value is None:
        raise ValueError(f"Monitor {monitor.id} ({monitor.kind}) has no {field}")
    return value


def monitor_request(monitor: Monitor, policy: str, ca_bundle: str | None) -> Request:
    if monitor.kind == KIND_PING:
        return EchoRequest(
            host=_required(monitor.host, "host", monitor),
            packets=_required(monitor.packets, "packets", monitor),
            max_loss_pct=_required(monitor.max_loss_pct, "max_loss_pct", monitor),
            timeout_ms=monitor.timeout_ms,
            policy=policy,
        )
    if monitor.kind == KIND_DNS:
        return DnsRequest(
            host=_required(monitor.host, "host", monitor),
            record_type=_required(monitor.record_type, "record_type", monitor),
            resolver=monitor.resolver,
            expected_values=tuple(monitor.expected_values or ()),
            timeout_ms=monitor.timeout_ms,
            policy=policy,
        )
    if monitor.kind == KIND_TCP:
        return ConnectRequest(
            host=_required(monitor.host, "host", monitor),
            port=_required(monitor.port, "port", monitor),
            tls=monitor.tls,
            timeout_ms=monitor.timeout_ms,
            policy=policy,
            ca_bundle=ca_bundle,
            tls_verify=monitor.tls_verify,
        )
    return ProbeRequest(
        url=_required(monitor.url, "url", monitor),
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
        tls_verify=monitor.tls_verify,
    )


def _reads_body(monitor: Monitor) -> bool:
    """A keyword, or a body or json assertion, needs the body; otherwise none is kept."""
    return bool(monitor.keyword) or needs_body(_assertions(monitor))


def _assertions(monitor: Monitor) -> tuple[Assertion, ...]:
    return tuple(Assertion.from_stored(item) for item in monitor.assertions or ())


def run(request: Request) -> ProbeResult:
    """Make a check's request: a connection for a tcp monitor, a query for a dns monitor and
    echo requests for a ping monitor (both judge their own answers), the HTTP probe
    otherwise."""
    if isinstance(request, EchoRequest):
        return ping(request)
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
        tls_verify=job.tls_verify,
    )


@dataclass(frozen=True)
class Rules:
    """What makes an answer a success; a plain copy, safe to use in probing threads."""

    expected_status: str | None  # None: nothing to judge beyond the connection (tcp)
    keyword: str | None = None
    keyword_absent: bool = False
    redirect_success: bool = False
    degraded_after_ms: int | None = None  # a slower success warns; None: never
    tls_expiry_warn_days: int = 0  # a certificate expiring this soon is a warning; 0: off
    assertions: tuple[Assertion, ...] = ()


def monitor_rules(monitor: Monitor) -> Rules:
    if monitor.kind in (KIND_DNS, KIND_PING):
        return Rules(None, degraded_after_ms=monitor.degraded_after_ms)
    if monitor.kind == KIND_TCP:
        return Rules(
            None,
            degraded_after_ms=monitor.degraded_after_ms,
            tls_expiry_warn_days=monitor.tls_expiry_warn_days,
        )
    return Rules(
        monitor.expected_status,
        monitor.keyword,
        monitor.keyword_absent,
        degraded_after_ms=monitor.degraded_after_ms,
        tls_expiry_warn_days=monitor.tls_expiry_warn_days,
        assertions=_assertions(monitor),
    )


def cron_rules(job: CronJob) -> Rules:
    return Rules(
        job.expected_status,
        redirect_success=job.redirect_success,
        tls_expiry_warn_days=job.tls_expiry_warn_days,
    )


def judge(rules: Rules, result: ProbeResult) -> tuple[str, str | None]:
    """Transport first, then the expected status (3xx too with redirect_success), then the
    keyword (present, or absent when so configured), then every response assertion."""
    code = result.status_code
    # Nothing to judge beyond the connection, or (with the outcome OK, for a probe) never so.
    if result.outcome != OK or rules.expected_status is None or code is None:
        return result.outcome, result.error
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


def warning(rules: Rules, result: ProbeResult, now: datetime) -> tuple[str, str] | None:
    """(kind, sentence) when a check judged a success still warns, else None: a certificate
    that expires within ``tls_expiry_warn_days`` (it needs someone to act, so it is named
    first), or an answer slower than ``degraded_after_ms``. Call it only for successes; a
    failure is down, which says more than any warning. A ping's speed is its average round
    trip: its whole check also spans the pauses between echo requests."""
    expiring = certificates.certificate_warning(rules.tls_expiry_warn_days, result.certificate, now)
    if expiring:
        return WARNING_CERTIFICATE, expiring
    if rules.degraded_after_ms is None:
        return None
    if result.rtt_avg_us is not None:
        took_ms, what = round(result.rtt_avg_us / 1000), "Round trips took"
    else:
        took_ms, what = round(result.total_us / 1000), "Answered in"
    if took_ms > rules.degraded_after_ms:
        return (
            WARNING_SLOW,
            f"{what} {took_ms:,} ms, slower than {rules.degraded_after_ms:,} ms",
        )
    return None
