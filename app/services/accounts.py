"""Administrator accounts: first-run setup, sign-in, passwords and the list of admins."""

from __future__ import annotations

import functools
import hmac

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.extensions import db
from app.models import Setting, User
from app.models.types import utcnow
from app.models.user import new_session_token
from app.services import settings, throttle
from app.services.errors import AuthenticationFailed, Conflict, NotFound, ValidationError
from app.services.validation import email_error, normalize_email, password_error

# argon2-cffi's defaults are argon2id with the RFC 9106 low-memory profile.
_hasher = PasswordHasher()
_SETUP_CLAIM = "setup.completed"
TWO_FACTOR_REQUIRED = "auth.two_factor_required"
WRONG_CREDENTIALS = "Wrong e-mail or password."
# What follows a correct password (see second_step).
STEP_CODE = "code"
STEP_ENROL = "enrol"


def setup_completed() -> bool:
    """True once any admin exists: the setup page then closes for good."""
    return db.session.execute(sa.select(sa.exists().where(User.id.is_not(None)))).scalar_one()


def _validate_new(email: str, password: str) -> dict[str, str]:
    errors = {}
    if message := email_error(email):
        errors["email"] = message
    elif db.session.execute(sa.select(User.id).where(User.email == email)).first():
        errors["email"] = "An admin with this e-mail address already exists."
    if message := password_error(password):
        errors["password"] = message
    return errors


def check_new_admin(email: str, password: str) -> None:
    """Raise every objection to a new admin's e-mail and password without creating it, so a
    form that also failed its own checks can show all of its errors at once."""
    if errors := _validate_new(normalize_email(email), password):
        raise ValidationError(errors)


def create_first_admin(email: str, password: str) -> User:
    """Create the first admin during setup; refuse once setup is done.

    Inserting the setup claim row in the same transaction makes two simultaneous setups
    collide on its primary key, so only one first admin can ever be created.
    """
    if setup_completed():
        raise Conflict("Setup is already complete. Sign in instead.")
    user = _create(email, password, claim_setup=True)
    return user


def create_admin(email: str, password: str) -> User:
    """Add an admin (from the dashboard's admin list or `upcron create-admin`)."""
    return _create(email, password, claim_setup=not setup_completed())


def _create(email: str, password: str, claim_setup: bool) -> User:
    email = normalize_email(email)
    if errors := _validate_new(email, password):
        raise ValidationError(errors)
    user = User(email=email, password_hash=_hasher.hash(password))
    db.session.add(user)
    if claim_setup:
        db.session.add(Setting(key=_SETUP_CLAIM, value=utcnow().isoformat()))
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        if claim_setup:
            raise Conflict("Setup is already complete. Sign in instead.") from None
        raise ValidationError({"email": "An admin with this e-mail address already exists."})
    return user


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so both failures take the same time.

    Made on first use, not at import: a hash costs ~0.5 s of CPU, and every process of
    Upcron imports this module, most of them never to sign anyone in.
    """
    return _hasher.hash("upcron-timing-equaliser")


def _verify(user: User | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _dummy_hash(), password) and bool(
            user
        )
    except (VerificationError, InvalidHashError):
        return False


def authenticate(email: str, password: str, ip: str) -> User:
    """The password step of a sign-in, under the login throttle; signs nobody in yet.

    Raises Throttled or Unavailable before any password is checked, and AuthenticationFailed
    with the same text for an unknown e-mail and a wrong password. An account attacked from
    many addresses is refused here unless it has two-factor sign-in, whose code step still
    stands between the password and a session. The caller then asks `second_step` what
    comes next and ends with `finish_sign_in`.
    """
    email = normalize_email(email)
    throttle.check_address(email, ip)
    user = db.session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
    if user is None or not user.has_two_factor:
        # An unknown e-mail is judged like an account without a second factor, so that the
        # answer does not tell the two apart.
        throttle.check_account(email)
    if not _verify(user, password or "") or user is None:
        throttle.record_password_failure(email, ip)
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.session.commit()
    return user


def second_step(user: User) -> str | None:
    """What a sign-in needs after the password: STEP_CODE when the admin has two-factor
    sign-in, STEP_ENROL when it is required and they have none yet, else None."""
    if user.has_two_factor:
        return STEP_CODE
    if two_factor_required():
        return STEP_ENROL
    return None


def finish_sign_in(user: User, ip: str) -> User:
    """Record a completed sign-in and forget this address's failures for the account."""
    throttle.clear_pair(user.email, ip)
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def check_password(user: User, password: str) -> bool:
    """Whether ``password`` is the admin's, for steps that ask for it again."""
    return _verify(user, password or "")


def two_factor_required() -> bool:
    """Whether every admin must sign in with a second factor."""
    return bool(settings.get(TWO_FACTOR_REQUIRED, False))


def set_two_factor_required(required: bool, actor: User) -> None:
    """Require two-factor sign-in of every admin, or stop requiring it.

    Turning it on needs the actor's own second factor first, so nobody requires of others
    what they have not set up. Admins without one are signed out at their next request and
    set it up at their next sign-in (see `load_session_user`).
    """
    if required and not actor.has_two_factor:
        raise ValidationError(
            {"required": "Turn on two-factor sign-in for your own account first."}
        )
    settings.put(TWO_FACTOR_REQUIRED, bool(required))


def user_for_identity(identity: str) -> User | None:
    """The admin of an identity ("<id>:<session token>"), if the token is still theirs."""
    user_id, _, token = (identity or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not hmac.compare_digest(user.session_token, token):
        return None
    return user


def load_session_user(identity: str) -> User | None:
    """Resolve a login cookie's identity to its admin, if still valid.

    While two-factor sign-in is required, a session of an admin without it is not: they
    sign in again, and the sign-in leads them through enrolment.
    """
    user = user_for_identity(identity)
    if user is not None and not user.has_two_factor and two_factor_required():
        return None
    return user


def change_password(user: User, current_password: str, new_password: str) -> User:
    """Set a new password and end every session of the account (the caller re-signs in)."""
    errors = {}
    if not _verify(user, current_password or ""):
        errors["current_password"] = "This is not your current password."
    if message := password_error(new_password):
        errors["new_password"] = message
    if errors:
        raise ValidationError(errors)
    user.password_hash = _hasher.hash(new_password)
    user.session_token = new_session_token()
    db.session.commit()
    return user


def list_admins() -> list[User]:
    return list(db.session.execute(sa.select(User).order_by(User.email)).scalars())


def remove_admin(user_id: int, actor: User) -> None:
    """Remove another admin; their sessions end with the row. The last admin always stays."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such admin.")
    if user.id == actor.id:
        raise Conflict("You cannot remove your own account; ask another admin to do it.")
    # Lock every admin row first: two admins removing each other at the same moment must
    # not both see "two admins left" and leave none.
    admin_ids = db.session.execute(sa.select(User.id).with_for_update()).scalars().all()
    if len(admin_ids) <= 1:
        raise Conflict("The last admin cannot be removed.")
    db.session.delete(user)
    db.session.commit()
