"""RQ worker entry point: ``python worker.py`` or ``upcron worker``.

A plain RQ worker on Upcron's queues, running inside one long-lived app context so jobs can
use the database and Redis through the same extensions as the web app. It is RQ's
SimpleWorker: jobs run in the worker process instead of a fork per job, because a batch is
short and many per second, and a fork would also inherit the database connection pool.
Probes carry their own timeouts; RQ's job timeout still applies (SIGALRM).

With ``with_scheduler`` one worker at a time also runs RQ's scheduler, which puts
notification retries back in their queue when their backoff delay is over. RQ runs it in a
forked process; here it is a thread of the worker (``SchedulerThread``). It only moves job
ids in Redis once a second, yet the fork's PSS was 67 MiB at 1,000 monitors
(bench/memory.py): the copy-on-write pages that Python's reference counts and garbage
collector touch become its own. As a thread it ends with its worker however the worker
dies; the scheduler locks of a worker killed outright (SIGKILL, the OOM killer) lapse after
a minute, and another worker's upkeep (``keep_scheduler``) takes them.

RQ's four lines for each job it runs are logged at debug level (app.logs): a worker runs a
batch every few seconds, and the lines that matter, failures and state changes, would drown.
"""

from __future__ import annotations

import logging
import threading
import time

from rq import SimpleWorker, worker_registration
from rq.scheduler import RQScheduler, run

from app import create_app, logs
from app.engine import queues
from app.extensions import redis_client


class SchedulerThread(RQScheduler):
    """RQ's scheduler on a daemon thread of the worker instead of a forked process."""

    def start(self):
        self._status = self.Status.STARTED
        self._stop_requested = False
        self._process = threading.Thread(target=run, args=(self,), name="rq-scheduler", daemon=True)
        self._process.start()
        return self._process

    def _install_signal_handlers(self):
        """Only the main thread may set them; the worker's stop ends this loop instead."""


class Worker(SimpleWorker):
    """RQ's SimpleWorker that registers itself again when Redis forgot it.

    RQ registers a worker once, at start; a Redis that was emptied or restarted since then
    no longer lists it, and the system page would say no worker runs while this one keeps
    completing jobs. Each heartbeat (after every job, and at least every
    ``dequeue_timeout`` seconds while idle) checks the registration in the same round trip.
    Once a heartbeat interval it also starts RQ's scheduler process when none runs here
    and its locks are free: one ended with a Redis restart, or with a worker that was killed
    (RQ itself looks only every ten minutes, and notification retries would wait that long).
    """

    _scheduler_wanted = False
    _scheduler_next_try = 0.0

    def work(self, burst=False, *args, with_scheduler=False, **kwargs):
        self._scheduler_wanted = with_scheduler and not burst
        return super().work(burst, *args, with_scheduler=with_scheduler, **kwargs)

    def heartbeat(self, timeout=None, pipeline=None):
        if pipeline is not None:  # part of a caller's transaction: nothing to read back
            return super().heartbeat(timeout, pipeline)
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.sismember(self.redis_workers_keys, self.key)
            super().heartbeat(timeout, pipeline=pipe)
            registered = pipe.execute()[0]
        if not registered:
            self.log.warning(
                "Worker %s: Redis had forgotten this worker; registered again", self.name
            )
            self.register_again()
        if self._scheduler_wanted and time.monotonic() >= self._scheduler_next_try:
            self._scheduler_next_try = time.monotonic() + self.dequeue_timeout
            self.keep_scheduler()

    def _start_scheduler(self, burst=False, logging_level="INFO", *args, **kwargs):
        """RQ's own, with the scheduler on a thread (its burst mode runs no loop at all)."""
        self.scheduler = SchedulerThread(
            self.queues, connection=self.connection, logging_level=logging_level
        )
        self.scheduler.acquire_locks()
        if self.scheduler.acquired_locks:
            if burst:
                try:
                    self.scheduler.register_birth()
                    self.scheduler.enqueue_scheduled_jobs()
                finally:
                    self.scheduler.release_locks()
                    self.scheduler.register_death()
            else:
                self.scheduler.start()

    def stop_scheduler(self):
        """Ask the scheduler's loop to stop (it releases its locks) and wait for it."""
        thread = self.scheduler._process
        if thread and thread.is_alive():
            self.scheduler.request_stop()
            thread.join(self.scheduler.interval + 5)

    def keep_scheduler(self) -> None:
        """Start RQ's scheduler here if none runs here and its locks are free (or ours)."""
        process = self.scheduler._process if self.scheduler else None
        if self.scheduler and (not process or not process.is_alive()):
            self.scheduler.acquire_locks(auto_start=True)

    def register_again(self) -> None:
        with self.connection.pipeline() as pipe:
            pipe.delete(self.key)
            pipe.hset(self.key, mapping=self.serialize())
            self.set_state(self.get_state(), pipeline=pipe)
            worker_registration.register(self, pipe)
            pipe.expire(self.key, self.worker_ttl + 60)
            pipe.execute()


def main(burst: bool = False) -> None:
    app = create_app(web=False, migrations=False)
    logging.getLogger("rq.worker").addFilter(logs.RqJobLinesAtDebug())
    with app.app_context():
        worker = Worker(
            [queues.queue(name) for name in queues.ALL],
            connection=redis_client.conn,
            # RQ waits for a job this long (worker_ttl - 15 s) before it heartbeats again.
            worker_ttl=app.config["WORKER_HEARTBEAT_SEC"] + 15,
        )
        worker.work(burst=burst, logging_level=app.config["LOG_LEVEL"], with_scheduler=True)


if __name__ == "__main__":
    main()
