"""The degraded state in app/engine/state.py, on plain Monitor objects: warnings count like
failures do, a failure still goes toward down, and clean answers bring the monitor back."""

from datetime import UTC, datetime, timedelta

from app.engine import state
from app.models import Monitor

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SLOW = "Answered in 2,340 ms, slower than 1,000 ms"


def monitor(**fields) -> Monitor:
    values = {
        "kind": "http",
        "name": "API",
        "state": "up",
        "paused": False,
        "failure_threshold": 2,
        "recovery_threshold": 1,
        "consecutive_failures": 0,
        "consecutive_successes": 0,
        "consecutive_warnings": 0,
        "consecutive_clean": 0,
        "last_error": None,
        "last_warning": None,
        "degraded_kind": None,
    }
    values.update(fields)
    return Monitor(**values)


class Checks:
    """Feeds checks to a monitor a minute apart: "ok", "slow", "cert" or "fail"."""

    def __init__(self, row: Monitor):
        self.row = row
        self.at = T0
        self.maintenance = False

    def __call__(self, *kinds: str) -> list[list[str]]:
        events = []
        for kind in kinds:
            self.at += timedelta(minutes=1)
            warning = {"slow": (SLOW, "slow"), "cert": ("Expires in 5 days", "certificate")}
            text, warning_kind = warning.get(kind, (None, None))
            events.append(
                state.apply_check(
                    self.row,
                    kind != "fail",
                    "HTTP 503" if kind == "fail" else None,
                    self.at,
                    warning=text,
                    warning_kind=warning_kind,
                    maintenance=self.maintenance,
                )
            )
        return events


def test_up_turns_degraded_after_failure_threshold_warnings_in_a_row():
    row = monitor()
    check = Checks(row)
    assert check("slow", "ok", "slow") == [[], [], []]  # a clean answer breaks the run
    assert row.state == "up" and row.last_warning == SLOW
    assert check("slow") == [["degraded"]]
    assert (row.state, row.degraded_kind, row.state_changed_at) == ("degraded", "slow", check.at)
    assert check("slow") == [[]]


def test_degraded_returns_to_up_after_recovery_threshold_clean_answers():
    row = monitor(state="degraded", degraded_kind="slow", recovery_threshold=2)
    check = Checks(row)
    assert check("ok", "slow", "ok") == [[], [], []]
    assert row.state == "degraded" and row.last_warning is None
    assert check("ok") == [["up"]]
    # The kind that began the spell stays, so the alert of its end follows the same toggle.
    assert (row.state, row.degraded_kind) == ("up", "slow")


def test_a_failure_goes_toward_down_and_down_wins():
    row = monitor(state="degraded", degraded_kind="slow")
    check = Checks(row)
    assert check("fail") == [[]]
    assert row.state == "degraded" and row.last_error == "HTTP 503" and row.last_warning is None
    assert check("fail") == [["down"]]
    assert (row.state, row.degraded_kind) == ("down", None)


def test_failures_and_warnings_do_not_add_up():
    row = monitor()
    check = Checks(row)
    assert check("slow", "fail", "slow", "fail") == [[], [], [], []]
    assert row.state == "up"


def test_down_recovers_to_up_on_any_answer_and_a_lasting_warning_degrades_it_after():
    row = monitor(state="down", consecutive_failures=5)
    check = Checks(row)
    assert check("slow") == [["up"]]  # the outage is over, whatever the speed
    assert row.degraded_kind is None  # its alert is a recovery from down, always sent
    assert check("slow") == [["degraded"]]  # the second warning in a row


def test_a_new_monitor_is_degraded_by_its_first_warning():
    row = monitor(state="pending")
    assert Checks(row)("cert") == [["degraded"]]
    assert (row.state, row.degraded_kind, row.last_warning) == (
        "degraded",
        "certificate",
        "Expires in 5 days",
    )
    clean = monitor(state="pending")
    assert Checks(clean)("ok") == [[]]
    assert clean.state == "up"


def test_resume_forgets_the_warnings():
    row = monitor(state="degraded", degraded_kind="slow", last_warning=SLOW, consecutive_warnings=4)
    state.pause(row, T0)
    state.resume(row, T0)
    assert (row.state, row.last_warning, row.degraded_kind, row.consecutive_warnings) == (
        "pending",
        None,
        None,
        0,
    )


def test_a_maintenance_window_holds_the_degraded_state_until_the_next_check_after_it():
    row = monitor()
    check = Checks(row)
    check.maintenance = True
    assert check("slow", "slow", "slow") == [[], [], []]
    assert row.state == "up" and row.consecutive_warnings == 3
    check.maintenance = False
    assert check("slow") == [["degraded"]]
    check.maintenance = True
    assert check("ok", "fail", "fail") == [[], [], []]
    assert row.state == "degraded"
    check.maintenance = False
    assert check("fail") == [["down"]]


def test_every_transition_records_when_it_happened():
    """state_changed_at is what the dashboard shows as "down for 5 minutes"."""
    row = monitor(state="degraded", degraded_kind="slow")
    check = Checks(row)
    check("ok")
    assert (row.state, row.state_changed_at) == ("up", check.at)
    check("fail", "fail")
    assert (row.state, row.state_changed_at) == ("down", check.at)
    check("ok")
    assert (row.state, row.state_changed_at) == ("up", check.at)
    pending = monitor(state="pending")
    Checks(pending)("ok")
    assert (pending.state, pending.state_changed_at) == ("up", T0 + timedelta(minutes=1))


def test_pause_and_resume_restart_the_counts():
    row = monitor(
        state="down",
        consecutive_failures=7,
        consecutive_successes=3,
        consecutive_clean=3,
        last_error="HTTP 503",
    )
    state.pause(row, T0)
    assert (row.paused, row.state, row.state_changed_at) == (True, "paused", T0)
    assert Checks(row)("fail") == [[]] and row.state == "paused"
    later = T0 + timedelta(hours=1)
    state.resume(row, later)
    assert (row.paused, row.state, row.state_changed_at) == (False, "pending", later)
    assert (row.consecutive_failures, row.consecutive_successes, row.consecutive_clean) == (0, 0, 0)
    # One failure after resuming is one, not the eighth in a row.
    row.failure_threshold = 2
    assert Checks(row)("fail") == [[]] and row.state == "pending"
