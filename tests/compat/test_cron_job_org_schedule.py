"""cron-job.org schedule lists ↔ cron expressions: its names, [-1] and input rules over the
value-list conversions of app/engine/schedule.py (tested in tests/unit/test_schedule.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.engine import schedule
from app.web.compat import cron_job_org_schedule as cjo

EVERY = [-1]


def lists(**given):
    return {name: given.get(name, EVERY) for name in cjo.RANGES}


def test_normalise_collapses_every_clamps_and_deduplicates():
    assert cjo.normalise("hours", [3, -1, 5]) == [-1]
    assert cjo.normalise("minutes", [70, 5, 5, -3]) == [0, 5, 59]
    assert cjo.normalise("mdays", [0, "15", 15.0]) == [1, 15]
    assert cjo.normalise("wdays", [9]) == [6]
    assert cjo.normalise("months", []) == []


@pytest.mark.parametrize("value", ["5", [None], [[1]], ["x"], {"a": 1}])
def test_normalise_refuses_what_is_not_a_list_of_numbers(value):
    with pytest.raises(ValueError):
        cjo.normalise("hours", value)


@pytest.mark.parametrize(
    ("arrays", "expr"),
    [
        # [-1] and a list of every value both mean every value; the rest is the value lists'
        # conversion, tested in tests/unit/test_schedule.py.
        (lists(), "* * * * *"),
        (lists(minutes=list(range(60))), "* * * * *"),
        (lists(minutes=[0], hours=[9], wdays=[1, 2, 3, 4, 5]), "0 9 * * 1-5"),
        (lists(minutes=[0], hours=[8], mdays=[1], wdays=[1]), "0 8 */31 * 1"),
    ],
)
def test_lists_become_cron_and_back(arrays, expr):
    assert cjo.to_cron(arrays) == expr
    assert schedule.validate_cron(expr) == expr
    back = cjo.from_cron(expr)
    assert back.exact
    full = {
        name: EVERY if values == list(range(lo, hi + 1)) else values
        for (name, values), (lo, hi) in zip(arrays.items(), cjo.RANGES.values(), strict=True)
    }
    assert back.lists == full


def test_day_lists_without_day_one_or_sunday_are_refused_as_a_value_error():
    # The rule is schedule.cron_from_values's; the facade turns a ValueError into a 400.
    with pytest.raises(ValueError, match="days of the month include 1"):
        cjo.to_cron(lists(minutes=[0], hours=[0], mdays=[13], wdays=[5]))


def test_an_empty_list_never_runs_and_is_refused():
    with pytest.raises(ValueError, match="schedule.hours is empty"):
        cjo.to_cron(lists(hours=[]))


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("@daily", lists(minutes=[0], hours=[0])),
        (
            "*/20 9-17 * JAN,FEB MON-FRI",
            lists(
                minutes=[0, 20, 40], hours=list(range(9, 18)), months=[1, 2], wdays=[1, 2, 3, 4, 5]
            ),
        ),
        ("0 0 * * 7", lists(minutes=[0], hours=[0], wdays=[0])),
        # Vixie's "either day" with one field allowing every day is every day.
        ("0 0 1-31 * 1", lists(minutes=[0], hours=[0])),
    ],
)
def test_native_expressions_read_as_lists(expr, expected):
    arrays = cjo.from_cron(expr)
    assert arrays.lists == expected
    assert arrays.exact


def test_expires_at_is_a_wall_time_in_the_job_zone():
    moment = cjo.expires_to_utc(20301231235959, "Europe/Berlin")
    assert moment == datetime(2030, 12, 31, 22, 59, 59, tzinfo=UTC)
    assert cjo.expires_from_utc(moment, "Europe/Berlin") == 20301231235959
    assert cjo.expires_to_utc("20300101000000", "UTC") == datetime(2030, 1, 1, tzinfo=UTC)
    assert cjo.expires_to_utc(0, "UTC") is None
    assert cjo.expires_from_utc(None, "UTC") == 0


@pytest.mark.parametrize("value", [2030, 20301340000000, "soon", 203012312359590])
def test_expires_at_refuses_what_is_no_date(value):
    with pytest.raises(ValueError):
        cjo.expires_to_utc(value, "UTC")
