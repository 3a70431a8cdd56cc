"""Expiring certificates: the latest certificate of each monitor and cron job, and one alert
per threshold it crosses (the warning, then 7, 3 and 1 days), never more than once per
certificate and threshold.

Both run inside the transaction that records a batch (``services/results.py``). A threshold is
claimed by inserting its ``certificate_alerts`` row with "ON CONFLICT DO NOTHING": a retried
batch, two workers or a restart find the row there and announce nothing again. A renewed
certificate has a new fingerprint, so its thresholds start afresh.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.engine import certificates
from app.engine.certificates import Certificate
from app.extensions import db, dialect_insert
from app.models import CertificateAlert, CronJob, Monitor
from app.models.history import SUBJECT_CRON_JOB, SUBJECT_MONITOR

EVENT = "certificate_expiring"


def remember(subject: Monitor | CronJob, certificate: Certificate | None, ok: bool) -> None:
    """Keep the latest certificate on the subject. A check that failed before its handshake
    leaves the last one in place; one that succeeded without TLS (a plain http URL) clears
    it."""
    if certificate is None and not ok:
        return
    subject.tls_expires_at = certificate.expires_at if certificate else None
    subject.tls_subject = certificate.subject if certificate else None
    subject.tls_issuer = certificate.issuer if certificate else None
    subject.tls_sans = list(certificate.sans) if certificate else None
    subject.tls_fingerprint = certificate.fingerprint if certificate else None


def claim(subject: Monitor | CronJob, certificate: Certificate | None, now: datetime) -> bool:
    """Claim the thresholds ``certificate`` has crossed; True when one of them is new, so
    an alert is due. Monitors announce only with ``notify_degraded_certificate``."""
    if certificate is None:
        return False
    if isinstance(subject, Monitor) and not subject.notify_degraded_certificate:
        return False
    crossed = certificates.crossed(subject.tls_expiry_warn_days, certificate.expires_at, now)
    if not crossed:
        return False
    subject_type = SUBJECT_CRON_JOB if isinstance(subject, CronJob) else SUBJECT_MONITOR
    rows = [
        {
            "subject_type": subject_type,
            "subject_id": subject.id,
            "fingerprint": certificate.fingerprint,
            "threshold_days": days,
            "expires_at": certificate.expires_at,
            "created_at": now,
        }
        for days in crossed
    ]
    statement = (
        dialect_insert(CertificateAlert)
        .on_conflict_do_nothing(
            index_elements=["subject_type", "subject_id", "fingerprint", "threshold_days"]
        )
        .returning(CertificateAlert.threshold_days)
    )
    return bool(list(db.session.execute(statement, rows).scalars()))


def transition(subject: Monitor | CronJob, now: datetime) -> str:
    """What makes an expiry alert unique: the certificate and the threshold it reached."""
    expires_at = subject.tls_expires_at
    crossed = (
        certificates.crossed(subject.tls_expiry_warn_days, expires_at, now) if expires_at else ()
    )
    return f"{subject.tls_fingerprint}:{crossed[-1] if crossed else 0}"


def detail(subject: Monitor | CronJob, now: datetime) -> str | None:
    """The alert's sentence, such as "The certificate expires on 2026-12-11, in 5 days"
    (None for a subject that has no certificate now)."""
    if subject.tls_expires_at is None:
        return None
    return certificates.expiry(subject.tls_expires_at, now)


def forget(subject_type: str, subject_id: int) -> None:
    """Delete a subject's claimed thresholds with it (in the caller's transaction): SQLite
    reuses the highest deleted id, and a new monitor must not inherit them."""
    db.session.execute(
        sa.delete(CertificateAlert).where(
            CertificateAlert.subject_type == subject_type,
            CertificateAlert.subject_id == subject_id,
        )
    )
