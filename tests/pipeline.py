"""The real pipeline, run from a test: a scheduler's tick dispatches what is due, then an RQ
worker in this process works the queues until they are empty."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from rq import SimpleWorker

from app.engine import queues
from app.engine.scheduler import Scheduler
from app.extensions import db, redis_client
from app.models import CheckResult


def work() -> None:
    """Run an RQ worker until the queues are empty."""
    worker = SimpleWorker([queues.queue(name) for name in queues.ALL], connection=redis_client.conn)
    worker.work(burst=True, with_scheduler=False)


def run_due(scheduler: Scheduler, at: datetime | None = None) -> None:
    scheduler.tick(at or datetime.now(UTC))
    work()
    db.session.remove()


def check_results(monitor_id: int) -> list[CheckResult]:
    query = sa.select(CheckResult).filter_by(monitor_id=monitor_id).order_by(CheckResult.id)
    return list(db.session.execute(query).scalars())
