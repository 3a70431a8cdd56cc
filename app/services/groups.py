"""Groups that sort monitors and cron jobs on the dashboard and the status page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Group
from app.services import fields
from app.services.errors import NotFound, ValidationError

NAME_MAX = 100
NAME_TAKEN = "A group with this name already exists."

parse_name = fields.name(NAME_MAX)


def _find(name: str) -> Group | None:
    # Names are unique regardless of case: "Production" and "production" are one group.
    return db.session.execute(
        sa.select(Group).where(sa.func.lower(Group.name) == name.lower())
    ).scalar_one_or_none()


def _clean_name(value: Any) -> str:
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError({"name": fields.NUL_MESSAGE})
    try:
        return parse_name(value)
    except ValueError as exc:
        raise ValidationError({"name": str(exc)}) from None


def resolve(name: str) -> Group:
    """The group called ``name``, added to the session (not committed) if it is new.

    For services that save an item together with its group in one unit of work; ``name``
    must already be valid (see ``parse_name``).
    """
    group = _find(name)
    if group is None:
        group = Group(name=name)
        db.session.add(group)
    return group


def create(name: Any) -> Group:
    """A new group; an existing name (any case) is refused (items take a group by name,
    created on first use: ``resolve``)."""
    clean = _clean_name(name)

    def build() -> Group:
        if _find(clean) is not None:
            raise ValidationError({"name": NAME_TAKEN})
        return resolve(clean)

    # A twin inserted between our check and our commit fails the commit; the retry's check
    # then finds it and refuses.
    return fields.commit_retrying(build, "The group changed at the same moment; try again.")


def get(group_id: int) -> Group:
    group = db.session.get(Group, group_id)
    if group is None:
        raise NotFound("Group not found")
    return group


def list_groups() -> list[Group]:
    return list(db.session.execute(sa.select(Group).order_by(Group.position, Group.name)).scalars())


def rename(group_id: int, name: Any) -> Group:
    """Rename a group; only a change of case is allowed onto an existing name."""
    group = get(group_id)
    clean = _clean_name(name)
    existing = _find(clean)
    if existing is not None and existing.id != group.id:
        raise ValidationError({"name": NAME_TAKEN})
    group.name = clean
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise ValidationError({"name": NAME_TAKEN}) from None
    return group


def delete(group_id: int) -> None:
    """Delete a group; its monitors and cron jobs stay, ungrouped (the foreign keys SET NULL)."""
    db.session.delete(get(group_id))
    db.session.commit()
