"""Sign-in throttling on Redis: failures counted per (account, address), per address and per
account, so that someone failing elsewhere cannot lock an admin out.

Every counter is a fixed 15-minute window opened by its first failure. A failure is a wrong
password or a wrong second-step code (TOTP or recovery code):

- one account from one address: 5 failures lock that address out of that account;
- one address: 10 failures, whatever the accounts, lock that address out of every account;
- one account from all addresses: 20 wrong passwords mean it is attacked from many places.
  The password alone then no longer signs in: an account with two-factor sign-in goes on to
  its code step as always, an account without it waits until the window is over;
- one account's codes from all addresses: 10 wrong codes close its code step until the
  window is over (whoever sends them already knows the password).

The counters live in Redis so every web process shares them. When Redis cannot be reached
the throttle fails closed: sign-ins are refused rather than left unguarded.
"""

from __future__ import annotations

import hashlib

import redis

from app.extensions import redis_client
from app.services.errors import Throttled, Unavailable

PAIR_FAILURES = 5
ADDRESS_FAILURES = 10
ACCOUNT_FAILURES = 20
CODE_FAILURES = 10
WINDOW_SEC = 15 * 60

_TOO_MANY = "Too many failed sign-in attempts. Try again in {wait}."
_ATTACKED = (
    "Too many failed sign-in attempts for this account from several addresses. Try again in {wait}."
)
_CODES = "Too many wrong codes for this account. Try again in {wait}."
_UNAVAILABLE = "Sign-in is unavailable right now; try again in a minute."


def _account(email: str) -> str:
    # Hash the e-mail so Redis never holds the address itself.
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def _pair_key(email: str, ip: str) -> str:
    return f"throttle:login:pair:{_account(email)}:{ip}"


def _address_key(ip: str) -> str:
    return f"throttle:login:ip:{ip}"


def _account_key(email: str) -> str:
    return f"throttle:login:account:{_account(email)}"


def _codes_key(email: str) -> str:
    return f"throttle:login:codes:{_account(email)}"


def _check(limits: list[tuple[str, int]], message: str) -> None:
    """Raise Throttled when any counter has reached its limit, with the longest wait."""
    try:
        with redis_client.conn.pipeline(transaction=False) as pipe:
            for key, _ in limits:
                pipe.get(key)
                pipe.ttl(key)
            replies = pipe.execute()
    except redis.RedisError:
        raise Unavailable(_UNAVAILABLE) from None
    waits = [
        max(ttl, 1)
        for (_, limit), count, ttl in zip(limits, replies[::2], replies[1::2], strict=True)
        if count is not None and int(count) >= limit
    ]
    if waits:
        minutes = -(-max(waits) // 60)
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
        raise Throttled(message.format(wait=wait), retry_after=max(waits))


def _record(*keys: str) -> None:
    try:
        with redis_client.conn.pipeline(transaction=True) as pipe:
            for key in keys:
                # SET NX EX opens the window only once; INCR then counts inside it.
                pipe.set(key, 0, ex=WINDOW_SEC, nx=True)
                pipe.incr(key)
            pipe.execute()
    except redis.RedisError:
        raise Unavailable(_UNAVAILABLE) from None


def check_address(email: str, ip: str) -> None:
    """Raise Throttled when this address has used up its failures, for this account or all."""
    _check([(_pair_key(email, ip), PAIR_FAILURES), (_address_key(ip), ADDRESS_FAILURES)], _TOO_MANY)


def check_account(email: str) -> None:
    """Raise Throttled when the account's password failed too often from all addresses."""
    _check([(_account_key(email), ACCOUNT_FAILURES)], _ATTACKED)


def check_codes(email: str) -> None:
    """Raise Throttled when the account's second step failed too often from all addresses."""
    _check([(_codes_key(email), CODE_FAILURES)], _CODES)


def record_password_failure(email: str, ip: str) -> None:
    """Count a wrong password against the pair, the address and the account."""
    _record(_pair_key(email, ip), _address_key(ip), _account_key(email))


def record_code_failure(email: str, ip: str) -> None:
    """Count a wrong code against the pair, the address and the account's codes."""
    _record(_pair_key(email, ip), _address_key(ip), _codes_key(email))


def clear_pair(email: str, ip: str) -> None:
    """Forget this address's failures for the account once it has signed in.

    The address's own count and the account's totals stay: one success from one place says
    nothing about the other places.
    """
    try:
        redis_client.conn.delete(_pair_key(email, ip))
    except redis.RedisError:
        pass  # the window expires by itself
