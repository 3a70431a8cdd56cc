"""The installation's ping key: the first segment of slug ping URLs,
/ping/<ping key>/<slug>, so scripts can name a heartbeat by its slug instead of its code.

One key for the installation (a project's key, in the dialect it comes from), kept in the
settings; it is made on first use and can be replaced, which retires every slug URL that
names the old one. A key is 22 URL-safe characters, never shaped like a ping code (a UUID),
so /ping/<a>/<b> is a slug URL exactly when <a> is not a code.
"""

from __future__ import annotations

import hmac
import secrets

from app.services import settings

SETTING = "ping_key"


def _new() -> str:
    return secrets.token_urlsafe(16)  # 16 random bytes: 22 characters


def get() -> str:
    """The ping key, made and stored on first use."""
    key = settings.get(SETTING)
    if not key:
        key = _new()
        settings.put(SETTING, key)
    return key


def regenerate() -> str:
    """Replace the ping key; slug URLs with the old one answer "not found" from now on."""
    key = _new()
    settings.put(SETTING, key)
    return key


def matches(presented: str) -> bool:
    """Whether ``presented`` is the ping key (compared in constant time; an installation
    that has never shown its key has none, and nothing matches)."""
    key = settings.get(SETTING)
    return bool(key) and hmac.compare_digest(presented.encode(), key.encode())
