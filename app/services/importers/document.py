"""The configuration document an importer builds, item by item: unique slugs and names, tags
gathered from the items that carry them, and every item left out or changed on the way
written down (``skipped``, ``warnings``), so that a plan can say what did not carry over.

Only what no later validation can know is judged here: whether another tool's values fit
Upcron's ranges (then clamped, with a warning), and whether an item can be stored at all
(NUL characters and lone surrogates cannot). Everything else is the import's validation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from app.services import fields, tags

FORMAT_VERSION = 1
SLUG_FALLBACK = "monitor"
_COLOUR_RE = re.compile(r"#[0-9a-fA-F]{6}")
UNSTORABLE = "Its settings contain NUL characters or broken Unicode, which Upcron cannot store."
DUPLICATE_CODE = "Another heartbeat in the file has the same ping code."


@dataclass
class Conversion:
    """The configuration document; each item left out as {"name", "kind", "reason"}; each
    item carried over differently from the source (a value clamped, a setting Upcron does
    not have) as {"name", "kind", "message"}."""

    document: dict[str, Any]
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)


class DocumentBuilder:
    """Collects a document's lists in the order of the configuration format."""

    def __init__(self) -> None:
        self.groups: list[dict[str, Any]] = []
        self.channels: list[dict[str, Any]] = []
        self.monitors: list[dict[str, Any]] = []
        self.heartbeats: list[dict[str, Any]] = []
        self.skipped: list[dict[str, str]] = []
        self.warnings: list[dict[str, str]] = []
        self._tags: dict[str, dict[str, str]] = {}  # by lower-case name, first spelling kept
        self._used_tags: set[str] = set()  # those an item added carries
        self._slugs: set[str] = set()
        self._codes: set[str] = set()
        self._names: dict[str, set[str]] = {"group": set(), "channel": set()}

    def skip(self, name: str, kind: str, reason: str) -> None:
        self.skipped.append({"name": name, "kind": kind, "reason": reason})

    def warn(self, name: str, kind: str, message: str) -> None:
        self.warnings.append({"name": name, "kind": kind, "message": message})

    def clamp(self, value: int, low: int, high: int, name: str, kind: str, what: str) -> int:
        """``value`` moved into [low, high], with a warning saying so when it had to move."""
        clamped = min(max(value, low), high)
        if clamped != value:
            self.warn(
                name, kind, f"{what} {value:,} is outside {low:,}–{high:,}; using {clamped:,}."
            )
        return clamped

    def slug(self, name: str) -> str:
        """A slug for ``name`` no other monitor or heartbeat of the document has (they share
        one table, so one set of slugs): -2, -3… appended as the server would."""
        base = fields.slugify(name, SLUG_FALLBACK)
        slug, n = base, 1
        while slug in self._slugs:
            n += 1
            suffix = f"-{n}"
            slug = base[: fields.SLUG_MAX - len(suffix)].rstrip("-") + suffix
        self._slugs.add(slug)
        return slug

    def unique_name(self, kind: str, name: str) -> str:
        """``name``, or ``name (2)``… when another group or channel of the document has it in
        any case: the document refers to them by name, so names must tell them apart."""
        taken = self._names[kind]
        candidate, n = name, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{name} ({n})"
        taken.add(candidate.lower())
        return candidate

    def tag(self, name: str, colour: str | None, item: str, kind: str) -> str | None:
        """The tag called ``name``, or None with a warning when Upcron cannot have such a
        name. The document lists it once an item that carries it is added."""
        try:
            clean = tags.parse_name(name)
        except ValueError as exc:
            self.warn(item, kind, f"Tag {name[:60]!r} left out: {exc}")
            return None
        entry = self._tags.setdefault(clean.lower(), {"name": clean})
        if colour and _COLOUR_RE.fullmatch(colour.strip()) and "colour" not in entry:
            entry["colour"] = colour.strip().lower()
        return entry["name"]

    def item_tags(self, names: list[str], item: str, kind: str) -> list[str]:
        """An item's tags (as ``tag`` spells them) without repeats, at most as many as Upcron
        allows on one item."""
        unique = list(dict.fromkeys(names))
        if len(unique) > tags.PER_ITEM_MAX:
            left_out = ", ".join(unique[tags.PER_ITEM_MAX :])
            self.warn(
                item, kind, f"Only {tags.PER_ITEM_MAX} tags fit on one item; left out: {left_out}."
            )
        return unique[: tags.PER_ITEM_MAX]

    def add(
        self, collection: list[dict[str, Any]], item: dict[str, Any], kind: str, slug_of: str = ""
    ) -> bool:
        """Add ``item`` to ``collection`` unless it cannot be stored (then it is skipped); with
        ``slug_of``, a monitor or heartbeat, it first gets the slug of that text, so that
        only items added take slugs."""
        if not storable(item):
            self.skip(str(item.get("name", ""))[:200], kind, UNSTORABLE)
            return False
        if "code" in item:
            if item["code"] in self._codes:
                self.skip(item["name"], kind, DUPLICATE_CODE)
                return False
            self._codes.add(item["code"])
        if slug_of:
            item = {"slug": self.slug(slug_of), **item}
        collection.append(item)
        self._used_tags.update(name.lower() for name in item.get("tags", []))
        return True

    def conversion(self) -> Conversion:
        document: dict[str, Any] = {"upcron": FORMAT_VERSION}
        for key, items in (
            ("groups", self.groups),
            ("tags", [tag for key, tag in self._tags.items() if key in self._used_tags]),
            ("channels", self.channels),
            ("monitors", self.monitors),
            ("heartbeats", self.heartbeats),
        ):
            if items:
                document[key] = items
        return Conversion(document, self.skipped, self.warnings)


def storable(value: Any) -> bool:
    """Whether every text in ``value`` can be stored: PostgreSQL text holds no NUL, and UTF-8
    has no lone surrogates (which JSON's \\ud800 escapes can make)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except RecursionError:
        return False
    if "\\u0000" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def name_of(value: Any, fallback: str, limit: int) -> str:
    """An item's name: the text trimmed (and cut to ``limit``), or ``fallback`` when blank."""
    text = value.strip() if isinstance(value, str) else ""
    return (text or fallback)[:limit].strip() or fallback
