"""Who is calling the API and what they may do: ``@require_scope("monitors:read")``.

A request presents its key as ``Authorization: Bearer <key>`` or ``X-Api-Key: <key>``. The
key is authenticated (401 when missing, unknown, revoked or expired), its address allowlist
checked (403), its rate limit and quota counted (429), and then the route's scope (403 with
the exact text clients match on).

Reads (GET) also accept a signed-in admin's browser session, so an admin can open API URLs in
the browser; such a caller holds every scope and is not rate limited. Writes never accept
the session: a cookie rides along with cross-site requests, a header does not.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from flask import g, request
from flask_login import current_user

from app.models import ApiKey, User
from app.models.types import utcnow
from app.services import api_keys, ratelimit
from app.services.errors import AuthenticationFailed, Throttled
from app.web.security import client_ip

SESSION_WRITE = (
    "Changes through the API need an API key (Authorization: Bearer <key>); a browser "
    "session can only read."
)
_READ_METHODS = ("GET", "HEAD")

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Principal:
    """The caller: an API key, or a signed-in admin reading through the browser."""

    scopes: tuple[str, ...]
    api_key: ApiKey | None = None
    user: User | None = None

    @property
    def actor(self) -> ApiKey | User | None:
        return self.api_key or self.user

    def can(self, scope: str) -> bool:
        return api_keys.has_scope(self.scopes, scope)


@dataclass(frozen=True)
class KeyPrincipal(Principal):
    """A caller that presented a key: its key is always there."""

    api_key: ApiKey


def presented_secret() -> str | None:
    """The key from ``Authorization: Bearer`` (scheme in any case) or ``X-Api-Key``."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-Api-Key", "").strip() or None


def authorize(scope: str | None, session: bool | None = None) -> Principal:
    """Establish the caller for this request (``g.principal``) and check ``scope`` (None:
    the view checks the scopes itself, when they depend on the body).

    ``session``: whether a signed-in admin's browser session may stand in for a key; by
    default for reads (GET, HEAD) only. A GET that changes state (a dialect's "check all
    now") passes False, so a link or image on another site cannot set it off.
    """
    secret = presented_secret()
    if session is None:
        session = request.method in _READ_METHODS
    if secret is None:
        if not current_user.is_authenticated:
            raise AuthenticationFailed(api_keys.MISSING)
        if not session:
            raise AuthenticationFailed(SESSION_WRITE)
        g.principal = Principal(scopes=("*",), user=current_user._get_current_object())
        return g.principal
    return authorize_key(secret, scope)


def authorize_key(secret: str, scope: str | None) -> Principal:
    """The whole check of a presented key: authenticated (401/403), counted against its rate
    limit and quota (429), holding ``scope`` (403). Sets ``g.principal`` and ``g.rate``.

    The native API and the compatibility facades share it: they differ only in where the key
    arrives and in how the errors are worded.
    """
    key = authenticate_key(secret).api_key
    count_request(key, key.daily_quota)
    if scope is not None:
        api_keys.require_scope(key.scopes, scope)
    return g.principal


def authenticate_key(secret: str) -> KeyPrincipal:
    """The key behind ``secret`` as this request's principal: 401 or 403 when refused.

    Shared with the compatibility facades, which speak other dialects around the same keys.
    """
    key = api_keys.authenticate(secret, client_ip())
    g.principal = KeyPrincipal(scopes=tuple(key.scopes), api_key=key)
    return g.principal


def count_request(key: ApiKey, daily_quota: int | None) -> None:
    """Count the request against the key's per-second limit and ``daily_quota`` (429).

    The quota is a parameter because a facade may apply its dialect's default to keys that
    have none of their own.
    """
    g.rate = ratelimit.hit(key.id, key.rate_limit_per_sec, daily_quota, utcnow())
    if not g.rate.allowed:
        raise Throttled(g.rate.message, g.rate.retry_after)


def require_scope(scope: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a view that needs ``scope``; the scope is also kept on the view, where the
    OpenAPI test reads it to compare with the document."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            authorize(scope)
            return view(*args, **kwargs)

        mark_scope(wrapped, scope)
        return wrapped

    return decorate


def public(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view that needs no key (the API's own documentation, setup status)."""
    mark_scope(view, None)
    return view


def mark_scope(view: Callable[..., object], scope: str | None) -> None:
    """Keep on ``view`` the scope it requires (None: none), as the OpenAPI test reads it."""
    setattr(view, "required_scope", scope)  # an attribute functions are not declared to have


def principal() -> Principal:
    return g.principal
