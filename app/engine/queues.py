"""The RQ queues Upcron uses, in the order a worker serves them."""

from __future__ import annotations

from rq import Queue

from app.extensions import redis_client

CHECKS = "checks"
NOTIFY = "notify"
MAINTENANCE = "maintenance"
ALL = (CHECKS, NOTIFY, MAINTENANCE)


def queue(name: str) -> Queue:
    return Queue(name, connection=redis_client.conn)
