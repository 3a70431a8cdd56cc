"""API keys: create, list, revoke, authenticate, and the scopes a key may hold.

A secret is ``upk_`` followed by 43 random URL-safe characters (256 bits). It is shown once;
SQL keeps its first characters as a visible, unique prefix and an HMAC-SHA256 of the whole
secret under a random per-key salt. A request finds its key by the prefix (one indexed read)
and compares the HMAC with ``hmac.compare_digest``. The salt, rather than the app's secret
key, keys the hash so that rotating UPCRON_SECRET_KEY (which ends every session) does not
also break every script holding an API key; with 256 random bits a leaked hash cannot be
guessed back either way.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import redis
import sqlalchemy as sa

from app.extensions import db, redis_client
from app.models import ApiKey
from app.models.types import utcnow
from app.services import fields
from app.services.errors import AuthenticationFailed, Forbidden, NotFound, ValidationError
from app.services.pagination import Page, paginate

log = logging.getLogger(__name__)

SECRET_PREFIX = "upk_"
PREFIX_LEN = len(SECRET_PREFIX) + 8  # "upk_" and the first 8 random characters
_SECRET_RE = re.compile(r"upk_[A-Za-z0-9_-]{40,100}|[0-9a-f]{64}")
# A CronUptime token (32 random bytes as lowercase hex), imported so a script keeps its token.
# Its first PREFIX_LEN characters (48 random bits) are its prefix, as for our own secrets.
IMPORTED_SECRET_RE = re.compile(r"[0-9a-f]{64}")
IMPORTED_SECRET_INVALID = "Must be 64 lowercase hexadecimal characters (a CronUptime token)."
PREFIX_TAKEN = "Another key has a secret starting with the same characters; use another."
_HASH_SCHEME = "hmac-sha256"

# resource → the actions it has; "resource:*" grants them all and "*" grants everything.
RESOURCES = {
    "monitors": ("read", "write"),
    "cron-jobs": ("read", "write"),
    "incidents": ("read", "write"),
    "maintenance": ("read", "write"),
    "tags": ("read", "write"),
    "settings": ("read", "write"),
    "api-keys": ("read", "write"),
    "system": ("read",),
    "metrics": ("read",),
}
SCOPES = tuple(f"{res}:{action}" for res, actions in RESOURCES.items() for action in actions)
KNOWN_SCOPES = frozenset(SCOPES) | {f"{resource}:*" for resource in RESOURCES} | {"*"}

NAME_MAX = 100
NETWORKS_MAX = 50
RATE_LIMIT_DEFAULT = 10
RATE_LIMIT_MAX = 1000
QUOTA_MAX = 100_000_000
# last_used_at and use_count are written to SQL at most this often per key; the uses in
# between are counted in Redis and added with the next write.
USE_FLUSH_SEC = 60

MISSING = "Missing API key: send it as Authorization: Bearer <key> or as X-Api-Key: <key>."
INVALID = "Invalid API key."
REVOKED = "This API key has been revoked."
EXPIRED = "This API key has expired."
ADDRESS_REFUSED = "This API key may not be used from your address."


def insufficient_scope(scope: str) -> str:
    """The 403 text API clients match on (CronUptime's wording)."""
    return f"Insufficient permissions. Required scope: {scope}"


def has_scope(granted: Iterable[str], required: str) -> bool:
    """True when any granted scope is ``required`` itself, ``<resource>:*`` or ``*``."""
    for scope in granted:
        if scope == required or scope == "*":
            return True
        if scope.endswith(":*") and required.startswith(scope[:-1]):
            return True
    return False


def require_scope(granted: Iterable[str], required: str) -> None:
    """Raise Forbidden with the exact text API clients match on when the scope is missing."""
    if not has_scope(granted, required):
        raise Forbidden(insufficient_scope(required))


# --- input ---------------------------------------------------------------------------------


def _scopes(value: Any) -> list[str]:
    if isinstance(value, str):  # "monitors:read, cron-jobs:*" from the command line
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ValueError('Send a list of scopes, such as ["monitors:read"].')
    if not value:
        raise ValueError("Give the key at least one scope.")
    unknown = [s for s in value if s not in KNOWN_SCOPES]
    if unknown:
        raise ValueError(
            f"Unknown scope {unknown[0]!r}. Known scopes: {', '.join(SCOPES)}, <resource>:* and *."
        )
    return list(dict.fromkeys(value))


def _networks(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise ValueError('Send a list of addresses or CIDR networks, such as ["10.0.0.0/8"].')
    if len(value) > NETWORKS_MAX:
        raise ValueError(f"Use at most {NETWORKS_MAX} networks.")
    networks = []
    for item in value:
        try:
            networks.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR network.") from None
    return list(dict.fromkeys(networks))


_PARSERS: dict[str, fields.Parser] = {
    "name": fields.name(NAME_MAX),
    "scopes": _scopes,
    "expires_at": fields.optional(fields.aware_datetime),
    "allowed_networks": _networks,
    "rate_limit_per_sec": fields.whole_number(1, RATE_LIMIT_MAX),
    "daily_quota": fields.optional(fields.whole_number(1, QUOTA_MAX)),
}
_REQUIRED = {"name": "Enter a name.", "scopes": "Give the key at least one scope."}


# --- hashing -------------------------------------------------------------------------------


def _digest(secret: str, salt: str) -> str:
    return hmac.new(salt.encode(), secret.encode(), hashlib.sha256).hexdigest()


def _hash(secret: str) -> str:
    salt = secrets.token_hex(16)
    return f"{_HASH_SCHEME}${salt}${_digest(secret, salt)}"


def _matches(secret: str, stored: str) -> bool:
    scheme, _, rest = stored.partition("$")
    salt, _, digest = rest.partition("$")
    if scheme != _HASH_SCHEME or not salt or not digest:
        return False
    return hmac.compare_digest(_digest(secret, salt), digest)


# --- operations ----------------------------------------------------------------------------


def _check_expiry_and_scopes(
    values: dict, errors: dict[str, str], grantor: Iterable[str] | None, now: datetime, never: str
) -> None:
    """Refuse an expiry in the past, and scopes the granting key does not hold itself
    (``grantor`` None: an admin, who may grant every scope); raise with every field error."""
    if values.get("expires_at") is not None and values["expires_at"] <= now:
        errors["expires_at"] = f"Choose a moment in the future, or {never}."
    if grantor is not None and "scopes" in values:
        grantor = list(grantor)
        beyond = [s for s in values["scopes"] if not _can_grant(grantor, s)]
        if beyond:
            errors["scopes"] = f"This key cannot grant {beyond[0]}: it does not hold it itself."
    if errors:
        raise ValidationError(errors)


def create(
    data: Any,
    *,
    granted_by: Iterable[str] | None = None,
    created_by_id: int | None = None,
    now: datetime | None = None,
    imported: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns (key, secret). The secret exists only in this return value.

    ``imported`` is an existing CronUptime token (64 lowercase hex characters) to keep as
    the secret instead of drawing a new one, so scripts holding it keep working; only the
    command line passes it (an admin's act, never a field of an API body).

    ``granted_by`` is the scope list of the key making the request: a key can hand out only
    scopes it holds itself, or "api-keys:write" would be a way to any permission. None means
    an admin (dashboard or command line), who may grant every scope.
    """
    values, errors = fields.parse(data, _PARSERS)
    fields.require(data, errors, _REQUIRED)
    if imported is not None:
        if not isinstance(imported, str) or not IMPORTED_SECRET_RE.fullmatch(imported):
            errors["secret"] = IMPORTED_SECRET_INVALID
        elif db.session.execute(
            sa.select(ApiKey.id).where(ApiKey.prefix == imported[:PREFIX_LEN])
        ).first():
            errors["secret"] = PREFIX_TAKEN
    _check_expiry_and_scopes(values, errors, granted_by, now or utcnow(), "leave it empty")

    def build() -> tuple[ApiKey, str]:
        secret = imported or SECRET_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            name=values["name"],
            prefix=secret[:PREFIX_LEN],
            key_hash=_hash(secret),
            scopes=values["scopes"],
            allowed_networks=values.get("allowed_networks", []),
            rate_limit_per_sec=values.get("rate_limit_per_sec", RATE_LIMIT_DEFAULT),
            daily_quota=values.get("daily_quota"),
            expires_at=values.get("expires_at"),
            created_by_id=created_by_id,
            created_at=now,
            use_count=0,
        )
        db.session.add(key)
        return key, secret

    # The prefix carries 48 random bits; a collision is astronomically rare, and a retry
    # draws a new secret.
    return fields.commit_retrying(build, "Could not create a unique key; try again.")


def _can_grant(granted: list[str], scope: str) -> bool:
    """A scope is grantable when held; a wildcard only when held as that wildcard or "*"
    (so "monitors:read" and "monitors:write" together still cannot mint "monitors:*")."""
    if scope.endswith("*"):
        return "*" in granted or scope in granted
    return has_scope(granted, scope)


def beyond(granted: Iterable[str], key: ApiKey) -> list[str]:
    """The scopes of ``key`` that ``granted`` could not grant (the rule of ``_can_grant``)."""
    granted = list(granted)
    return [scope for scope in key.scopes if not _can_grant(granted, scope)]


def within(acting: Iterable[str] | None, key: ApiKey) -> bool:
    """Whether ``acting`` (a key's scopes; None: an admin) may see, change or revoke ``key``."""
    return acting is None or not beyond(acting, key)


def _require_within(acting: Iterable[str] | None, key: ApiKey) -> None:
    """A key may see, change or revoke only keys whose scopes are within its own; otherwise
    "api-keys:write" would let a narrow key revoke the admin's "*" key or retune it. None
    means an admin (dashboard or command line), who may act on every key."""
    if acting is None:
        return
    missing = beyond(acting, key)
    if missing:
        raise Forbidden(insufficient_scope(", ".join(missing)))


def get(key_id: int, acting: Iterable[str] | None = None) -> ApiKey:
    """The key (revoked and expired ones too), or NotFound; Forbidden when the scopes of the
    key ``acting`` (None: an admin) do not cover it."""
    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("API key not found")
    _require_within(acting, key)
    _take_pending_uses([key])
    return key


def list_keys(page: Any = 1, per_page: Any = 50) -> Page:
    """One page of keys, newest first, revoked and expired ones included, their use counts
    current (the uses still counted in Redis are written first)."""
    query = sa.select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    result = paginate(query, page, per_page)
    _take_pending_uses(result.items)
    return result


def update(
    key_id: int,
    data: Any,
    *,
    acting: Iterable[str] | None = None,
    now: datetime | None = None,
) -> ApiKey:
    """Change the fields given (the secret stays). ``acting`` as for ``get``: a key may change
    only keys within its scopes, and give them only scopes it could grant."""
    key = get(key_id, acting)
    values, errors = fields.parse(data, _PARSERS)
    _check_expiry_and_scopes(values, errors, acting, now or utcnow(), "null for never")
    for name, value in values.items():
        setattr(key, name, value)
    db.session.commit()
    return key


def revoke(
    key_id: int, *, acting: Iterable[str] | None = None, now: datetime | None = None
) -> ApiKey:
    """Revoke a key for good; revoking it again keeps the first revocation time. ``acting``
    as for ``get``."""
    key = get(key_id, acting)
    if key.revoked_at is None:
        key.revoked_at = now or utcnow()
        db.session.commit()
    return key


def status(key: ApiKey, now: datetime) -> str:
    """The key's standing at ``now``: "active", "revoked" or "expired"."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def _address_allowed(key: ApiKey, address: str) -> bool:
    if not key.allowed_networks:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network) for network in key.allowed_networks)


def authenticate(secret: str, address: str, now: datetime | None = None) -> ApiKey:
    """The active key whose secret this is, used from ``address``; records the use.

    Raises AuthenticationFailed (unknown, revoked or expired) or Forbidden (an address
    outside the key's allowlist).
    """
    now = now or utcnow()
    secret = secret.strip()
    if not _SECRET_RE.fullmatch(secret):
        raise AuthenticationFailed(INVALID)
    key = db.session.execute(
        sa.select(ApiKey).where(ApiKey.prefix == secret[:PREFIX_LEN])
    ).scalar_one_or_none()
    # End the read at once: on SQLite every transaction holds the write lock until it ends.
    db.session.commit()
    if key is None or not _matches(secret, key.key_hash):
        raise AuthenticationFailed(INVALID)
    state = status(key, now)
    if state == "revoked":
        raise AuthenticationFailed(REVOKED)
    if state == "expired":
        raise AuthenticationFailed(EXPIRED)
    if not _address_allowed(key, address):
        raise Forbidden(ADDRESS_REFUSED)
    _record_use(key, now)
    return key


# Count a use; the first use in each USE_FLUSH_SEC window takes the count collected so far
# (and resets it), so exactly one request per window writes to SQL.
_COUNT_USE = """
local uses = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[3], ARGV[2])
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('SET', KEYS[1], '0')
  return uses
end
return 0
"""


def _record_use(key: ApiKey, now: datetime) -> None:
    """Keep last_used_at and use_count without a SQL write on every request.

    Uses are counted in Redis and added to SQL once a minute per key, so last_used_at is
    exact to the minute. With Redis down every use is written straight to SQL instead.
    """
    try:
        uses = cast(
            int,  # the script's integer reply
            redis_client.conn.eval(
                _COUNT_USE,
                3,
                f"upcron:apikey:{key.id}:uses",
                f"upcron:apikey:{key.id}:flushed",
                f"upcron:apikey:{key.id}:last",
                str(USE_FLUSH_SEC),
                now.isoformat(),
            ),
        )
    except redis.RedisError as exc:
        log.warning("API key use counter unavailable (%s); writing the use to SQL", exc)
        uses = 1
    if not uses:
        return
    _add_uses(key, uses, now)


def _add_uses(key: ApiKey, uses: int, last_used_at: datetime) -> None:
    db.session.execute(
        sa.update(ApiKey)
        .where(ApiKey.id == key.id)
        .values(use_count=ApiKey.use_count + uses, last_used_at=last_used_at)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    key.use_count = (key.use_count or 0) + uses
    key.last_used_at = last_used_at


# Take the uses counted since the last write (leaving 0) and the time of the latest one.
_TAKE_USES = """
local uses = redis.call('GET', KEYS[1])
if not uses or uses == '0' then return {'0', ''} end
redis.call('SET', KEYS[1], '0')
return {uses, redis.call('GET', KEYS[2]) or ''}
"""


def _take_pending_uses(keys: Iterable[ApiKey]) -> None:
    """Write the uses Redis holds for ``keys`` to SQL now, so a page or an API answer shows
    counts that are current rather than up to USE_FLUSH_SEC old. Taking the count is atomic,
    so a use is never added twice, whoever writes it."""
    for key in keys:
        try:
            uses, last = cast(
                list[bytes],
                redis_client.conn.eval(
                    _TAKE_USES, 2, f"upcron:apikey:{key.id}:uses", f"upcron:apikey:{key.id}:last"
                ),
            )
        except redis.RedisError:
            return  # without Redis every use was written to SQL already
        if int(uses) > 0:
            last_used_at = datetime.fromisoformat(last.decode()) if last else utcnow()
            _add_uses(key, int(uses), max(last_used_at, key.last_used_at or last_used_at))
