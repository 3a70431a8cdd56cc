"""Importers: another tool's setup turned into an Upcron configuration document (the format
``services/config.py`` exports), which is then planned and applied like any other import.

An importer never writes: it reads the other tool's data and says what it could not carry
over (``skipped``), so nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SOURCES = ("uptime-kuma", "healthchecks")


@dataclass
class Conversion:
    """The configuration document, and each item left out as {"name", "kind", "reason"}."""

    document: dict[str, Any]
    skipped: list[dict[str, str]] = field(default_factory=list)


def convert(source: str, raw: bytes) -> Conversion:
    """Read ``raw`` (an Uptime Kuma SQLite database, or the JSON of Healthchecks'
    ``GET /api/v3/checks/``) as a configuration document; ValueError says why it cannot."""
    if source == "uptime-kuma":
        from app.services.importers import uptime_kuma

        return uptime_kuma.convert(raw)
    if source == "healthchecks":
        from app.services.importers import healthchecks

        return healthchecks.convert(raw)
    raise ValueError(f"Choose a source: {', '.join(SOURCES)}.")
