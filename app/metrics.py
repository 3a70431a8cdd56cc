"""What Upcron counts for Prometheus, and the text a scrape of ``/metrics`` returns.

Every metric is defined here, below every layer, so the engine, the services and the tasks
each record with one line where the thing happens (``metrics.PINGS.labels(kind).inc()``).
Labels are kinds and outcomes from fixed lists, never a monitor's id, name or URL: each label
value is a time series Prometheus keeps.

**Many processes.** gunicorn's workers, the scheduler and the RQ workers each count in their
own process. With ``PROMETHEUS_MULTIPROC_DIR`` set (``upcron up`` sets it to
``<instance>/metrics`` for its children and empties the folder as it starts) prometheus_client
writes each process's figures to memory-mapped files in that folder, and a scrape adds up the
files of every process on the host, the finished ones too, so a counter never goes back when
a worker is replaced. The variable must be in the environment before prometheus_client is
first imported, which is why only a launcher can set it. Without it (``flask run``, tests)
the figures live in this process's memory and a scrape shows them alone.

**Read at scrape time.** What is a level rather than a count (the due set, the queues, the
open incidents) is read from Redis and SQL when Prometheus asks (``render``'s ``levels``), so
it is right whichever process answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DIRECTORY = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

# The *_created series say when a process first counted; summed over processes they mean
# nothing, and the multiprocess mode has none, so a single process leaves them out as well.
disable_created_metrics()
# In multiprocess mode these objects write to files and ``render`` reads the files; this
# registry is what a single process shows.
_RECORDED = CollectorRegistry()

CHECKS = Counter(
    "upcron_checks",
    "Checks of uptime monitors and executions of cron jobs, by the kind of check "
    "(http, keyword, tcp, dns, ping, cron_job) and outcome (ok, failed_timeout…).",
    ["kind", "outcome"],
    registry=_RECORDED,
)
CHECK_DURATION = Histogram(
    "upcron_check_duration_seconds",
    "How long a check or cron execution took, from the request's start to its answer or error.",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=_RECORDED,
)
DISPATCH_LATENESS = Histogram(
    "upcron_dispatch_lateness_seconds",
    "How long after its due time the scheduler put a check, cron execution or heartbeat "
    "deadline (kind: monitor, cron_job, heartbeat) in the queue.",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=_RECORDED,
)
PINGS = Counter(
    "upcron_pings",
    "Heartbeat pings recorded, by kind (start, success, fail, log; an exit status counts "
    "as success when 0, else fail).",
    ["kind"],
    registry=_RECORDED,
)
DELIVERIES = Counter(
    "upcron_notification_deliveries",
    "Attempts to deliver an alert, by channel kind (email, webhook, apprise) and result "
    "(sent; pending: failed, tried again later; failed: failed for good).",
    ["channel_kind", "result"],
    registry=_RECORDED,
)


def checked(kind: str, outcome: str, total_us: int) -> None:
    """Count one finished check or execution and the time it took."""
    CHECKS.labels(kind, outcome).inc()
    CHECK_DURATION.labels(kind).observe(total_us / 1_000_000)


def dispatched(lateness: Iterable[tuple[str, int]]) -> None:
    """The lateness of each item the scheduler just dispatched: (kind, milliseconds). A tick
    may dispatch thousands; each kind's series is looked up once (it costs as much as an
    observation)."""
    series: dict = {}
    for kind, late_ms in lateness:
        if kind not in series:
            series[kind] = DISPATCH_LATENESS.labels(kind)
        series[kind].observe(max(late_ms, 0) / 1000)


class _Levels:
    """The figures read at scrape time, as gauges."""

    def __init__(self, levels: dict):
        self.levels = levels

    def collect(self) -> Iterable[Metric]:
        if "due" in self.levels:
            yield GaugeMetricFamily(
                "upcron_scheduler_due_items",
                "Monitors, cron jobs and heartbeat deadlines in the scheduler's due set.",
                value=self.levels["due"],
            )
        if "queues" in self.levels:
            queued = GaugeMetricFamily(
                "upcron_queue_jobs", "Jobs waiting in each RQ queue.", labels=["queue"]
            )
            for name, depth in self.levels["queues"].items():
                queued.add_metric([name], depth)
            yield queued
        if "incidents_open" in self.levels:
            yield GaugeMetricFamily(
                "upcron_incidents_open", "Incidents open now.", value=self.levels["incidents_open"]
            )


def render(levels: dict) -> bytes:
    """The scrape's text: every process's counts (this one's alone without a multiprocess
    folder) and ``levels``: ``due``, ``queues`` ({name: jobs}) and ``incidents_open``, each
    left out when it could not be read."""
    registry = CollectorRegistry()
    if DIRECTORY:
        multiprocess.MultiProcessCollector(registry, DIRECTORY)
    else:
        registry.register(_RECORDED)
    registry.register(_Levels(levels))
    return generate_latest(registry)


def empty_directory(directory: str) -> str:
    """Create ``directory`` for the multiprocess files, or remove the files a previous run
    left in it (only theirs: ``*.db``); for a launcher before it starts any process."""
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))
    return directory


if DIRECTORY:
    # A missing folder would fail the first recording, in the middle of a check; made here,
    # at start, an unusable one stops the process before it does any work.
    os.makedirs(DIRECTORY, exist_ok=True)
