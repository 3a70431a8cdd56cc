"""Durations in words, one way for the dashboard and the alerts: as precise as their length
calls for, "340 ms", "12.3 s", "4 min 12 s", "2 h 5 min", "1 d 3 h"."""

from __future__ import annotations


def in_words(ms: int) -> str:
    """``ms`` milliseconds for people (a nightly backup's run is not "7503.0 s")."""
    if ms < 1000:
        return f"{ms} ms"
    tenths = round(ms / 100)
    if tenths < 600:
        return f"{tenths / 10:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s"
