"""Phases: each repeating check keeps its own second within its interval (``schedule``)."""

from __future__ import annotations

from collections import Counter

import pytest

from app.engine import schedule

MINUTE_MS = 60_000
T0 = 1_796_583_383_015  # an epoch ms that is not on any round boundary


def busiest_second(instants_ms) -> int:
    return max(Counter(ms // 1000 for ms in instants_ms).values())


def test_a_phase_is_stable_within_its_interval_and_pinned_across_versions():
    for period in (10_000, MINUTE_MS, 3_600_000, 86_400_000):
        phases = [schedule.phase(key, period) for key in range(1, 2001)]
        assert all(0 <= p < period for p in phases)
        assert phases == [schedule.phase(key, period) for key in range(1, 2001)]
    # A changed rule would move every check of an upgraded instance: pin one value.
    assert schedule.phase(1, MINUTE_MS) == 37_082


def test_a_new_interval_gives_a_new_phase_the_old_one_comes_back_with_it():
    assert schedule.phase(42, MINUTE_MS) != schedule.phase(42, 300_000)
    assert schedule.phase(42, MINUTE_MS) == schedule.phase(42, MINUTE_MS)


@pytest.mark.parametrize(("count", "step"), [(600, 1), (1000, 1), (2000, 1), (600, 2), (600, 3)])
def test_items_created_together_spread_evenly_over_the_interval(count, step):
    # Consecutive ids (or every second or third, other rows interleaved): the busiest second
    # of a 60-second interval holds at most twice the mean.
    ids = range(1000, 1000 + count * step, step)
    slots = [schedule.phased_slot(T0, MINUTE_MS, schedule.phase(i, MINUTE_MS)) for i in ids]
    assert busiest_second(slots) <= 2 * count / 60


def test_a_phased_slot_is_the_first_instant_on_the_phase_at_or_after():
    phase = schedule.phase(7, MINUTE_MS)
    slot = schedule.phased_slot(T0, MINUTE_MS, phase)
    assert T0 <= slot < T0 + MINUTE_MS and slot % MINUTE_MS == phase
    assert schedule.phased_slot(slot, MINUTE_MS, phase) == slot
    assert schedule.phased_slot(slot + 1, MINUTE_MS, phase) == slot + MINUTE_MS


def test_the_next_slot_keeps_the_phase_and_an_off_phase_check_returns_to_it():
    phase = schedule.phase(7, MINUTE_MS)
    on = schedule.phased_slot(T0, MINUTE_MS, phase)
    # On its phase, three seconds late: one interval on, nothing skipped.
    assert schedule.next_phased(on, 60, phase, on + 3000) == (on + MINUTE_MS, 0)
    # Off its phase (new and checked at once, a catch-up, a check moved to a window's end):
    # back on it at the next slot, so no gap is ever longer than the interval.
    for offset in (1, 20_000, 30_000, 59_999):
        after, skipped = schedule.next_phased(on + offset, 60, phase, on + offset)
        assert (after, skipped) == (on + MINUTE_MS, 0)


def test_behind_schedule_the_next_slot_is_the_first_after_now_and_the_gap_is_counted():
    phase = schedule.phase(7, MINUTE_MS)
    on = schedule.phased_slot(T0, MINUTE_MS, phase)
    now = on + 10 * MINUTE_MS + 5000
    assert schedule.next_phased(on, 60, phase, now) == (on + 11 * MINUTE_MS, 10)


def test_a_catch_up_comes_within_a_minute_or_the_interval_and_spreads_many():
    for interval in (10, 60, 3600, 86_400):
        window = min(interval, 60) * 1000
        slots = [schedule.catch_up_slot(i, interval, T0) for i in range(1, 1001)]
        assert all(T0 <= s < T0 + window for s in slots)
        assert busiest_second(slots) <= 2 * 1000 / (window / 1000)
    # Stable: the same item, at the same moment, catches up at the same instant.
    assert schedule.catch_up_slot(5, 3600, T0) == schedule.catch_up_slot(5, 3600, T0)


def test_a_slot_due_right_now_is_already_late_and_the_count_is_a_whole_number():
    phase = schedule.phase(7, MINUTE_MS)
    on = schedule.phased_slot(T0, MINUTE_MS, phase)
    # Planned at `on`, its next slot is `on` + 1 min; at that very instant it is skipped for
    # the one after, one slot late.
    assert schedule.next_phased(on, 60, phase, on + MINUTE_MS) == (on + 2 * MINUTE_MS, 1)
    # A millisecond before a slot, that slot is the next one.
    next_slot, skipped = schedule.next_phased(on, 60, phase, on + 2 * MINUTE_MS - 1)
    assert (next_slot, skipped) == (on + 2 * MINUTE_MS, 1)
    assert type(skipped) is int  # a count, stored and shown as such ("1", not "1.0")
