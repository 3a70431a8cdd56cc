"""``GET /metrics``: Prometheus' scrape, in its text format (what is counted: app.metrics).

Open to an API key with the scope ``metrics:read`` (or a signed-in admin, as every API read)
and, without a key, to the addresses in UPCRON_METRICS_ALLOW. Refusals are the API's JSON
errors: 401 without a key, 403 for a key without the scope.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from app import metrics
from app.services import system
from app.services.errors import ServiceError
from app.web import api
from app.web.api.auth import authorize
from app.web.security import address_within, client_ip

SCOPE = "metrics:read"

bp = Blueprint("metrics", __name__)
bp.register_error_handler(ServiceError, api.service_error)


@bp.get("/metrics")
def scrape() -> Response:
    if not address_within(client_ip(), current_app.config["METRICS_ALLOW"]):
        authorize(SCOPE)
    return Response(metrics.render(system.levels()), content_type=metrics.CONTENT_TYPE)
