"""RQ worker entry point: ``python worker.py`` or ``upcron worker``.

A plain RQ worker on Upcron's queues, running inside one long-lived app context so jobs can
use the database and Redis through the same extensions as the web app. It is RQ's
SimpleWorker: jobs run in the worker process instead of a fork per job, because a batch is
short and many per second, and a fork would also inherit the database connection pool.
Probes carry their own timeouts; RQ's job timeout still applies (SIGALRM).

With ``with_scheduler`` one worker at a time also runs RQ's scheduler (a forked process that
only talks to Redis), which puts notification retries back in their queue when their backoff
delay is over. That process ends with its worker: left to itself it would outlive a worker
killed outright (SIGKILL, the OOM killer) and keep holding the queues' scheduler locks.

RQ's four lines for each job it runs are logged at debug level (app.logs): a worker runs a
batch every few seconds, and the lines that matter, failures and state changes, would drown.
"""

from __future__ import annotations

import logging
import os

from rq import SimpleWorker

from app import create_app, logs
from app.engine import queues
from app.extensions import redis_client
from app.processes import die_with_parent


def main(burst: bool = False) -> None:
    os.register_at_fork(after_in_child=die_with_parent)
    app = create_app()
    logging.getLogger("rq.worker").addFilter(logs.RqJobLinesAtDebug())
    with app.app_context():
        worker = SimpleWorker(
            [queues.queue(name) for name in queues.ALL], connection=redis_client.conn
        )
        worker.work(burst=burst, logging_level=app.config["LOG_LEVEL"], with_scheduler=True)


if __name__ == "__main__":
    main()
