"""Monitors: uptime checks we make (kinds http, keyword, tcp, dns and ping) and heartbeats
made to us."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import Model, db
from app.models.types import UTCDateTime, new_uuid, utcnow

if TYPE_CHECKING:
    from app.models.channel import NotificationChannel
    from app.models.group import Group
    from app.models.tag import Tag


KIND_HTTP = "http"
KIND_KEYWORD = "keyword"
KIND_TCP = "tcp"
KIND_DNS = "dns"
KIND_PING = "ping"
KIND_HEARTBEAT = "heartbeat"
KINDS = (KIND_HTTP, KIND_KEYWORD, KIND_TCP, KIND_DNS, KIND_PING, KIND_HEARTBEAT)

# Uptime monitors: pending → up/degraded/down; heartbeats: new → up/late/down. Both can be
# paused. Degraded: it answers, but with a warning (see WARNING_KINDS); it counts as up.
STATE_PENDING = "pending"
STATE_NEW = "new"
STATE_UP = "up"
STATE_DEGRADED = "degraded"
STATE_LATE = "late"
STATE_DOWN = "down"
STATE_PAUSED = "paused"
STATES = (
    STATE_PENDING,
    STATE_NEW,
    STATE_UP,
    STATE_DEGRADED,
    STATE_LATE,
    STATE_DOWN,
    STATE_PAUSED,
)

# What a successful check can warn about: slower than degraded_after_ms, or a TLS certificate
# that expires soon. Each has its own notification toggle on the monitor.
WARNING_SLOW = "slow"
WARNING_CERTIFICATE = "certificate"
WARNING_KINDS = (WARNING_SLOW, WARNING_CERTIFICATE)

monitor_channels = sa.Table(
    "monitor_channels",
    db.metadata,
    sa.Column("monitor_id", sa.ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "channel_id",
        sa.ForeignKey("notification_channels.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


class Monitor(Model):
    __tablename__ = "monitors"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), unique=True, default=new_uuid)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    # Given no name, an item is named after its URL (and follows it); dialects whose items
    # may be nameless answer such a name as none.
    name_from_url: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # Public identifier for badges and the status page; never reveals the URL.
    slug: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    group_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("groups.id", ondelete="SET NULL"), index=True
    )
    public: so.Mapped[bool] = so.mapped_column(default=False)
    position: so.Mapped[int] = so.mapped_column(default=0)
    paused: so.Mapped[bool] = so.mapped_column(default=False)
    state: so.Mapped[str] = so.mapped_column(sa.String(16), default=STATE_PENDING)
    state_changed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    # Request (kinds http and keyword).
    url: so.Mapped[str | None] = so.mapped_column(sa.Text)
    method: so.Mapped[str] = so.mapped_column(sa.String(10), default="GET")
    headers: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    body: so.Mapped[str | None] = so.mapped_column(sa.Text)
    auth_username: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    auth_password: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    interval_sec: so.Mapped[int] = so.mapped_column(default=60)
    timeout_ms: so.Mapped[int] = so.mapped_column(default=10000)
    expected_status: so.Mapped[str] = so.mapped_column(sa.String(200), default="200-399")
    follow_redirects: so.Mapped[bool] = so.mapped_column(default=True)
    max_redirects: so.Mapped[int] = so.mapped_column(default=10)
    keyword: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    keyword_absent: so.Mapped[bool] = so.mapped_column(default=False)
    # Response assertions (app.engine.assertions): a list of {source, path, op, value}, all
    # of which must hold; None or [] asks nothing beyond the status and keyword.
    assertions: so.Mapped[list[dict[str, Any]] | None] = so.mapped_column(sa.JSON)
    failure_threshold: so.Mapped[int] = so.mapped_column(default=2)
    recovery_threshold: so.Mapped[int] = so.mapped_column(default=1)
    consecutive_failures: so.Mapped[int] = so.mapped_column(default=0)
    consecutive_successes: so.Mapped[int] = so.mapped_column(default=0)
    last_checked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_response_ms: so.Mapped[int | None] = so.mapped_column()
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)

    # Degraded (kinds with a response time): an answer slower than degraded_after_ms (None:
    # never slow) warns; failure_threshold warnings in a row make the monitor degraded and
    # recovery_threshold clean answers in a row make it up again.
    degraded_after_ms: so.Mapped[int | None] = so.mapped_column()
    # Announce degraded (and the return to up) when the warning is of this kind.
    notify_degraded_slow: so.Mapped[bool] = so.mapped_column(
        default=False, server_default=sa.false()
    )
    notify_degraded_certificate: so.Mapped[bool] = so.mapped_column(
        default=True, server_default=sa.true()
    )
    consecutive_warnings: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    consecutive_clean: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    # The latest check's warning, for people (None: it answered cleanly, or failed).
    last_warning: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # The warning kind that made the monitor degraded, kept after its return to up so that
    # alert follows the same toggle; None once it has been down (a recovery from down is
    # always announced).
    degraded_kind: so.Mapped[str | None] = so.mapped_column(sa.String(16))

    # Connection (kind tcp): a TCP connection to host:port, and a TLS handshake with tls.
    host: so.Mapped[str | None] = so.mapped_column(sa.String(253))
    port: so.Mapped[int | None] = so.mapped_column()
    tls: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())

    # TLS (https URLs, tcp with tls): tls_verify False accepts any certificate. The latest
    # certificate seen is kept; tls_expiry_warn_days (0 = off) makes an expiring one a
    # warning and announces it once per threshold (see certificate_alerts).
    tls_verify: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    tls_expiry_warn_days: so.Mapped[int] = so.mapped_column(default=14, server_default="14")
    tls_expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    tls_subject: so.Mapped[str | None] = so.mapped_column(sa.Text)
    tls_issuer: so.Mapped[str | None] = so.mapped_column(sa.Text)
    tls_sans: so.Mapped[list[str] | None] = so.mapped_column(sa.JSON)
    tls_fingerprint: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    # Lookup (kind dns): host is the name asked for, of record_type, to resolver ("ip" or
    # "ip:port"; None: the system's); up when every expected value is in the answer.
    record_type: so.Mapped[str | None] = so.mapped_column(sa.String(8))
    resolver: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    expected_values: so.Mapped[list[str] | None] = so.mapped_column(sa.JSON)

    # Echo (kind ping): packets ICMP echo requests to host; up when at most max_loss_pct
    # percent of them go unanswered.
    packets: so.Mapped[int | None] = so.mapped_column()
    max_loss_pct: so.Mapped[int | None] = so.mapped_column()

    # Heartbeat: the code is the secret in the ping URL; the push token the secret in the
    # Uptime Kuma push URL (/api/push/<token>), kept as given when imported from there.
    code: so.Mapped[str | None] = so.mapped_column(sa.String(36), unique=True)
    push_token: so.Mapped[str | None] = so.mapped_column(sa.String(32), unique=True)
    period_sec: so.Mapped[int | None] = so.mapped_column()
    cron_expr: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="UTC")
    grace_sec: so.Mapped[int] = so.mapped_column(default=300)
    max_run_sec: so.Mapped[int | None] = so.mapped_column()
    min_run_sec: so.Mapped[int | None] = so.mapped_column()
    manual_resume: so.Mapped[bool] = so.mapped_column(default=False)
    # Announce "late" (past the expected time, inside the grace) as well as down and up.
    notify_late: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    last_ping_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_start_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # The run id (?rid=) of the start ping of the run in progress: the end ping with the same
    # run id (or none, when the start had none) is the one that ends the run.
    last_start_rid: so.Mapped[str | None] = so.mapped_column(sa.String(36))
    last_duration_ms: so.Mapped[int | None] = so.mapped_column()
    # What spares most pings the rate limit's count (app.services.pings._check_rate): at
    # least as many as the heartbeat's pings stored since rate_since.
    rate_since: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    rate_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

    reminder_hours: so.Mapped[int | None] = so.mapped_column()
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    group: so.Mapped[Group | None] = so.relationship(lazy="joined")
    channels: so.Mapped[list[NotificationChannel]] = so.relationship(secondary=monitor_channels)
    tags: so.Mapped[list[Tag]] = so.relationship(secondary="monitor_tags", order_by="Tag.name")
