"""Durations for people: each formatter's unit boundaries, once, for every page and alert."""

import pytest

from app import durations


@pytest.mark.parametrize(
    "ms, words",
    [
        (0, "0 ms"),
        (340, "340 ms"),
        (1000, "1.0 s"),
        (12_345, "12.3 s"),
        (59_949, "59.9 s"),
        (59_960, "1 min 0 s"),
        (252_000, "4 min 12 s"),
        (7_200_000, "2 h 0 min"),
        (7_503_000, "2 h 5 min"),
        (97_200_000, "1 d 3 h"),
    ],
)
def test_durations_read_in_the_unit_their_length_calls_for(ms, words):
    assert durations.in_words(ms) == words


@pytest.mark.parametrize(
    "seconds, words",
    [
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "1 minute"),
        (90, "90 seconds"),
        (300, "5 minutes"),
        (3600, "1 hour"),
        (5400, "90 minutes"),
        (86400, "1 day"),
        (90000, "25 hours"),
        (604800, "1 week"),
        (1209600, "2 weeks"),
        (691200, "8 days"),
    ],
)
def test_exact_spans_are_never_rounded(seconds, words):
    assert durations.exact(seconds) == words


@pytest.mark.parametrize(
    "seconds, units, expected",
    [
        (5400, durations.UNITS, (90, "minutes")),
        (7200, durations.UNITS, (2, "hours")),
        (604800, durations.UNITS, (1, "weeks")),
        (604800, {"minutes": 60, "hours": 3600, "days": 86400}, (7, "days")),
        (90, {"minutes": 60, "hours": 3600}, (90, None)),
    ],
)
def test_largest_unit_is_the_largest_that_divides(seconds, units, expected):
    assert durations.largest_unit(seconds, units) == expected


@pytest.mark.parametrize(
    "seconds, words",
    [
        (-5, "under a minute"),
        (0, "under a minute"),
        (59, "under a minute"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h 0 min"),
        (7500, "2 h 5 min"),
        (86399, "23 h 59 min"),
        (86400, "1 d 0 h"),
        (266400, "3 d 2 h"),
    ],
)
def test_to_the_minute_cuts_seconds_off(seconds, words):
    assert durations.to_the_minute(seconds) == words


@pytest.mark.parametrize(
    "seconds, words",
    [
        (0, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (89, "1 min"),
        (90, "2 min"),
        (1800, "30 min"),
        (3600, "1 h"),
        (5400, "1 h 30 min"),
        (86400, "24 h"),
    ],
)
def test_downtime_rounds_to_the_minute(seconds, words):
    assert durations.downtime(seconds) == words
