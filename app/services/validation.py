"""Field rules shared by several services, each written once."""

from __future__ import annotations

import re

EMAIL_MAX = 254
PASSWORD_MIN = 12
PASSWORD_MAX = 1024

# Deliberately loose: one @, something on both sides, a dot in the domain, no spaces.
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(value: str | None) -> str:
    return (value or "").strip().lower()


def email_error(email: str) -> str | None:
    if not email:
        return "Enter an e-mail address."
    if len(email) > EMAIL_MAX or not _EMAIL_RE.match(email):
        return "Enter a valid e-mail address, such as admin@example.com."
    return None


def password_error(password: str | None) -> str | None:
    password = password or ""
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    if not password.strip():
        return "The password cannot be only spaces."
    return None
