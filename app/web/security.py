"""Request-wide security: login wiring, the first-run redirect, client addresses and the
headers every response carries."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, redirect, request, url_for
from flask.typing import ResponseReturnValue

from app.extensions import login_manager
from app.services import accounts

# No inline script anywhere: htmx is loaded from /static and configured by a meta tag.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)

# Endpoints that work before the first admin exists; so do the API's, the compatibility
# facades' (keys, not sessions), the pings' and /metrics.
_OPEN_BEFORE_SETUP = {"auth.setup", "static", "health.healthz", None}
_OPEN_PREFIXES = ("api.", "compat_", "ping.", "status.", "metrics.")


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(accounts.load_session_user)
    app.before_request(_redirect_to_setup)
    app.after_request(_security_headers)


def _redirect_to_setup() -> ResponseReturnValue | None:
    """While no admin exists, every page leads to the setup form.

    The APIs and the public status routes answer as they are (the status page then lists
    nothing); only ``/`` and the dashboard lead to setup.
    """
    endpoint = request.endpoint
    if endpoint in _OPEN_BEFORE_SETUP or (endpoint or "").startswith(_OPEN_PREFIXES):
        return None
    if not accounts.setup_completed():
        return redirect(url_for("auth.setup"))
    return None


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def client_ip() -> str:
    """The caller's address, believing X-Forwarded-For only from UPCRON_TRUSTED_PROXIES.

    Walks the header from the right (the hop nearest to us) and stops at the first address
    that is not one of our proxies: anything left of it could be forged by the client.
    """
    trusted = current_app.config["TRUSTED_PROXIES"]
    remote = request.remote_addr or ""

    def is_trusted(address: str) -> bool:
        return address_within(address, trusted)

    if not trusted or not is_trusted(remote):
        return remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote
    return remote


def address_within(
    address: str, networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    """Whether ``address`` (text, maybe not an address at all) is in one of ``networks``."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def safe_next(target: str | None) -> str | None:
    """Return ``target`` when it is a path on this site, else None (no open redirects)."""
    if not target or any(c in target for c in "\\\r\n\t") or any(ord(c) < 32 for c in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
