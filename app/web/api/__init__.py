"""The native JSON API under /api: API keys with scopes, per-key rate limits, JSON errors.

One blueprint; its routes live in one module per resource. Every route is wrapped by
``auth.require_scope`` (or marked public), calls one service function and serialises the
result with ``serializers``. Service errors become JSON here, in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, jsonify
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from werkzeug.routing import BaseConverter
from werkzeug.routing import ValidationError as RoutingValidationError

from app.extensions import csrf
from app.services import cron_jobs as cron_jobs_service
from app.services import incidents as incidents_service
from app.services import monitors as monitors_service
from app.services.errors import (
    AuthenticationFailed,
    Conflict,
    Forbidden,
    NotFound,
    ServiceError,
    Throttled,
    Unavailable,
    ValidationError,
)

INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1

bp = Blueprint("api", __name__, url_prefix="/api")
# API writes authenticate with a key in a header, never with the browser's session cookie,
# so there is no cross-site request to forge.
csrf.exempt(bp)


class IdConverter(BaseConverter):
    """A positive id that fits the INTEGER primary keys of PostgreSQL (32 bits).

    A larger number can name no row; letting it reach the database would turn a lookup of a
    nonexistent id into an "integer out of range" server error instead of a 404.
    """

    regex = r"[1-9][0-9]{0,9}"
    max_value = INT_MAX

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > self.max_value:
            raise RoutingValidationError()  # no match: the 404 of any unknown path
        return number

    def to_url(self, value: int) -> str:
        return str(value)


class BigIdConverter(IdConverter):
    """A positive id of a BIGINT key (history rows), 64 bits."""

    regex = r"[1-9][0-9]{0,18}"
    max_value = BIGINT_MAX


UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class RefConverter(IdConverter):
    """An item's id, or its stable uuid (what CronUptime clients hold), as the integer id.

    A uuid that names no item becomes 0, which names none either: the route's service then
    answers its own "… not found", exactly as for an unknown integer id.
    """

    regex = rf"(?:{IdConverter.regex}|{UUID_PATTERN})"
    lookup: Callable[[str], Any]

    def to_python(self, value: str) -> int:
        if "-" not in value:
            return super().to_python(value)
        try:
            return type(self).lookup(value).id
        except NotFound:
            return 0


class MonitorRef(RefConverter):
    lookup = staticmethod(monitors_service.get_by_uuid)


class CronJobRef(RefConverter):
    lookup = staticmethod(cron_jobs_service.get_by_uuid)


class IncidentRef(RefConverter):
    lookup = staticmethod(incidents_service.get_by_uuid)


CONVERTERS = {
    "id": IdConverter,
    "bigid": BigIdConverter,
    "monitor": MonitorRef,
    "cron_job": CronJobRef,
    "incident": IncidentRef,
}


@bp.record_once
def _register_converters(state: BlueprintSetupState) -> None:
    state.app.url_map.converters.update(CONVERTERS)


_STATUS = {
    ValidationError: 422,
    NotFound: 404,
    Conflict: 409,
    AuthenticationFailed: 401,
    Forbidden: 403,
    Throttled: 429,
    Unavailable: 503,
}


def http_status(exc: ServiceError, overrides: dict | None = None, default: int = 400) -> int:
    """The HTTP status of a service error; the facades pass their dialect's differences."""
    table = {**_STATUS, **(overrides or {})}
    return next((code for kind, code in table.items() if isinstance(exc, kind)), default)


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError) -> ResponseReturnValue:
    status = http_status(exc)
    body: dict[str, Any] = {"error": exc.message}
    headers: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        body["fields"] = exc.fields
    if isinstance(exc, Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = 'Bearer realm="Upcron API"'
    return jsonify(body), status, headers


@bp.after_request
def _rate_limit_headers(response: Response) -> Response:
    """Every response to a key reports where the key stands against its limits."""
    decision = g.get("rate")
    if decision is None or decision.remaining is None:
        return response
    response.headers["X-RateLimit-Limit"] = str(decision.limit)
    response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
    response.headers["X-RateLimit-Reset"] = str(decision.reset_sec)
    if decision.quota is not None:
        response.headers["X-Quota-Limit"] = str(decision.quota)
        response.headers["X-Quota-Remaining"] = str(decision.quota_remaining)
        response.headers["X-Quota-Reset"] = str(decision.quota_reset_sec)
    return response


# The route modules add their views to ``bp``.
from app.web.api import (  # noqa: E402
    api_keys,
    bulk,
    configuration,
    cron_jobs,
    docs,
    incidents,
    maintenance,
    monitors,
    notifications,
    settings,
    system,
    tags,
)

__all__ = [
    "bp",
    "api_keys",
    "bulk",
    "configuration",
    "cron_jobs",
    "docs",
    "incidents",
    "maintenance",
    "monitors",
    "notifications",
    "settings",
    "system",
    "tags",
]
