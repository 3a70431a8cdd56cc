"""monitors and cron jobs: TLS certificates, and the expiry thresholds announced

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 13:30:00.000000

Monitors and cron jobs get tls_verify (true), tls_expiry_warn_days (14) and the latest
certificate's tls_expires_at, tls_subject, tls_issuer, tls_sans and tls_fingerprint (empty
until the next check).
certificate_alerts remembers each (subject, certificate, threshold) announced.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_TLS_COLUMNS = (
    "tls_fingerprint",
    "tls_sans",
    "tls_issuer",
    "tls_subject",
    "tls_expires_at",
    "tls_expiry_warn_days",
    "tls_verify",
)


def _tls_columns(batch) -> None:
    batch.add_column(
        sa.Column("tls_verify", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    batch.add_column(
        sa.Column("tls_expiry_warn_days", sa.Integer(), server_default="14", nullable=False)
    )
    batch.add_column(sa.Column("tls_expires_at", sa.DateTime(timezone=True), nullable=True))
    batch.add_column(sa.Column("tls_subject", sa.Text(), nullable=True))
    batch.add_column(sa.Column("tls_issuer", sa.Text(), nullable=True))
    batch.add_column(sa.Column("tls_sans", sa.JSON(), nullable=True))
    batch.add_column(sa.Column("tls_fingerprint", sa.String(length=64), nullable=True))


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        _tls_columns(batch)
    with op.batch_alter_table("cron_jobs") as batch:
        _tls_columns(batch)
    op.create_table(
        "certificate_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("threshold_days", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_alerts")),
        sa.UniqueConstraint(
            "subject_type",
            "subject_id",
            "fingerprint",
            "threshold_days",
            name=op.f("uq_certificate_alerts_subject_type"),
        ),
    )


def downgrade():
    op.drop_table("certificate_alerts")
    with op.batch_alter_table("cron_jobs") as batch:
        for column in _TLS_COLUMNS:
            batch.drop_column(column)
    with op.batch_alter_table("monitors") as batch:
        for column in _TLS_COLUMNS:
            batch.drop_column(column)
