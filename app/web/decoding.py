"""Request text is checked where it is decoded, once for every surface.

A NUL character cannot be stored in PostgreSQL text, and a lone surrogate (what JSON's
``"\\ud800"`` escape decodes to) cannot be encoded as UTF-8 by any driver. Both used to
reach SQL and fail there with a 500. Here they are refused as they leave the decoder, so no
route, service or facade sees them:

- path segments: ``check_view_args``, a URL value preprocessor (runs before every view);
- query strings and form fields: ``Request.args`` and ``Request._load_form_data``, when a
  view (or the CSRF check) first reads them; a query of raw bytes that are not UTF-8, which
  Werkzeug cannot decode at all, is refused the same way;
- JSON bodies: ``loads``, which the API's ``json_body``, the facades that read JSON
  themselves and ``request.get_json()`` all use.

Ping bodies are not text but bytes the ping service stores safely (``pings._body_text``), so
they are not checked: a script may post anything.

The error is ``UnusableText``, a 422 that each surface renders in its own shape (JSON on the
API, the facades' envelopes, a page or plain text elsewhere; ``app.web.errors``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import flask
from htmx_flask.requests import HtmxAwareRequest
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import UnprocessableEntity
from werkzeug.utils import cached_property

# NUL and the UTF-16 surrogate range: the code points that no database text can hold.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnusableText(UnprocessableEntity):
    """Request text that cannot be decoded or stored; the description says where and why,
    ``field`` which field (a dotted path into a JSON body), when one is to blame."""

    def __init__(self, description: str, field: str | None = None):
        super().__init__(description)
        self.field = field


def _unstorable(where: str, path: tuple[str, ...] = ()) -> UnusableText:
    field = ".".join(path)[:60] or None
    if field:
        where = f"The field {field!r} of {where[0].lower()}{where[1:]}"
    return UnusableText(
        f"{where} contains a NUL character or an unpaired surrogate (U+D800 to U+DFFF), "
        "which cannot be stored. Remove it and try again.",
        field,
    )


def refuse_unstorable(value: Any, where: str) -> Any:
    """``value`` unchanged if no string in it (keys included, at any depth) holds a NUL or a
    lone surrogate; else ``UnusableText`` naming the field. Walks without recursion: JSON
    can nest deeply."""
    pending: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise _unstorable(where, path)
        elif isinstance(item, Mapping):
            # A MultiDict's items() gives each key's first value only; lists() gives all.
            pairs = item.lists() if isinstance(item, MultiDict) else item.items()
            for key, inner in pairs:
                pending += [(key, path), (inner, (*path, str(key)))]
        elif isinstance(item, list | tuple):
            pending += [(inner, path) for inner in item]
    return value


def speaks_json(path: str) -> bool:
    """The native API and the compatibility facades read and answer JSON; pages take forms."""
    return path == "/api" or path.startswith(("/api/", "/compat/"))


def loads(data: str | bytes) -> Any:
    """A JSON request body: ``json.loads`` (ValueError when malformed, nested too deeply
    included), then ``refuse_unstorable``."""
    try:
        value = json.loads(data)
    except RecursionError:
        # Arrays nested thousands deep: malformed like any other JSON a caller refuses.
        raise ValueError("nested too deeply") from None
    return refuse_unstorable(value, "The JSON body")


class _BodyJSON:
    """What ``request.get_json()`` parses with (Werkzeug's ``Request.json_module``). The
    app's own JSON provider is left alone: it also reads the signed session cookie."""

    loads = staticmethod(loads)


class Request(HtmxAwareRequest):
    json_module = _BodyJSON

    @property
    def is_json(self) -> bool:
        # flask-wtf builds a page's form from a JSON body when one is sent, and a list or an
        # object where WTForms expects text crashes it: pages read form fields only.
        return super().is_json and speaks_json(self.path)

    @cached_property
    def args(self) -> MultiDict[str, str]:
        try:
            args = super().args
        except UnicodeDecodeError:
            # Raw bytes in the query that are not UTF-8 (percent-encoded ones are kept
            # encoded by Werkzeug); Werkzeug decodes the query strictly and would raise.
            raise UnusableText("The query string is not valid UTF-8.") from None
        refuse_unstorable(args, "The query string")
        return args

    def _load_form_data(self) -> None:
        super()._load_form_data()
        refuse_unstorable(self.form, "The form")


def check_view_args(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Path segments: Werkzeug decodes bytes that are not UTF-8 to U+FFFD, but ``%00`` is a
    NUL. A loop of its own: every ping passes here, and this costs it a microsecond."""
    for name, value in (values or {}).items():
        if isinstance(value, str) and _UNSTORABLE.search(value):
            raise _unstorable("The address", (name,))


def init_app(app: flask.Flask) -> None:
    app.request_class = Request  # still HtmxAwareRequest, which the htmx extension set
    app.url_value_preprocessor(check_view_args)
