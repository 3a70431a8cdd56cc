"""The RQ queues Upcron uses, in the order a worker serves them, and the jobs they carry.

The jobs live in ``app/tasks/`` above the services; the engine and the services enqueue them
by these dotted names, which a worker imports, so neither imports upward.
"""

from __future__ import annotations

from rq import Queue

from app.extensions import redis_client

CHECKS = "checks"
NOTIFY = "notify"
MAINTENANCE = "maintenance"
ALL = (CHECKS, NOTIFY, MAINTENANCE)

RUN_BATCH = "app.tasks.jobs.run_batch"  # checks
SEND_NOTIFICATION = "app.tasks.jobs.send_notification"  # notify
SEND_DUE_NOTIFICATIONS = "app.tasks.jobs.send_due_notifications"  # maintenance
PRUNE_HISTORY = "app.tasks.jobs.prune_history"  # maintenance


def queue(name: str) -> Queue:
    return Queue(name, connection=redis_client.conn)
