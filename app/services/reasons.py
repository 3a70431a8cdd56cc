"""Reasons: a check's, a run's or a ping's outcome in words, made in this one place.

Every page, the API's ``reason`` fields and the notifications say why something failed the
same way. The probe and the judge already write a sentence for most failures ("HTTP 500,
expected 200-399", "Timed out after 10000 ms while connecting"); that sentence wins. Where
there is none (rows written before it was kept, a disabled job, a heartbeat's ping) the
outcome code is put in words here, so a raw code like ``failed_http_status`` never shows.
"""

from __future__ import annotations

from typing import Any

from app.models.history import (
    FAILED_ASSERTION,
    FAILED_BLOCKED_TARGET,
    FAILED_CONNECT,
    FAILED_DNS,
    FAILED_DNS_ANSWER,
    FAILED_HTTP_STATUS,
    FAILED_INTERNAL,
    FAILED_KEYWORD,
    FAILED_PACKET_LOSS,
    FAILED_TIMEOUT,
    FAILED_TLS,
    FAILED_TOO_MUCH_DATA,
    OK,
    PING_FAIL,
    PING_LOG,
    PING_START,
)

_WORDS = {
    OK: "Up",
    FAILED_DNS: "The name could not be resolved",
    FAILED_CONNECT: "The connection failed",
    FAILED_TIMEOUT: "Timed out",
    FAILED_TLS: "The TLS handshake failed",
    FAILED_TOO_MUCH_DATA: "The response was too large",
    FAILED_HTTP_STATUS: "Unexpected HTTP status",
    FAILED_KEYWORD: "The keyword check failed",
    FAILED_DNS_ANSWER: "The DNS answer lacks an expected value",
    FAILED_PACKET_LOSS: "Too many echo requests were lost",
    FAILED_ASSERTION: "A response assertion does not hold",
    FAILED_BLOCKED_TARGET: "The target address is not allowed",
    FAILED_INTERNAL: "Internal error; the worker log has the details",
}


def outcome(
    code: str | None,
    error: str | None = None,
    status_code: int | None = None,
    warning: str | None = None,
    maintenance: bool = False,
) -> str:
    """An outcome in words: the recorded sentence if there is one, else the code's words
    (with the HTTP status when one was answered); a success tells its warning if any."""
    if code is None:
        return "No result yet"
    if code == OK:
        words = f"Up, with a warning: {warning}" if warning else "Up"
    elif error:
        words = error
    else:
        words = _WORDS.get(code, code.replace("_", " ").capitalize())
        if code == FAILED_HTTP_STATUS and status_code is not None:
            words = f"HTTP {status_code}, not the expected status"
    return f"{words} (during maintenance)" if maintenance else words


def of_check(row: Any) -> str:
    """A check result (or anything with its outcome, error, status_code and warning)."""
    return outcome(row.outcome, row.error, row.status_code, row.warning, row.maintenance)


def of_execution(row: Any) -> str:
    """A cron job's execution."""
    return outcome(row.outcome, row.error, row.status_code, None, row.maintenance)


def of_ping(row: Any) -> str:
    """A heartbeat's ping: what the job said by calling it."""
    return ping(row.kind, row.exit_status)


def ping(kind: str, exit_status: int | None = None) -> str:
    """A ping of ``kind`` (success, start, fail, log) in words."""
    if kind == PING_FAIL:
        if exit_status is not None:
            return f"The job reported a failure (exit status {exit_status})"
        return "The job reported a failure"
    if kind == PING_START:
        return "The job started"
    if kind == PING_LOG:
        return "The job logged a message"
    return "The job reported success"


def of_cron_job(job: Any) -> str | None:
    """Why a cron job is failing now (None when it is not): its switch-off, else its last
    run's outcome."""
    if job.disabled_reason:
        return job.disabled_reason
    if job.last_outcome in (None, OK):
        return None
    return outcome(job.last_outcome)
