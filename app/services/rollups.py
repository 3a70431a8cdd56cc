"""Daily rollups belong to their subject without a foreign key; this removes them with it."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import DailyRollup


def forget(subject_type: str, subject_id: int) -> None:
    """Delete a subject's rollups in the caller's transaction.

    SQLite reuses the highest deleted id, so a new monitor or job must not inherit an old
    one's uptime figures.
    """
    db.session.execute(
        sa.delete(DailyRollup).where(
            DailyRollup.subject_type == subject_type, DailyRollup.subject_id == subject_id
        )
    )
