"""Raw history (check results, cron executions, pings), pruned by the history TTL, and the
daily rollups the status page and uptime figures read instead of raw rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow

# Outcome kinds shared by check results and cron executions.
OK = "ok"
FAILED_DNS = "failed_dns"
FAILED_CONNECT = "failed_connect"
FAILED_TIMEOUT = "failed_timeout"
FAILED_TLS = "failed_tls"
FAILED_TOO_MUCH_DATA = "failed_too_much_data"
FAILED_HTTP_STATUS = "failed_http_status"
FAILED_KEYWORD = "failed_keyword"
FAILED_DNS_ANSWER = "failed_dns_answer"  # a dns monitor's answer lacks an expected value
FAILED_PACKET_LOSS = "failed_packet_loss"  # a ping monitor lost more echoes than allowed
FAILED_ASSERTION = "failed_assertion"  # an http monitor's response assertion does not hold
FAILED_BLOCKED_TARGET = "failed_blocked_target"
FAILED_INTERNAL = "failed_internal"
OUTCOMES = (
    OK,
    FAILED_DNS,
    FAILED_CONNECT,
    FAILED_TIMEOUT,
    FAILED_TLS,
    FAILED_TOO_MUCH_DATA,
    FAILED_HTTP_STATUS,
    FAILED_KEYWORD,
    FAILED_DNS_ANSWER,
    FAILED_PACKET_LOSS,
    FAILED_ASSERTION,
    FAILED_BLOCKED_TARGET,
    FAILED_INTERNAL,
)


def loss_pct(sent: int, received: int) -> float:
    """The share of a ping check's echo requests left unanswered, in percent."""
    return 100 * (sent - received) / sent if sent else 100.0


class _Timings:
    """Probe timings in microseconds, as recorded for checks and executions alike."""

    dns_us: so.Mapped[int | None] = so.mapped_column()
    connect_us: so.Mapped[int | None] = so.mapped_column()
    tls_us: so.Mapped[int | None] = so.mapped_column()
    first_byte_us: so.Mapped[int | None] = so.mapped_column()
    total_us: so.Mapped[int | None] = so.mapped_column()


class CheckResult(_Timings, Model):
    __tablename__ = "check_results"
    __table_args__ = (
        # Idempotency: a retried batch writes a (monitor, planned slot) at most once.
        sa.UniqueConstraint("monitor_id", "planned_at"),
        # Pruning by age scans this index, in bounded batches.
        sa.Index("ix_check_results_started_at", "started_at"),
    )

    id: so.Mapped[int] = so.mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    monitor_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("monitors.id", ondelete="CASCADE"))
    planned_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    started_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    outcome: so.Mapped[str] = so.mapped_column(sa.String(32))
    status_code: so.Mapped[int | None] = so.mapped_column()
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # Ping checks: echo requests sent and answered, round trips of the answered (total_us is
    # the whole check). None for the other kinds.
    packets_sent: so.Mapped[int | None] = so.mapped_column()
    packets_received: so.Mapped[int | None] = so.mapped_column()
    rtt_min_us: so.Mapped[int | None] = so.mapped_column()
    rtt_avg_us: so.Mapped[int | None] = so.mapped_column()
    rtt_max_us: so.Mapped[int | None] = so.mapped_column()

    @property
    def loss_pct(self) -> float | None:
        """A ping check's loss in percent; None for the other kinds."""
        if self.packets_sent is None:
            return None
        return loss_pct(self.packets_sent, self.packets_received or 0)

    # A successful check's warning (slow, certificate expiring soon): a degraded answer.
    warning: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # Made while a maintenance window covered the monitor: changed no state.
    maintenance: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())


class CronExecution(_Timings, Model):
    __tablename__ = "cron_executions"
    __table_args__ = (
        # Idempotency on (job, planned slot); manual runs plan for the moment they were asked.
        sa.UniqueConstraint("cron_job_id", "planned_at"),
        sa.Index("ix_cron_executions_started_at", "started_at"),
    )

    id: so.Mapped[int] = so.mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    cron_job_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("cron_jobs.id", ondelete="CASCADE")
    )
    # Sent to the target as X-Upcron-Execution-Id so it can de-duplicate.
    execution_uid: so.Mapped[str] = so.mapped_column(sa.String(36), unique=True)
    trigger: so.Mapped[str] = so.mapped_column(sa.String(16), default="schedule")
    planned_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    started_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    jitter_ms: so.Mapped[int] = so.mapped_column(default=0)
    duration_ms: so.Mapped[int | None] = so.mapped_column()
    missed_slots: so.Mapped[int] = so.mapped_column(default=0)
    outcome: so.Mapped[str] = so.mapped_column(sa.String(32))
    status_code: so.Mapped[int | None] = so.mapped_column()
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    response_headers: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    response_body: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # Made while a maintenance window covered the job: counted towards no alert.
    maintenance: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())


PING_SUCCESS = "success"
PING_START = "start"
PING_FAIL = "fail"
PING_LOG = "log"
PING_KINDS = (PING_SUCCESS, PING_START, PING_FAIL, PING_LOG)


class Ping(Model):
    __tablename__ = "pings"
    __table_args__ = (
        # The ping log of one heartbeat, newest first.
        sa.Index("ix_pings_monitor_id_created_at", "monitor_id", "created_at"),
        sa.Index("ix_pings_created_at", "created_at"),
    )

    id: so.Mapped[int] = so.mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    monitor_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("monitors.id", ondelete="CASCADE"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    exit_status: so.Mapped[int | None] = so.mapped_column()
    method: so.Mapped[str] = so.mapped_column(sa.String(10))
    remote_addr: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    user_agent: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    body: so.Mapped[str | None] = so.mapped_column(sa.Text)
    body_size: so.Mapped[int] = so.mapped_column(default=0)
    duration_ms: so.Mapped[int | None] = so.mapped_column()
    # The client's run id (?rid=<uuid>), pairing a start ping with the ping that ends it.
    rid: so.Mapped[str | None] = so.mapped_column(sa.String(36))


SUBJECT_MONITOR = "monitor"
SUBJECT_CRON_JOB = "cron_job"


class DailyRollup(Model):
    __tablename__ = "daily_rollups"
    __table_args__ = (
        # One row per subject and UTC day; uptime figures read ranges of it.
        sa.UniqueConstraint("subject_type", "subject_id", "day"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    subject_type: so.Mapped[str] = so.mapped_column(sa.String(16))
    subject_id: so.Mapped[int] = so.mapped_column()
    day: so.Mapped[date] = so.mapped_column(sa.Date)
    checks: so.Mapped[int] = so.mapped_column(default=0)
    failures: so.Mapped[int] = so.mapped_column(default=0)
    latency_sum_ms: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    latency_min_ms: so.Mapped[int | None] = so.mapped_column()
    latency_max_ms: so.Mapped[int | None] = so.mapped_column()
    downtime_sec: so.Mapped[int] = so.mapped_column(default=0)
    # Results made under maintenance: counted here only, never in checks or failures, so
    # uptime leaves them out; a day with only these is drawn as maintenance.
    maintenance_checks: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
