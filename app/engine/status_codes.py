"""Expected HTTP status codes, written by people as "200-299,301" and checked on every probe.

The spec is parsed when a monitor is saved, to give the person a message they can act on, and
again on every probe, so parsing is strict and cached and matching is a plain range test.
"""

from __future__ import annotations

import functools
import re

_LOWEST, _HIGHEST = 100, 599
_CODE = re.compile(r"[0-9]{3}")


@functools.lru_cache(maxsize=1024)
def parse_status_ranges(spec: str) -> tuple[tuple[int, int], ...]:
    """Parse "200-299,301" into ((200, 299), (301, 301)), keeping the order written."""
    if not spec.strip():
        raise ValueError("Enter at least one status code or range, such as 200-299")
    ranges = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            raise ValueError(f"'{spec.strip()}' has an empty item between commas")
        start_text, dash, end_text = (part.strip() for part in item.partition("-"))
        start = _code(start_text, item)
        end = _code(end_text, item) if dash else start
        if start > end:
            raise ValueError(f"Range '{start}-{end}' is backwards; write it as {end}-{start}")
        ranges.append((start, end))
    return tuple(ranges)


def status_matches(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(start <= code <= end for start, end in ranges)


def _code(text: str, item: str) -> int:
    if not text:
        raise ValueError(f"'{item}' is not a status code or range, such as 200 or 200-299")
    if not _CODE.fullmatch(text) or not _LOWEST <= int(text) <= _HIGHEST:
        raise ValueError(f"'{text}' is not an HTTP status code ({_LOWEST}-{_HIGHEST})")
    return int(text)
