"""Durations in words: each unit boundary, as the dashboard and the alerts show them."""

import pytest

from app.durations import in_words


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
    assert in_words(ms) == words
