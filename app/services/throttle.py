"""Login throttling on Redis: 5 failures per 15 minutes per account and per address.

The counters live in Redis so every web process shares them. When Redis cannot be reached
the throttle fails closed: logins are refused rather than left unguarded.
"""

from __future__ import annotations

import hashlib

import redis

from app.extensions import redis_client
from app.services.errors import Throttled, Unavailable

LOGIN_FAILURES = 5
LOGIN_WINDOW_SEC = 15 * 60


def _keys(email: str, ip: str) -> tuple[str, str]:
    # Hash the e-mail so Redis never holds the address itself.
    account = hashlib.sha256(email.encode()).hexdigest()[:32]
    return f"throttle:login:account:{account}", f"throttle:login:ip:{ip}"


def check_login(email: str, ip: str) -> None:
    """Raise Throttled when the account or the address has used up its failures."""
    conn = redis_client.conn
    try:
        with conn.pipeline(transaction=False) as pipe:
            for key in _keys(email, ip):
                pipe.get(key)
                pipe.ttl(key)
            account, account_ttl, address, address_ttl = pipe.execute()
    except redis.RedisError:
        raise Unavailable("Sign-in is unavailable right now; try again in a minute.") from None
    waits = [
        max(ttl, 1)
        for count, ttl in ((account, account_ttl), (address, address_ttl))
        if count is not None and int(count) >= LOGIN_FAILURES
    ]
    if waits:
        minutes = -(-max(waits) // 60)
        raise Throttled(
            f"Too many failed sign-in attempts. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
            retry_after=max(waits),
        )


def record_login_failure(email: str, ip: str) -> None:
    """Count one failure against the account and the address, each in a fixed window."""
    try:
        with redis_client.conn.pipeline(transaction=True) as pipe:
            for key in _keys(email, ip):
                # SET NX EX opens the window only once; INCR then counts inside it.
                pipe.set(key, 0, ex=LOGIN_WINDOW_SEC, nx=True)
                pipe.incr(key)
            pipe.execute()
    except redis.RedisError:
        raise Unavailable("Sign-in is unavailable right now; try again in a minute.") from None


def clear_account_failures(email: str) -> None:
    """Forget an account's failures after it signs in; the address's count stays."""
    try:
        redis_client.conn.delete(_keys(email, "")[0])
    except redis.RedisError:
        pass  # the window expires by itself
