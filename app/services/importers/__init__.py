"""Importers: another tool's setup turned into an Upcron configuration document (the format
``services/config.py`` exports), which is then planned and applied like any other import.

An importer never writes: it reads the other tool's data and says what it could not carry
over (``skipped``) and what it carried over differently (``warnings``), so nothing is
dropped or changed silently.
"""

from __future__ import annotations

from app.services.importers import healthchecks, uptime_kuma
from app.services.importers.document import Conversion

__all__ = ["SOURCES", "Conversion", "convert"]

SOURCES = ("uptime-kuma", "healthchecks")


def convert(source: str, raw: bytes) -> Conversion:
    """Read ``raw`` (an Uptime Kuma SQLite database, or the JSON of Healthchecks'
    ``GET /api/v3/checks/``) as a configuration document; ValueError says why it cannot."""
    if source == "uptime-kuma":
        return uptime_kuma.convert(raw)
    if source == "healthchecks":
        return healthchecks.convert(raw)
    raise ValueError(f"Choose a source: {', '.join(SOURCES)}.")
