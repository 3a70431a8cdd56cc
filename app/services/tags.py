"""Tags: labels with a colour on monitors, heartbeats and cron jobs, many per item.

Items name their tags (``"tags": ["prod", "db"]``); a name not seen before becomes a tag
with a colour from the palette, so tagging never needs a step of its own. Names are unique
regardless of case, like group names. Lists filter by tag with ``filter_tagged``: an item
must carry every tag asked for.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.extensions import db
from app.models import Tag
from app.models.tag import cron_job_tags, maintenance_tags, monitor_tags
from app.services import fields
from app.services.errors import NotFound, ValidationError

NAME_MAX = 50
PER_ITEM_MAX = 20
FILTER_MAX = 10
NAME_TAKEN = "A tag with this name already exists."
# Colours a new tag takes in turn; each is readable with white text (contrast ≥ 4.5:1).
PALETTE = ("#1f6feb", "#8250df", "#bf3989", "#b35900", "#1a7f37", "#0a7480", "#6e7781")
_COLOUR_RE = re.compile(r"#[0-9a-f]{6}")
# Commas separate tags in forms and query strings, so a name cannot hold one.
_FORBIDDEN = re.compile(r"[,\x00-\x1f\x7f]")


def parse_name(value: Any) -> str:
    name = fields.name(NAME_MAX, "Enter a tag name.")(value)
    if _FORBIDDEN.search(name):
        raise ValueError("A tag name cannot contain commas or control characters.")
    return name


def parse_names(value: Any) -> list[str]:
    """An item's tags: a list of names, or the text of a form field with names separated by
    commas. Repeats (in any case) count once, the first spelling kept."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError('Give a list of tag names, such as ["prod", "db"].')
    names: dict[str, str] = {}
    for item in value:
        name = parse_name(item)
        names.setdefault(name.lower(), name)
    if len(names) > PER_ITEM_MAX:
        raise ValueError(f"Give at most {PER_ITEM_MAX} tags.")
    return list(names.values())


def parse_colour(value: Any) -> str:
    colour = value.strip().lower() if isinstance(value, str) else ""
    if not _COLOUR_RE.fullmatch(colour):
        raise ValueError("Give a colour as #rrggbb, such as #1f6feb.")
    return colour


_PARSERS: dict[str, fields.Parser] = {"name": parse_name, "colour": parse_colour}


def _find(name: str) -> Tag | None:
    return db.session.execute(
        sa.select(Tag).where(sa.func.lower(Tag.name) == name.lower())
    ).scalar_one_or_none()


def resolve(names: list[str]) -> list[Tag]:
    """The tags called ``names`` (already parsed), new ones added to the session but not
    committed: for services that save an item with its tags in one unit of work, inside
    ``fields.commit_retrying``, so that a twin created at the same moment fails the commit
    (never a flush here) and is found on the retry."""
    with db.session.no_autoflush:
        count = db.session.execute(sa.select(sa.func.count(Tag.id))).scalar_one()
        found = []
        for name in names:
            tag = _find(name)
            if tag is None:
                tag = Tag(name=name, colour=PALETTE[count % len(PALETTE)])
                count += 1
                db.session.add(tag)
            found.append(tag)
    return found


def names_of(item: Any) -> list[str]:
    """A monitor's, cron job's or window's tags by name in any case, whether loaded from the
    database (ordered there by a collation that may differ) or just assigned."""
    return sorted((tag.name for tag in item.tags), key=str.lower)


def find(name: str) -> Tag:
    """The tag called ``name`` in any case, or NotFound (the CLI addresses tags by name)."""
    tag = _find(fields.search_term(name))
    if tag is None:
        raise NotFound(f"No tag is called {name}.")
    return tag


def get(tag_id: int) -> Tag:
    tag = db.session.get(Tag, tag_id)
    if tag is None:
        raise NotFound("Tag not found.")
    return tag


def all_tags() -> list[Tag]:
    """Every tag by name, without counting its items: for filters, forms, the colour sheet
    every dashboard page loads, and the configuration document."""
    return list(db.session.execute(sa.select(Tag).order_by(sa.func.lower(Tag.name))).scalars())


def list_tags() -> list[tuple[Tag, int]]:
    """Every tag by name, with how many items (monitors, heartbeats, cron jobs) carry it."""
    uses = sa.union_all(
        sa.select(monitor_tags.c.tag_id), sa.select(cron_job_tags.c.tag_id)
    ).subquery()
    count = (
        sa.select(sa.func.count())
        .select_from(uses)
        .where(uses.c.tag_id == Tag.id)
        .scalar_subquery()
    )
    rows = db.session.execute(sa.select(Tag, count).order_by(sa.func.lower(Tag.name)))
    return [(tag, used) for tag, used in rows]


def _validate(data: Any, current: Tag | None) -> dict[str, Any]:
    values, errors = fields.parse(data, _PARSERS)
    if current is None and "name" not in data and "name" not in errors:
        errors["name"] = "Enter a tag name."
    if "name" in values:
        twin = _find(values["name"])
        if twin is not None and twin is not current:
            errors["name"] = NAME_TAKEN
    if errors:
        raise ValidationError(errors)
    return values


def create(data: Any) -> Tag:
    values = _validate(data, None)

    def build() -> Tag:
        if _find(values["name"]) is not None:
            raise ValidationError({"name": NAME_TAKEN})
        (tag,) = resolve([values["name"]])
        tag.colour = values.get("colour", tag.colour)
        return tag

    return fields.commit_retrying(build, "The tag changed at the same moment; try again.")


def update(tag_id: int, data: Any) -> Tag:
    """Rename or recolour a tag; every item carrying it shows the change."""
    tag = get(tag_id)
    for key, value in _validate(data, tag).items():
        setattr(tag, key, value)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise ValidationError({"name": NAME_TAKEN}) from None
    return tag


def delete(tag_id: int) -> None:
    """Delete a tag; the items that carried it stay (their links cascade in SQL)."""
    db.session.delete(get(tag_id))
    db.session.commit()


def parse_filter(value: Any) -> list[str]:
    """The ``?tag=`` values of a list request (repeatable; each may also hold commas)."""
    raw = [value] if isinstance(value, str) else list(value or [])
    try:
        names = parse_names(",".join(fields.search_term(item) for item in raw))
    except ValueError as exc:
        raise ValidationError({"tag": str(exc)}) from None
    if len(names) > FILTER_MAX:
        raise ValidationError({"tag": f"Filter by at most {FILTER_MAX} tags."})
    return names


_LINKS = {
    "monitors": (monitor_tags, monitor_tags.c.monitor_id),
    "cron_jobs": (cron_job_tags, cron_job_tags.c.cron_job_id),
    "maintenance_windows": (maintenance_tags, maintenance_tags.c.window_id),
}


def filter_tagged(
    query: sa.Select, item_id: so.InstrumentedAttribute[int], names: list[str]
) -> sa.Select:
    """``query`` narrowed to items (whose id column is ``item_id``) carrying every tag in
    ``names``; a name no tag has matches nothing."""
    link, column = _LINKS[item_id.table.name]
    for name in names:
        tagged = (
            sa.select(column)
            .join(Tag, Tag.id == link.c.tag_id)
            .where(sa.func.lower(Tag.name) == name.lower())
        )
        query = query.where(item_id.in_(tagged))
    return query
