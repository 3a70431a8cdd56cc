"""Lists: one page with the bounds every list operation accepts, search and group order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import db
from app.models import Group
from app.services import fields
from app.services.errors import ValidationError

PER_PAGE_MAX = 200

# Capped so the offset stays far inside PostgreSQL's bigint.
_page = fields.whole_number(1, 1_000_000)
_per_page = fields.whole_number(1, PER_PAGE_MAX)
_offset = fields.whole_number(0, 1_000_000_000)
_PAGE_PARSERS = {"page": _page, "per_page": _per_page}


@dataclass(frozen=True)
class Page:
    """One page of a list; ``pages`` is at least 1."""

    items: list[Any]
    total: int
    page: int
    per_page: int
    pages: int
    offset: int = 0


def paginate(
    query: sa.Select, page: Any = 1, per_page: Any = 50, offset: Any = None, rows: bool = False
) -> Page:
    """Run ``query`` (ordered) for one page; page and per_page may be form strings.

    ``offset`` (rows to skip), when given, replaces ``page`` as the start: for clients that
    page by limit and offset. Items are the first column's values, or with ``rows`` whole
    rows (for a query of several columns, such as a union of kinds of items).
    """
    given = {"page": page, "per_page": per_page}
    parsers = {"page": _page, "per_page": _per_page}
    if offset is not None:
        given["offset"], parsers["offset"] = offset, _offset
    values, errors = fields.parse(given, parsers)
    if errors:
        raise ValidationError(errors)
    per_page = values["per_page"]
    start = values["offset"] if offset is not None else (values["page"] - 1) * per_page
    total = db.session.execute(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    result = db.session.execute(query.limit(per_page).offset(start))
    items = list(result.all() if rows else result.scalars())
    # An empty list is one empty page, so "page 1 of 1" never reads "page 1 of 0".
    pages = max(1, -(-total // per_page))
    return Page(
        items=items,
        total=total,
        page=start // per_page + 1,
        per_page=per_page,
        pages=pages,
        offset=start,
    )


def page_of(items: list[Any], page: Any = 1, per_page: Any = 50) -> Page:
    """One page of a list already in memory, with the same bounds as ``paginate``."""
    values, errors = fields.parse({"page": page, "per_page": per_page}, _PAGE_PARSERS)
    if errors:
        raise ValidationError(errors)
    size = values["per_page"]
    start = (values["page"] - 1) * size
    pages = max(1, -(-len(items) // size))
    return Page(items[start : start + size], len(items), values["page"], size, pages, start)


def matching(term: str, *columns: so.InstrumentedAttribute[str | None]) -> sa.ColumnElement[bool]:
    """Any of ``columns`` contains ``term``, case-insensitively, with % and _ taken literally."""
    escaped = fields.search_term(term)
    escaped = escaped.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.or_(*(column.ilike(f"%{escaped}%", escape="\\") for column in columns))


def group_order() -> tuple:
    """ORDER BY terms for a query outer-joined to groups: grouped items first, by group
    position and name, ungrouped ones last (spelled out: SQLite sorts NULL first, PostgreSQL
    last)."""
    return (sa.case((Group.id.is_(None), 1), else_=0), Group.position, Group.name)
