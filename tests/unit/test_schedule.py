import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from croniter import croniter

from app.engine.schedule import (
    ScheduleError,
    as_cron,
    cron_fields,
    cron_from_values,
    describe,
    every,
    expand,
    field_values,
    interval_cron,
    next_interval,
    next_run,
    next_runs,
    slots_between,
    step_interval,
    validate_cron,
    validate_timezone,
    values_of_cron,
)

EXTENSION = " uses a cron extension (L, W, # or ?) that is not supported"
RANGE = " is not a range; write it as start-end, such as 1-5"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# --- validate_cron -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, normal",
    [
        ("*/5 * * * *", "*/5 * * * *"),
        ("  0   2 *\t* *  ", "0 2 * * *"),
        ("0-30/10 9-17 1,15 * *", "0-30/10 9-17 1,15 * *"),
        ("30 9 * * mon-FRI", "30 9 * * mon-FRI"),
        ("0 12 * JAN,jul SUN", "0 12 * JAN,jul SUN"),
        ("0 0 * * 7", "0 0 * * 7"),
        ("0 0 * * 0-7", "0 0 * * 0-7"),
        ("0 0 * * FRI-SUN", "0 0 * * FRI-SUN"),
        ("0 0 29 2 *", "0 0 29 2 *"),
        ("0 0 31 2 MON", "0 0 31 2 MON"),
        ("*/90 * * * *", "*/90 * * * *"),
        ("@hourly", "@hourly"),
        (" @Daily ", "@daily"),
        ("@MIDNIGHT", "@midnight"),
        ("@weekly", "@weekly"),
        ("@monthly", "@monthly"),
        ("@yearly", "@yearly"),
        ("@annually", "@annually"),
    ],
)
def test_validate_cron_accepts_standard_cron_and_normalises(expr, normal):
    assert validate_cron(expr) == normal


@pytest.mark.parametrize(
    "expr, field, message",
    [
        ("", None, "Enter a cron expression, such as */5 * * * *"),
        ("   ", None, "Enter a cron expression, such as */5 * * * *"),
        (
            "0 0 * * * *",
            None,
            "Expected 5 fields (minute hour day-of-month month day-of-week), got 6; "
            "seconds and years are not supported",
        ),
        ("0 0 * *", None, "Expected 5 fields (minute hour day-of-month month day-of-week), got 4"),
        (
            "@reboot",
            None,
            "'@reboot' is not supported; use @hourly, @daily, @midnight, @weekly, @monthly, "
            "@yearly or @annually",
        ),
        ("61 * * * *", "minute", "minute field: 61 is out of range 0-59"),
        ("0 x * * *", "hour", "hour field: 'x' is not a number"),
        ("0 24 * * *", "hour", "hour field: 24 is out of range 0-23"),
        ("0 0 0 * *", "day_of_month", "day-of-month field: 0 is out of range 1-31"),
        ("0 0 32 * *", "day_of_month", "day-of-month field: 32 is out of range 1-31"),
        ("0 0 * 13 *", "month", "month field: 13 is out of range 1-12"),
        (
            "0 0 * FOO *",
            "month",
            "month field: 'FOO' is not a month number (1-12) or name (JAN-DEC)",
        ),
        ("0 0 * * 8", "day_of_week", "day-of-week field: 8 is out of range 0-7"),
        (
            "0 0 * * FUNDAY",
            "day_of_week",
            "day-of-week field: 'FUNDAY' is not a day-of-week number (0-7) or name (SUN-SAT)",
        ),
        ("MON * * * *", "minute", "minute field: 'MON' is not a number"),
        ("1,,2 * * * *", "minute", "minute field: '1,,2' has an empty list item"),
        ("*/0 * * * *", "minute", "minute field: step in '*/0' must be at least 1"),
        ("*/x * * * *", "minute", "minute field: step 'x' in '*/x' is not a number"),
        ("*/ * * * *", "minute", "minute field: '*/' is missing a step after the slash"),
        (
            "5/10 * * * *",
            "minute",
            "minute field: '5/10' needs a range before the step, such as 5-59/10",
        ),
        (
            "0 22-2 * * *",
            "hour",
            "hour field: range 22-2 is backwards; ranges cannot wrap around, so write 22-23,0-2",
        ),
        ("-5 * * * *", "minute", "minute field: '-5'" + RANGE),
        ("1-2-3 * * * *", "minute", "minute field: '1-2-3'" + RANGE),
        ("9" * 5000 + " * * * *", "minute", f"minute field: {'9' * 5000} is out of range 0-59"),
        ("0 0 L * *", "day_of_month", "day-of-month field: 'L'" + EXTENSION),
        ("0 0 15W * *", "day_of_month", "day-of-month field: '15W'" + EXTENSION),
        ("0 0 ? * MON", "day_of_month", "day-of-month field: '?'" + EXTENSION),
        ("0 0 * * 5L", "day_of_week", "day-of-week field: '5L'" + EXTENSION),
        ("0 0 * * MON#2", "day_of_week", "day-of-week field: 'MON#2'" + EXTENSION),
    ],
)
def test_validate_cron_names_the_bad_part(expr, field, message):
    with pytest.raises(ScheduleError) as info:
        validate_cron(expr)
    assert str(info.value) == message
    assert info.value.field == field


@pytest.mark.parametrize(
    "expr, message",
    [
        ("0 0 31 2 *", "This schedule never runs: day 31 does not occur in February"),
        ("0 0 30 2 *", "This schedule never runs: day 30 does not occur in February"),
        ("0 0 30,31 2 *", "This schedule never runs: days 30 and 31 do not occur in February"),
        (
            "0 0 31 4,6,9,11 *",
            "This schedule never runs: day 31 does not occur in April, June, September or November",
        ),
        # "*/2" in the weekday field makes the day rule AND, so February 30 is still required.
        ("0 0 30 2 */2", "This schedule never runs: day 30 does not occur in February"),
    ],
)
def test_validate_cron_rejects_expressions_that_never_fire(expr, message):
    with pytest.raises(ScheduleError) as info:
        validate_cron(expr)
    assert str(info.value) == message
    assert info.value.field == "day_of_month"


def test_schedule_error_is_a_value_error():
    assert issubclass(ScheduleError, ValueError)


def test_sunday_is_both_0_and_7():
    start = utc(2026, 1, 1)
    sundays = next_runs("0 0 * * 0", "UTC", start, 3)
    assert next_runs("0 0 * * 7", "UTC", start, 3) == sundays
    assert next_runs("0 0 * * sun", "UTC", start, 3) == sundays
    assert [t.weekday() for t in sundays] == [6, 6, 6]


def test_weekday_range_ending_on_sunday_includes_the_weekend():
    runs = next_runs("0 0 * * FRI-SUN", "UTC", utc(2026, 1, 1), 4)
    assert [t.strftime("%a %d") for t in runs] == ["Fri 02", "Sat 03", "Sun 04", "Fri 09"]


def test_macros_mean_their_five_field_expressions():
    start = utc(2026, 5, 17, 13, 7)
    assert next_run("@hourly", "UTC", start) == utc(2026, 5, 17, 14)
    assert next_run("@daily", "UTC", start) == utc(2026, 5, 18)
    assert next_run("@midnight", "UTC", start) == utc(2026, 5, 18)
    assert next_run("@weekly", "UTC", start) == utc(2026, 5, 24)  # a Sunday
    assert next_run("@monthly", "UTC", start) == utc(2026, 6, 1)
    assert next_run("@yearly", "UTC", start) == utc(2027, 1, 1)
    assert next_run("@annually", "UTC", start) == utc(2027, 1, 1)


# --- validate_timezone ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, canonical",
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        (" America/New_York ", "America/New_York"),
        ("utc", "UTC"),
        ("Asia/Kolkata", "Asia/Kolkata"),
    ],
)
def test_validate_timezone_returns_the_database_spelling(name, canonical):
    assert validate_timezone(name) == canonical


@pytest.mark.parametrize("name", ["Mars/Base", "localtime", "Factory", "/etc/localtime", "../UTC"])
def test_validate_timezone_rejects_unknown_names(name):
    with pytest.raises(ScheduleError) as info:
        validate_timezone(name)
    assert str(info.value) == f"Unknown time zone '{name}'; use an IANA name such as Europe/Berlin"
    assert info.value.field is None


def test_validate_timezone_asks_for_a_zone_when_empty():
    with pytest.raises(ScheduleError, match="Enter a time zone, such as Europe/Berlin"):
        validate_timezone(" ")


def test_next_run_rejects_an_unknown_zone():
    with pytest.raises(ScheduleError, match="Unknown time zone 'Mars/Base'"):
        next_run("* * * * *", "Mars/Base", utc(2026, 1, 1))


# --- next_run / next_runs ------------------------------------------------------------------


def test_next_run_is_strictly_after_and_in_utc():
    run = next_run("*/5 * * * *", "UTC", utc(2026, 1, 1, 12, 5))
    assert run == utc(2026, 1, 1, 12, 10)
    assert run.tzinfo is UTC
    assert next_run("*/5 * * * *", "UTC", utc(2026, 1, 1, 12, 4, 59, 999999)) == utc(
        2026, 1, 1, 12, 5
    )


def test_next_run_accepts_any_aware_datetime():
    after = datetime(2026, 1, 1, 14, 5, tzinfo=timezone(timedelta(hours=2)))
    assert next_run("0 * * * *", "UTC", after) == utc(2026, 1, 1, 13)


def test_next_run_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="aware"):
        next_run("* * * * *", "UTC", datetime(2026, 1, 1))


def test_next_run_raises_schedule_error_for_a_bad_expression():
    with pytest.raises(ScheduleError):
        next_run("0 0 31 2 *", "UTC", utc(2026, 1, 1))


def test_next_runs_in_utc_crosses_month_and_year_ends():
    runs = next_runs("0 12 28-31 * *", "UTC", utc(2026, 11, 30), 5)
    assert runs == [
        utc(2026, 11, 30, 12),
        utc(2026, 12, 28, 12),
        utc(2026, 12, 29, 12),
        utc(2026, 12, 30, 12),
        utc(2026, 12, 31, 12),
    ]


def test_next_runs_in_other_zones_use_local_wall_time():
    assert next_runs("30 9 * * 1-5", "Asia/Kolkata", utc(2026, 1, 2), 2) == [
        utc(2026, 1, 2, 4),  # Friday 09:30 IST (+05:30)
        utc(2026, 1, 5, 4),  # Monday
    ]
    assert next_runs("0 0 * * *", "America/New_York", utc(2026, 7, 1), 2) == [
        utc(2026, 7, 1, 4),  # midnight EDT (-04:00)
        utc(2026, 7, 2, 4),
    ]


def test_leap_day_job_waits_for_a_leap_year():
    assert next_run("0 0 29 2 *", "UTC", utc(2026, 1, 1)) == utc(2028, 2, 29)


def test_day_fields_are_ored_when_both_are_restricted():
    runs = next_runs("0 0 13 * FRI", "UTC", utc(2026, 2, 1), 4)
    assert runs == [utc(2026, 2, 6), utc(2026, 2, 13), utc(2026, 2, 20), utc(2026, 2, 27)]


def test_day_fields_are_anded_when_one_starts_with_a_star():
    # Vixie cron: "*/2" is star-prefixed, so the day must be odd AND a Monday.
    runs = next_runs("0 0 */2 * MON", "UTC", utc(2026, 1, 1), 3)
    assert runs == [utc(2026, 1, 5), utc(2026, 1, 19), utc(2026, 2, 9)]


@pytest.mark.parametrize(
    "expr",
    [
        "*/5 * * * *",
        "0 2 * * *",
        "15,45 */3 * * *",
        "30 9 * * 1-5",
        "0 0 1 * *",
        "0 12 * 1,7 0",
        "0 0 1,15 * MON",
        "5-20/5 8-18 * * *",
        "0 0 29 2 *",
        "0 0 * * 7",
    ],
)
def test_next_runs_agree_with_croniter_in_utc(expr):
    start = datetime(2026, 1, 30, 23, 59)
    reference = croniter(expr, start)
    expected = [reference.get_next(datetime).replace(tzinfo=UTC) for _ in range(40)]
    assert next_runs(expr, "UTC", start.replace(tzinfo=UTC), 40) == expected


# --- DST: Europe/Berlin (2026-03-29 02:00 CET -> 03:00 CEST, 2026-10-25 03:00 -> 02:00) -----


def test_berlin_skipped_wall_time_runs_once_at_the_end_of_the_gap():
    assert next_runs("30 2 * * *", "Europe/Berlin", utc(2026, 3, 27, 12), 3) == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 0),  # 02:30 does not exist: 03:00 CEST
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]


def test_berlin_job_at_the_exact_gap_start_runs_when_the_gap_ends():
    assert next_run("0 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1)


def test_berlin_skipped_slots_landing_on_another_slot_run_once():
    # 02:00 and 02:30 are skipped and map to 03:00 CEST, which is itself a slot.
    assert next_runs("*/30 * * * *", "Europe/Berlin", utc(2026, 3, 29, 0), 4) == [
        utc(2026, 3, 29, 0, 30),  # 01:30 CET
        utc(2026, 3, 29, 1, 0),  # 03:00 CEST, once
        utc(2026, 3, 29, 1, 30),  # 03:30 CEST
        utc(2026, 3, 29, 2, 0),
    ]


def test_berlin_hourly_job_across_spring_change_stays_hourly_in_utc():
    runs = next_runs("0 * * * *", "Europe/Berlin", utc(2026, 3, 28, 23, 30), 4)
    assert runs == [
        utc(2026, 3, 29, 0),
        utc(2026, 3, 29, 1),
        utc(2026, 3, 29, 2),
        utc(2026, 3, 29, 3),
    ]


def test_berlin_repeated_wall_time_runs_once_at_its_first_occurrence():
    assert next_runs("30 2 * * *", "Europe/Berlin", utc(2026, 10, 23, 12), 3) == [
        utc(2026, 10, 24, 0, 30),  # 02:30 CEST
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST, first of two; not again at 01:30 UTC
        utc(2026, 10, 26, 1, 30),  # 02:30 CET
    ]


def test_berlin_quarter_hourly_job_runs_the_repeated_hour_once():
    assert next_runs("*/15 * * * *", "Europe/Berlin", utc(2026, 10, 24, 23, 50), 6) == [
        utc(2026, 10, 25, 0, 0),  # 02:00 CEST
        utc(2026, 10, 25, 0, 15),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 0, 45),  # 02:45 CEST; the second pass of 02:00-02:45 CET is skipped
        utc(2026, 10, 25, 2, 0),  # 03:00 CET
        utc(2026, 10, 25, 2, 15),
    ]


def test_berlin_next_run_from_inside_the_second_pass_waits_for_new_wall_time():
    # 01:20 UTC is 02:20 CET, the second pass; 02:30 already ran at its first occurrence.
    assert next_run("*/15 * * * *", "Europe/Berlin", utc(2026, 10, 25, 1, 20)) == utc(
        2026, 10, 25, 2
    )


def test_berlin_hourly_job_across_autumn_change_skips_the_repeated_hour():
    runs = next_runs("0 * * * *", "Europe/Berlin", utc(2026, 10, 24, 22, 30), 4)
    assert runs == [
        utc(2026, 10, 24, 23),  # 01:00 CEST
        utc(2026, 10, 25, 0),  # 02:00 CEST
        utc(2026, 10, 25, 2),  # 03:00 CET; 02:00 CET (01:00 UTC) is a repeat
        utc(2026, 10, 25, 3),
    ]


# --- DST: America/New_York (2026-03-08 02:00 EST -> 03:00 EDT, 2026-11-01 02:00 -> 01:00) ---


def test_new_york_skipped_wall_time_runs_once_at_the_end_of_the_gap():
    assert next_runs("30 2 * * *", "America/New_York", utc(2026, 3, 7), 3) == [
        utc(2026, 3, 7, 7, 30),  # 02:30 EST
        utc(2026, 3, 8, 7, 0),  # 03:00 EDT
        utc(2026, 3, 9, 6, 30),  # 02:30 EDT
    ]


def test_new_york_job_at_the_exact_gap_start_runs_when_the_gap_ends():
    assert next_run("0 2 * * *", "America/New_York", utc(2026, 3, 7, 12)) == utc(2026, 3, 8, 7)


@pytest.mark.parametrize("minute", range(60))
def test_every_minute_of_the_gap_runs_at_its_end_to_the_second(minute):
    """The end of the gap is found by bisection to the second: every wall time in it maps
    to 07:00:00 UTC exactly, never a second late (as a bisection that stops early would)."""
    moment = next_run(f"{minute} 2 * * *", "America/New_York", utc(2026, 3, 7, 12))
    assert moment == utc(2026, 3, 8, 7)


def test_new_york_hourly_job_across_spring_change():
    runs = next_runs("0 * * * *", "America/New_York", utc(2026, 3, 8, 5, 30), 4)
    assert runs == [
        utc(2026, 3, 8, 6),  # 01:00 EST
        utc(2026, 3, 8, 7),  # 02:00 skipped: 03:00 EDT, once
        utc(2026, 3, 8, 8),  # 04:00 EDT
        utc(2026, 3, 8, 9),
    ]


def test_new_york_repeated_wall_time_runs_once_at_its_first_occurrence():
    assert next_runs("30 1 * * *", "America/New_York", utc(2026, 10, 31), 3) == [
        utc(2026, 10, 31, 5, 30),  # 01:30 EDT
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT, first of two
        utc(2026, 11, 2, 6, 30),  # 01:30 EST
    ]


def test_new_york_hourly_job_across_autumn_change():
    runs = next_runs("0 * * * *", "America/New_York", utc(2026, 11, 1, 3, 30), 4)
    assert runs == [
        utc(2026, 11, 1, 4),  # 00:00 EDT
        utc(2026, 11, 1, 5),  # 01:00 EDT
        utc(2026, 11, 1, 7),  # 02:00 EST; 01:00 EST (06:00 UTC) is a repeat
        utc(2026, 11, 1, 8),
    ]


def test_half_hour_gap_runs_at_its_end():
    # Lord Howe Island moves from +10:30 to +11:00 at 02:00 on 2026-10-04.
    assert next_runs("15 2 * * *", "Australia/Lord_Howe", utc(2026, 10, 2), 3) == [
        utc(2026, 10, 2, 15, 45),  # 02:15 +10:30
        utc(2026, 10, 3, 15, 30),  # 02:15 does not exist: 02:30 +11:00
        utc(2026, 10, 4, 15, 15),  # 02:15 +11:00
    ]


def test_skipped_day_runs_once_when_it_ends():
    # Samoa skipped 2011-12-30 entirely, jumping from -10:00 to +14:00.
    assert next_runs("0 12 * * *", "Pacific/Apia", utc(2011, 12, 29), 3) == [
        utc(2011, 12, 29, 22),  # 12:00 on the 29th, -10:00
        utc(2011, 12, 30, 10),  # the 30th never happened: 00:00 on the 31st, +14:00
        utc(2011, 12, 30, 22),  # 12:00 on the 31st
    ]


# --- slots_between -------------------------------------------------------------------------


def test_slots_between_excludes_start_and_includes_end():
    assert slots_between("*/5 * * * *", "UTC", utc(2026, 1, 1, 12), utc(2026, 1, 1, 13)) == 12


def test_slots_between_is_zero_for_an_empty_window():
    assert slots_between("0 * * * *", "UTC", utc(2026, 1, 1, 12), utc(2026, 1, 1, 12, 59)) == 0
    assert slots_between("0 * * * *", "UTC", utc(2026, 1, 1, 12), utc(2026, 1, 1, 11)) == 0


def test_slots_between_stops_at_the_limit():
    start, end = utc(2026, 1, 1), utc(2026, 2, 1)
    assert slots_between("* * * * *", "UTC", start, end, limit=500) == 500


def test_slots_between_counts_each_wall_hour_once_on_dst_days():
    # Local midnight to local midnight: the 23-hour day has 23 hourly runs, the 25-hour day 24.
    spring = slots_between("0 * * * *", "Europe/Berlin", utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    autumn = slots_between(
        "0 * * * *", "Europe/Berlin", utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)
    )
    assert (spring, autumn) == (23, 24)


# --- next_interval -------------------------------------------------------------------------


def test_next_interval_on_time_counts_from_the_planned_time():
    planned = utc(2026, 1, 1, 12, 0, 0)
    assert next_interval(planned, 60, utc(2026, 1, 1, 12, 0, 3)) == (utc(2026, 1, 1, 12, 1), 0)


def test_next_interval_late_by_several_intervals_skips_forward():
    planned = utc(2026, 1, 1, 12, 0, 0)
    due, skipped = next_interval(planned, 60, utc(2026, 1, 1, 12, 4, 30))
    assert (due, skipped) == (utc(2026, 1, 1, 12, 5), 4)


def test_next_interval_treats_a_slot_at_now_as_missed():
    planned = utc(2026, 1, 1, 12, 0, 0)
    assert next_interval(planned, 300, utc(2026, 1, 1, 12, 5)) == (utc(2026, 1, 1, 12, 10), 1)


def test_next_interval_with_planned_time_in_the_future():
    planned = utc(2026, 1, 1, 12, 0, 0)
    assert next_interval(planned, 60, utc(2026, 1, 1, 11, 59)) == (utc(2026, 1, 1, 12, 1), 0)


def test_next_interval_refuses_a_non_positive_interval():
    with pytest.raises(ValueError, match="positive"):
        next_interval(utc(2026, 1, 1), 0, utc(2026, 1, 1))


# --- describe ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, text",
    [
        ("* * * * *", "Every minute"),
        ("*/5 * * * *", "Every 5 minutes"),
        ("0,30 * * * *", "Every 30 minutes"),
        ("0 2 * * *", "At 02:00 every day"),
        ("15 * * * *", "At minute 15 past every hour"),
        ("30 9 * * 1-5", "At 09:30 on Monday through Friday"),
        ("0 0 1 * *", "At 00:00 on day 1 of the month"),
        ("0 12 * JAN,JUL SUN", "At 12:00 on Sunday in January and July"),
        ("0 9,17 * * *", "At 09:00 and 17:00 every day"),
        ("*/7 * * * *", "At every 7th minute past every hour"),
        ("0 */2 * * *", "At minute 0 past every 2nd hour"),
        ("1-59/2 * * * *", "At every 2nd minute from 1 through 59 past every hour"),
        ("0 9-17 * * *", "At minute 0 past hours 9 through 17"),
        (
            "*/5 9-17 * * MON-FRI",
            "Every 5 minutes during hours 9 through 17 on Monday through Friday",
        ),
        ("0 0 * * 6,0", "At 00:00 on Saturday and Sunday"),
        ("0 0 * * 5-7", "At 00:00 on Friday through Sunday"),
        ("0 0 1,15 * MON", "At 00:00 on days 1 and 15 of the month or on Monday"),
        ("0 0 */2 * MON", "At 00:00 on every 2nd day of the month if it falls on Monday"),
        ("0 0 1 */3 *", "At 00:00 on day 1 of the month in January, April, July and October"),
        ("0 0 * 6-8 *", "At 00:00 every day in June through August"),
        ("0 0 1-31 * MON", "At 00:00 every day"),
        ("5,10,20 * * * *", "At minutes 5, 10 and 20 past every hour"),
        ("@hourly", "At minute 0 past every hour"),
        ("@daily", "At 00:00 every day"),
        ("@weekly", "At 00:00 on Sunday"),
        ("@yearly", "At 00:00 on day 1 of the month in January"),
        # "Every N minutes" only when the steps run through the whole hour.
        ("0-29 * * * *", "At minutes 0 through 29 past every hour"),
        ("0,30 9,17 * * *", "At 09:00, 09:30, 17:00 and 17:30 every day"),
        ("0-39/20 * * * *", "At minutes 0 and 20 past every hour"),
        ("*/30 1,5,9 * * *", "Every 30 minutes during every 4th hour from 1 through 9"),
        ("*/11 * * * *", "At every 11th minute past every hour"),
        ("*/12 0 * * *", "Every 12 minutes during hour 0"),
        ("0 0 */13 * *", "At 00:00 on every 13th day of the month"),
        ("*/21 * * * *", "At every 21st minute past every hour"),
        ("*/22 * * * *", "At every 22nd minute past every hour"),
        ("*/23 * * * *", "At every 23rd minute past every hour"),
        ("0 0 1-29/2 * *", "At 00:00 on every 2nd day from 1 through 29 of the month"),
    ],
)
def test_describe_reads_as_english(expr, text):
    assert describe(expr) == text


def test_timezone_names_lists_what_validation_accepts():
    from app.engine.schedule import timezone_names, validate_timezone

    names = timezone_names()
    assert names == sorted(names)
    assert {"UTC", "Europe/Berlin", "America/New_York"} <= set(names)
    assert "Factory" not in names
    assert all(validate_timezone(name) == name for name in names[:50])


# --- intervals as cron ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "plain", "stepped"),
    [
        (60, "* * * * *", "*/1 * * * *"),
        (120, "*/2 * * * *", "*/2 * * * *"),
        (300, "*/5 * * * *", "*/5 * * * *"),
        (1800, "*/30 * * * *", "*/30 * * * *"),
        (3600, "0 * * * *", "0 */1 * * *"),
        (7200, "0 */2 * * *", "0 */2 * * *"),
        (43200, "0 */12 * * *", "0 */12 * * *"),
        (86400, "0 0 * * *", "0 0 */1 * *"),
        (604800, "0 0 * * 0", None),  # a week has no spelling in steps alone
        # No cron expression fires exactly so: off the minute, not dividing an hour or a day.
        (0, None, None),
        (-60, None, None),
        (30, None, None),
        (90, None, None),
        (420, None, None),
        (3900, None, None),
        (5 * 3600, None, None),
        (2 * 86400, None, None),
    ],
)
def test_every_spells_an_interval_cron_fires_at_exactly(seconds, plain, stepped):
    assert every(seconds) == plain
    assert every(seconds, steps=True) == stepped
    assert interval_cron(seconds) == (plain or "* * * * *")
    if stepped:
        assert step_interval(stepped) == seconds
    for spelled in filter(None, (plain, stepped)):
        runs = next_runs(spelled, "UTC", utc(2026, 3, 2, 0, 0, 30), 3)
        assert {(b - a).total_seconds() for a, b in zip(runs, runs[1:])} == {seconds}


@pytest.mark.parametrize(
    "expr",
    ["* * * * *", "0 * * * *", "0 0 * * *", "*/7 * * * *", "*/60 * * * *", "0 */5 * * *",
     "0 */24 * * *", "0 0 */2 * *", "5 */2 * * *", "*/5 * * * 1", "*/0 * * * *", "0 */0 * * *"],
)  # fmt: skip
def test_step_interval_reads_only_the_stepped_spellings(expr):
    assert step_interval(expr) is None


# --- value lists (schedules sent as arrays) --------------------------------------------------

ALL = [list(range(low, high + 1)) for low, high in ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))]


def value_lists(minutes=None, hours=None, days=None, months=None, weekdays=None):
    given = (minutes, hours, days, months, weekdays)
    return [every if value is None else value for value, every in zip(given, ALL, strict=True)]


def _runs_by_brute_force(values, start, count):
    """The value lists' own rule, spelled out: a minute runs when all five lists allow it."""
    minutes, hours, days, months, weekdays = values
    runs, day = [], start.replace(hour=0, minute=0, second=0, microsecond=0)
    while len(runs) < count:
        if day.month in months and day.day in days and (day.weekday() + 1) % 7 in weekdays:
            for hour in hours:
                for minute in minutes:
                    moment = day.replace(hour=hour, minute=minute)
                    if moment > start:
                        runs.append(moment)
        day += timedelta(days=1)
    return runs[:count]


@pytest.mark.parametrize(
    ("values", "expr"),
    [
        (value_lists(), "* * * * *"),
        (value_lists(minutes=[0, 15, 30, 45]), "0,15,30,45 * * * *"),
        (value_lists(minutes=[0], hours=[2]), "0 2 * * *"),
        (value_lists(minutes=[0], hours=[9], weekdays=[1, 2, 3, 4, 5]), "0 9 * * 1-5"),
        (value_lists(minutes=[30], hours=[6], days=[1, 15], months=[1, 7]), "30 6 1,15 1,7 *"),
        # Both day lists restricted: one field starts with * so that cron ANDs them too.
        (value_lists(minutes=[0], hours=[8], days=[1, 2, 3, 4, 5, 6, 7], weekdays=[1]),
         "0 8 */31,2-7 * 1"),
        (value_lists(minutes=[0], hours=[8], days=[1], weekdays=[1]), "0 8 */31 * 1"),
        (value_lists(minutes=[0], hours=[8], days=[10, 20], weekdays=[0, 6]), "0 8 10,20 * */7,6"),
        (value_lists(minutes=[0], hours=[8], days=[1, 15], weekdays=[1]), "0 8 */31,15 * 1"),
        (value_lists(minutes=[0], hours=[8], days=[10, 20], weekdays=[0]), "0 8 10,20 * */7"),
        (value_lists(minutes=[0], hours=[8], days=[1], weekdays=[0]), "0 8 */31 * 0"),
    ],
)  # fmt: skip
def test_value_lists_become_cron_and_back(values, expr):
    assert cron_from_values(values) == expr
    assert validate_cron(expr) == expr
    back, exact = values_of_cron(expr)
    assert exact and [list(field) for field in back] == values


@pytest.mark.parametrize(
    "values",
    [
        value_lists(minutes=[0], hours=[8], days=[1, 2, 3, 4, 5, 6, 7], weekdays=[1]),
        value_lists(minutes=[0, 30], hours=[23], days=[10, 20], weekdays=[0, 6], months=[2, 3]),
        value_lists(minutes=[5], hours=[1, 13], days=[1, 31]),
        value_lists(minutes=[0], hours=[0], days=[29], months=[2]),
    ],
)
def test_cron_from_values_runs_exactly_when_the_lists_allow(values):
    start = utc(2024, 1, 1)
    expected = [run.replace(tzinfo=UTC) for run in _runs_by_brute_force(values, start, 12)]
    assert next_runs(cron_from_values(values), "UTC", start, 12) == expected


def test_day_lists_without_day_one_or_sunday_have_no_cron_spelling():
    with pytest.raises(ScheduleError, match="days of the month include 1"):
        cron_from_values(value_lists(minutes=[0], hours=[0], days=[13], weekdays=[5]))


@pytest.mark.parametrize(
    ("expr", "values", "exact"),
    [
        ("@daily", value_lists(minutes=[0], hours=[0]), True),
        ("0 0 * * 7", value_lists(minutes=[0], hours=[0], weekdays=[0]), True),
        # Either day field, one of them allowing every day: simply every day.
        ("0 0 1-31 * 1", value_lists(minutes=[0], hours=[0]), True),
        # The 1st, the 15th and every Monday: value lists can only AND their day fields.
        ("0 0 1,15 * 1", value_lists(minutes=[0], hours=[0], days=[1, 15], weekdays=[1]), False),
    ],
)
def test_values_of_cron(expr, values, exact):
    found, found_exact = values_of_cron(expr)
    assert ([list(field) for field in found], found_exact) == (values, exact)


def test_validate_timezone_error_says_what_to_enter():
    with pytest.raises(ScheduleError) as empty:
        validate_timezone(" ")
    assert str(empty.value) == "Enter a time zone, such as Europe/Berlin"


def test_slots_between_refuses_a_naive_end():
    with pytest.raises(ValueError, match="aware"):
        slots_between("* * * * *", "UTC", utc(2026, 1, 1), datetime(2026, 1, 2))


def test_next_interval_of_one_second():
    planned = utc(2026, 1, 1, 12)
    assert next_interval(planned, 1, planned) == (planned + timedelta(seconds=1), 0)


def test_a_day_that_ends_its_month_fires():
    assert validate_cron("0 0 30 4 *") == "0 0 30 4 *"
    assert next_run("0 0 30 4 *", "UTC", utc(2026, 1, 1)) == utc(2026, 4, 30)


def test_a_step_over_every_value_starts_at_the_lowest():
    assert next_runs("0 0 1 */5 *", "UTC", utc(2025, 12, 31), 3) == [
        utc(2026, 1, 1),
        utc(2026, 6, 1),
        utc(2026, 11, 1),
    ]
    assert next_runs("59 23 31 * *", "UTC", utc(2026, 1, 1), 1) == [utc(2026, 1, 31, 23, 59)]


@pytest.mark.parametrize(
    "expr, values",
    [
        ("*/20 9-11 1 1,6 7", ((0, 20, 40), (9, 10, 11), (1,), (1, 6), (0,))),
        ("0 0 * * FRI-SUN", ((0,), (0,), tuple(range(1, 32)), tuple(range(1, 13)), (0, 5, 6))),
        (
            "5-59/20 0 1-10/3 2-12/5 MON-WED/2",
            ((5, 25, 45), (0,), (1, 4, 7, 10), (2, 7, 12), (1, 3)),
        ),
        ("0 0 * * 6-7", ((0,), (0,), tuple(range(1, 32)), tuple(range(1, 13)), (0, 6))),
        # One-value ranges and leading zeros.
        ("0-0 5-5 * * 0-0", ((0,), (5,), tuple(range(1, 32)), tuple(range(1, 13)), (0,))),
        ("007 05 01 * *", ((7,), (5,), (1,), tuple(range(1, 13)), tuple(range(7)))),
    ],
)
def test_field_values_lists_what_each_field_allows(expr, values):
    assert field_values(expr) == values


def test_expand_tells_whether_the_day_fields_are_ored():
    assert expand("0 0 1 * MON").days_either is True
    assert expand("0 0 * * MON").days_either is False


@pytest.mark.parametrize(
    "expr, fields",
    [
        ("@daily", ("0", "0", "*", "*", "*")),
        ("@WEEKLY", ("0", "0", "*", "*", "0")),
        (" 5  4 * *   1 ", ("5", "4", "*", "*", "1")),
    ],
)
def test_cron_fields_spell_out_macros(expr, fields):
    assert cron_fields(expr) == fields


@pytest.mark.parametrize(
    "seconds, expr",
    [
        (60, "* * * * *"),
        (300, "*/5 * * * *"),
        (1800, "*/30 * * * *"),
        (3600, "0 * * * *"),
        (7200, "0 */2 * * *"),
        (43200, "0 */12 * * *"),
        (86400, "0 0 * * *"),
        # No cron expression fires exactly this often: every minute is the closest.
        (30, "* * * * *"),
        (90, "* * * * *"),
        (150, "* * * * *"),
        (420, "* * * * *"),
        (5400, "* * * * *"),
        (25200, "* * * * *"),
        (172800, "* * * * *"),
    ],
)
def test_interval_cron_fires_exactly_as_often_when_cron_can_say_it(seconds, expr):
    assert interval_cron(seconds) == expr


def test_a_backwards_range_is_refused_in_every_field():
    with pytest.raises(ScheduleError, match="range 5-3 is backwards") as backwards:
        validate_cron("0 5-3 * * *")
    assert backwards.value.field == "hour"


def test_slots_between_counts_to_ten_thousand_by_default():
    start = utc(2026, 1, 1)
    assert slots_between("* * * * *", "UTC", start, start + timedelta(days=8)) == 10_000


def test_next_run_does_not_depend_on_the_host_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        runs = next_runs("30 2 * * *", "Europe/Berlin", utc(2026, 3, 27, 2), 3)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert runs == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)]


def test_a_weekday_range_through_sunday_ends_on_sunday():
    # FRI-SUN is 5-7, and 7 is Sunday (0): Friday, Saturday and Sunday, never Monday.
    runs = next_runs("0 0 * * FRI-SUN", "UTC", utc(2026, 3, 2, 0, 0, 30), 4)
    assert [run.strftime("%a %d") for run in runs] == ["Fri 06", "Sat 07", "Sun 08", "Fri 13"]


def test_a_jobs_schedule_as_cron_is_its_expression_or_its_interval_spelled():
    assert as_cron("0 2 * * *", None) == "0 2 * * *"
    assert as_cron(None, 300) == "*/5 * * * *"
    assert as_cron(None, 90) == "* * * * *"  # the closest a cron-only dialect can state
    with pytest.raises(
        ScheduleError, match=r"^The job has neither a cron expression nor an interval\.$"
    ):
        as_cron(None, None)
