"""Log output of every Upcron process: secrets redacted, RQ's per-job chatter at debug level.

Secrets reach log lines by the request line and referer (SetCronJob's documented
``?token=upk_…``), by headers an operator adds to gunicorn's access log format, and by
messages that carry a URL (a probe's error names its target, whose query string may hold the
target's own token). One function, ``redact``, rewrites them all:

- a query or form value whose parameter name contains ``token``, ``key``, ``secret`` or
  ``password`` (``token=``, ``key=``, ``api_key=``, ``apikey=``, ``access_token=``…, in any
  case),
- the value of an ``Authorization``, ``Proxy-Authorization`` or ``X-Api-Key`` header written
  as ``Name: value`` (the scheme word, ``Bearer``…, stays),
- and any Upcron API key wherever it stands.

An Upcron key keeps its public prefix (``upk_`` and 8 characters, the prefix the dashboard and
the API show for each key), so a line still says which key was used: ``upk_AbCdEfGh…[redacted]``.
Any other secret becomes ``[redacted]`` whole: a few characters of a short password are too
much of it. Ping URLs are left as they are: their uuid or slug is the heartbeat's address,
which the log needs to be of use, and knowing it lets one only report a ping.

``RedactSecrets`` applies it to every record that reaches the handlers it is installed on: the
root logger's (``configure``: app, scheduler, RQ worker and ``upcron up``'s own lines) and
gunicorn's error and access loggers (``app.gunicorn_hooks.Logger``).
"""

from __future__ import annotations

import logging
import re

FORMAT = "%(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
# API keys as app.services.api_keys makes them: "upk_" and 43 random URL-safe characters; the
# first 12 characters are the key's public prefix (api_keys.PREFIX_LEN).
_KEY_RE = re.compile(r"upk_[A-Za-z0-9_-]{40,}")
_KEY_VISIBLE = 12
_SCHEMES = ("bearer", "basic", "token", "digest")
SECRET_HEADERS = ("authorization", "proxy-authorization", "x-api-key")
_SECRET_NAMES = ("token", "key", "secret", "password")

# Every name=value pair; the replacement looks at the name (one pass over the line, where
# looking for the secret names inside the pattern would try each position many times).
_PARAM_RE = re.compile(r"(?<![\w.%-])([\w.%-]+=)([^&\s\"'#;,]+)")
_HEADER_RE = re.compile(
    rf"\b({'|'.join(SECRET_HEADERS)})([\"']?\s*[:=]\s*[\"']?)"
    rf"((?:(?:{'|'.join(_SCHEMES)})\s+)?[^\s\"',;]+)",
    re.IGNORECASE,
)


def mask(secret: str) -> str:
    """One secret as a log may show it: an API key's public prefix, else nothing of it."""
    if secret.endswith(REDACTED):
        return secret  # redacted already (the access log's header values are, twice)
    if _KEY_RE.fullmatch(secret):
        return f"{secret[:_KEY_VISIBLE]}…{REDACTED}"
    return REDACTED


def mask_credentials(value: str) -> str:
    """A credential header's value: its scheme word kept (``Bearer``…), the rest masked."""
    scheme, _, credentials = value.partition(" ")
    if credentials.strip() and scheme.lower() in _SCHEMES:
        return f"{scheme} {mask(credentials.strip())}"
    return mask(value.strip())


def redact(text: str) -> str:
    """``text`` with every secret in it masked (see the module's docstring for what counts)."""
    # Each expression runs only on a line with a word it looks for: most access lines have
    # none, and these tests cost them a few µs where the expressions would cost tens.
    lowered = text.lower()
    if "authorization" in lowered or "x-api-key" in lowered:
        text = _HEADER_RE.sub(lambda m: m[1] + m[2] + mask_credentials(m[3]), text)
    if "=" in text and any(name in lowered for name in _SECRET_NAMES):
        text = _PARAM_RE.sub(_mask_param, text)
    if "upk_" in lowered:
        text = _KEY_RE.sub(lambda m: mask(m[0]), text)
    return text


def _mask_param(match: re.Match) -> str:
    name = match[1].lower()
    if any(secret_name in name for secret_name in _SECRET_NAMES):
        return match[1] + mask(match[2])
    return match[0]


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and traceback with its secrets masked, before any handler
    formats it. Installed on handlers (and on the loggers gunicorn writes to directly), since a
    logger's own filters do not see the records its children pass up."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # a malformed call: the handler reports it as logging does
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


REDACT = RedactSecrets()  # one instance, so installing it twice adds it once


def configure(level: str) -> None:
    """Set up this process's log output (as ``logging.basicConfig``, which leaves a setup that
    exists alone) and redact secrets in every handler of the root logger."""
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(REDACT)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


# RQ's lines for each job it runs (rq 2.x): started (with the job's description or without),
# "Successfully completed", "Job OK", and how long its result is kept. A worker runs a batch
# every few seconds, so at INFO these four would be most of the log.
_RQ_JOB_LINES = frozenset(
    {
        "Worker %s: %s: %s (%s)",
        "Worker %s: %s: %s",
        "Successfully completed %s job in %ss on worker %s",
        "Successfully completed job %s in %ss on worker %s",
        "Worker %s: job %s result is kept for %s seconds",
        "Worker %s: job %s result discarded immediately",
    }
)


class RqJobLinesAtDebug(logging.Filter):
    """On the ``rq.worker`` logger: its per-job INFO lines become DEBUG lines, shown only at
    UPCRON_LOG_LEVEL=debug. A job's failure and the worker's own events stay as RQ logs them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.msg in _RQ_JOB_LINES:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True
