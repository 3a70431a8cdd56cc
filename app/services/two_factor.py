"""Two-factor sign-in: TOTP codes (RFC 6238) and one-time recovery codes.

An admin enrols by scanning a QR code (or typing the secret) into an authenticator app and
confirming one code from it: only then is the second factor on, and ten recovery codes are
made and shown once. Every code is checked under the sign-in throttle and accepted once: a
TOTP code only for a time step later than the last one accepted, a recovery code by deleting
its row.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import pyotp
import segno
import sqlalchemy as sa

from app.extensions import db
from app.models import RecoveryCode, User
from app.models.types import utcnow
from app.services import accounts, throttle
from app.services.errors import AuthenticationFailed, Conflict, NotFound, ValidationError
from app.services.validation import normalize_email

ISSUER = "Upcron"
RECOVERY_CODES = 10
# One step either side of now: a phone whose clock is a little off, or a code typed just as
# it changes.
VALID_WINDOW = 1
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32: no 0/O or 1/l to confuse
WRONG_CODE = "Wrong code. Enter the 6-digit code your app shows now, or a recovery code."
REUSED_CODE = "This code was already used. Wait for the next one your app shows."
WRONG_PASSWORD = "This is not your password."
KIND_TOTP = "totp"
KIND_RECOVERY = "recovery"


@dataclass(frozen=True)
class Enrolment:
    """What an admin needs to add the account to an authenticator app."""

    secret: str
    qr_svg: str  # the otpauth:// URI as a QR code, inline SVG

    @property
    def secret_groups(self) -> str:
        """The secret in groups of four, for typing it in by hand."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def begin_enrolment(user: User) -> Enrolment:
    """Give the admin a secret to enrol with; the same one until enrolment is confirmed.

    The secret is stored at once so that a reload shows the same QR code, but it counts for
    nothing until `confirm_enrolment` has seen a code from it.
    """
    if user.has_two_factor:
        raise Conflict("Two-factor sign-in is already on for this account.")
    if user.totp_secret is None:
        # Conditional, so two pages opened at once end up showing the same secret.
        db.session.execute(
            sa.update(User)
            .where(User.id == user.id, User.totp_secret.is_(None))
            .values(totp_secret=pyotp.random_base32(32))
        )
        db.session.commit()
        db.session.refresh(user)
    assert user.totp_secret is not None  # set above, by this request or one beside it
    uri = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    qr = segno.make(uri, error="m")
    svg = qr.svg_inline(scale=5, dark="#000", light="#fff", svgclass="qr", lineclass=None)
    return Enrolment(secret=user.totp_secret, qr_svg=svg)


def confirm_enrolment(user: User, code: str, ip: str, now: datetime | None = None) -> list[str]:
    """Turn two-factor sign-in on with a first code from the app; returns the recovery codes."""
    _check_throttle(user, ip)
    if user.has_two_factor:
        raise Conflict("Two-factor sign-in is already on for this account.")
    if user.totp_secret is None:
        raise Conflict("Enrolment has not started; open the two-factor page again.")
    step = _matching_step(user.totp_secret, code, now)
    if step is None:
        throttle.record_code_failure(user.email, ip)
        raise ValidationError({"code": "Wrong code. Enter the 6-digit code your app shows now."})
    # Conditional on the secret still being the one the code was checked against.
    confirmed = _changed(
        sa.update(User)
        .where(
            User.id == user.id,
            User.two_factor_at.is_(None),
            User.totp_secret == user.totp_secret,
        )
        .values(two_factor_at=now or utcnow(), totp_last_step=step)
    )
    if not confirmed:
        db.session.rollback()
        raise Conflict("Two-factor sign-in changed meanwhile; open the two-factor page again.")
    codes = _replace_recovery_codes(user)
    db.session.commit()
    db.session.refresh(user)
    return codes


def verify(user: User, code: str, ip: str, now: datetime | None = None) -> str:
    """The second step of a sign-in: accept a TOTP or a recovery code once, under the
    throttle. Returns which kind was used (KIND_TOTP or KIND_RECOVERY)."""
    if not user.has_two_factor:
        raise Conflict("Two-factor sign-in is not on for this account.")
    _check_throttle(user, ip)
    try:
        return _accept(user, code, now)
    except AuthenticationFailed:
        throttle.record_code_failure(user.email, ip)
        raise


def regenerate_recovery_codes(
    user: User, password: str, code: str, ip: str, now: datetime | None = None
) -> list[str]:
    """Replace every recovery code with ten new ones (password and a code required)."""
    _confirm_owner(user, password, code, ip, now)
    codes = _replace_recovery_codes(user)
    db.session.commit()
    return codes


def disable(user: User, password: str, code: str, ip: str, now: datetime | None = None) -> None:
    """Turn two-factor sign-in off (password and a code required)."""
    _confirm_owner(user, password, code, ip, now)
    _clear(user)


def reset(email: str) -> User:
    """Turn an admin's two-factor sign-in off without a code, for `upcron reset-2fa`."""
    user = db.session.execute(
        sa.select(User).where(User.email == normalize_email(email))
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"No admin has the e-mail address {email}.")
    _clear(user)
    return user


def recovery_codes_left(user: User) -> int:
    return db.session.execute(
        sa.select(sa.func.count()).where(RecoveryCode.user_id == user.id)
    ).scalar_one()


def _check_throttle(user: User, ip: str) -> None:
    throttle.check_address(user.email, ip)
    throttle.check_codes(user.email)


def _confirm_owner(user: User, password: str, code: str, ip: str, now: datetime | None) -> None:
    """Password, then a code, both counted by the throttle like a sign-in."""
    if not user.has_two_factor:
        raise Conflict("Two-factor sign-in is not on for this account.")
    _check_throttle(user, ip)
    if not accounts.check_password(user, password):
        throttle.record_code_failure(user.email, ip)
        raise ValidationError({"password": WRONG_PASSWORD})
    try:
        _accept(user, code, now)
    except AuthenticationFailed as exc:
        throttle.record_code_failure(user.email, ip)
        raise ValidationError({"code": exc.message}) from None


def _changed(statement: sa.Update | sa.Delete) -> int:
    """How many rows the UPDATE or DELETE changed (its cursor's count)."""
    return cast(sa.CursorResult[Any], db.session.execute(statement)).rowcount


def _accept(user: User, code: str, now: datetime | None) -> str:
    """Accept a code once, or raise AuthenticationFailed (wrong, or already used)."""
    typed = "".join((code or "").split()).replace("-", "").lower()
    if len(typed) == 6 and typed.isascii() and typed.isdigit():
        step = _matching_step(user.totp_secret, typed, now)
        if step is None:
            raise AuthenticationFailed(WRONG_CODE)
        # Conditional on an earlier step: of two requests carrying the same code, only one
        # moves the step on (the other waits for the row lock, then matches nothing).
        moved = _changed(
            sa.update(User)
            .where(
                User.id == user.id,
                sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
        db.session.commit()
        if not moved:
            raise AuthenticationFailed(REUSED_CODE)
        return KIND_TOTP
    if len(typed) != 10 or not set(typed) <= set(_RECOVERY_ALPHABET):
        raise AuthenticationFailed(WRONG_CODE)
    used = _changed(
        sa.delete(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(typed)
        )
    )
    db.session.commit()
    if not used:
        raise AuthenticationFailed(WRONG_CODE)
    return KIND_RECOVERY


def _matching_step(secret: str | None, code: str, now: datetime | None) -> int | None:
    """The time step whose code ``code`` is, within VALID_WINDOW steps of now."""
    typed = "".join((code or "").split())
    if secret is None or len(typed) != 6 or not (typed.isascii() and typed.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now or utcnow())
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if secrets.compare_digest(totp.generate_otp(step), typed):
            return step
    return None


def _hash(code: str) -> str:
    # 50 random bits per code, so a plain SHA-256 leaves nothing to look up in a dictionary.
    return hashlib.sha256(code.encode()).hexdigest()


def _replace_recovery_codes(user: User) -> list[str]:
    """Stage ten new codes in place of the old ones; the caller commits."""
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        for _ in range(RECOVERY_CODES)
    ]
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes)
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def _clear(user: User) -> None:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.totp_secret = None
    user.two_factor_at = None
    user.totp_last_step = None
    db.session.commit()
