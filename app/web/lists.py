"""What the dashboard's lists share: the filters they carry, the list-only answer to their
filter form, and the fingerprint a polling list compares to know it is unchanged."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import render_template
from htmx_flask import request as htmx_request

from app.services import tags


def filter_args(**values: str) -> dict[str, str]:
    """The filters that are set, by query name: what the pager carries from page to page and
    what tells a list's empty state "nothing matches" from "nothing yet"."""
    return {name: value for name, value in values.items() if value}


def tag_names() -> list[str]:
    """Every tag's name, for a list's tag filter."""
    return [tag.name for tag in tags.all_tags()]


def render_list(page_template: str, list_template: str, list_id: str, **context: Any) -> str:
    """The list's page, or only the list when its filter form asked for it (htmx targets the
    element ``list_id``, which ``list_template`` renders)."""
    partial = htmx_request.htmx and htmx_request.htmx.target == list_id
    return render_template(list_template if partial else page_template, **context)


def fingerprint(value: object) -> str:
    """A short digest of what a page shows (anything with a stable repr): a poll that sends
    back the one it was rendered with learns whether anything changed."""
    return hashlib.blake2b(repr(value).encode(), digest_size=6).hexdigest()
