"""Administrator accounts and their second factor (a TOTP secret and recovery codes)."""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy import orm as so

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, Model):
    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # Stored lower-cased, so the unique index also makes e-mail addresses case-insensitive.
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    # Part of the login cookie's identity: replacing it ends every session and remember-me
    # cookie of the account (password change, removal).
    session_token: so.Mapped[str] = so.mapped_column(sa.String(64), default=new_session_token)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_login_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Two-factor sign-in (RFC 6238 TOTP). The secret is written when enrolment starts and
    # takes effect only once a code from it is confirmed: two_factor_at is then set.
    totp_secret: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    two_factor_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # The time step of the last code accepted: a code is accepted only for a later step, so
    # a code seen over a shoulder or in a proxy log cannot be used a second time.
    totp_last_step: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def has_two_factor(self) -> bool:
        return self.two_factor_at is not None


class RecoveryCode(Model):
    """One unused recovery code of an admin, as its SHA-256: the code itself is shown once.

    Using a code deletes its row, so each one works once.
    """

    __tablename__ = "recovery_codes"
    # Serves the lookup of a typed code: WHERE user_id = ? AND code_hash = ?.
    __table_args__ = (sa.UniqueConstraint("user_id", "code_hash"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
