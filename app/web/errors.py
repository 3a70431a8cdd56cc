"""Error responses: JSON ``{"error": …}`` under /api, short plain text under /ping (scripts
call it), friendly pages everywhere else."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError

from app.web.decoding import UnusableText, speaks_json

CSRF_MESSAGE = (
    "This form has expired or its security token is missing or wrong. "
    "Reload the page and try again."
)
# A page's address with a value it cannot use: a page number or filter typed or edited by
# hand (the pages themselves only link to valid ones).
BAD_ADDRESS_MESSAGE = (
    "This address asks for something the page cannot show, such as a page number below 1 or "
    "an unknown status. Open the page from the menu, or fix the address."
)


def wants_json() -> bool:
    """The native API and the compatibility facades answer in JSON (a facade may reshape it);
    ping URLs, a facade's too, in text."""
    return speaks_json(request.path) and not wants_text()


def wants_text() -> bool:
    return request.path.startswith(("/ping/", "/compat/healthchecks/ping/"))


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> ResponseReturnValue:
    if wants_text():
        headers = {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}
        return message, status, headers
    if wants_json():
        return jsonify(error=message), status, headers or {}
    html = render_template("errors/error.html", status=status, message=message)
    return html, status, headers or {}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> ResponseReturnValue:
        return error_response(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        messages = {
            404: "Not found.",
            405: f"Method {request.method} is not allowed here.",
            413: "The request body is too large (the limit is 1 MiB).",
        }
        # Keep the headers werkzeug computed (Allow on 405, Retry-After on 429…).
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        if isinstance(exc, UnusableText):
            if request.path.startswith("/api/"):
                # The native API's 422 names the field, as its validation errors do.
                field = exc.field or "request"
                return jsonify(error=exc.description, fields={field: exc.description}), 422
            # 422 for the facades; a page or a script gets 400, since htmx would swap a
            # 422 page into a form as if it were the form's inline errors.
            return error_response(422 if wants_json() else 400, exc.description, headers)
        if wants_text():
            return error_response(exc.code or 500, exc.name.lower(), headers)
        if exc.code == 400 and exc.description == BadRequest.description and not wants_json():
            return error_response(400, BAD_ADDRESS_MESSAGE, headers)
        code = exc.code or 500
        return error_response(code, messages.get(code, exc.description or exc.name), headers)

    @app.errorhandler(InternalServerError)
    def internal_error(exc: InternalServerError) -> ResponseReturnValue:
        return error_response(500, "Something went wrong on our side; it has been logged.")
