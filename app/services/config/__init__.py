"""Configuration as code: the whole setup as one document (JSON or YAML), exported, and
imported back as a plan of changes applied in one transaction.

The document (docs/configuration.md; its JSON Schema is ``app/schema/config.schema.json``)
names everything by slug, name or title, never by id, so it moves between servers. Items
are matched by those keys, so importing the same document twice changes nothing.

An import runs every item through its own service's validation and writes it into the
session, section by section (channels before the monitors that name them, monitors before
the maintenance windows that cover them), comparing each item's exported form before and
after to see what changed. A dry run, or any invalid item, rolls it all back; otherwise one
commit applies it. Secrets (target passwords, secret request headers, channel secrets) are
exported only when asked for; an import without them keeps the stored ones.
"""

from app.services.config.document import (
    FORMAT_VERSION,
    FORMATS,
    KEYS,
    SECTIONS,
    SIZE_MAX,
    SOURCES,
    dump,
    export_document,
    load,
    schema,
)
from app.services.config.importing import apply, import_file, plan, read_file

__all__ = [
    "FORMAT_VERSION",
    "FORMATS",
    "KEYS",
    "SECTIONS",
    "SIZE_MAX",
    "SOURCES",
    "apply",
    "dump",
    "export_document",
    "import_file",
    "load",
    "plan",
    "read_file",
    "schema",
]
