"""Which expiry thresholds of which certificate were announced, so each goes out once."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import Model
from app.models.types import UTCDateTime


class CertificateAlert(Model):
    """One threshold (days before expiry) crossed by one certificate of one monitor or cron
    job. Like daily rollups it names its subject without a foreign key, and goes with it
    (``services/certificate_alerts.forget``)."""

    __tablename__ = "certificate_alerts"
    # Serves the insert that claims a threshold: a retried batch, a second worker or a
    # restart finds the row there and announces nothing twice.
    __table_args__ = (
        sa.UniqueConstraint("subject_type", "subject_id", "fingerprint", "threshold_days"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    subject_type: so.Mapped[str] = so.mapped_column(sa.String(16))  # history.SUBJECT_*
    subject_id: so.Mapped[int] = so.mapped_column()
    fingerprint: so.Mapped[str] = so.mapped_column(sa.String(64))  # SHA-256 of the DER
    threshold_days: so.Mapped[int] = so.mapped_column()
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
