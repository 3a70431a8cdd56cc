"""RQ worker entry point: ``python worker.py`` or ``upcron worker``.

A plain RQ worker on Upcron's queues, running inside one long-lived app context so jobs can
use the database and Redis through the same extensions as the web app.
"""

from __future__ import annotations

from rq import Worker

from app import create_app
from app.engine import queues
from app.extensions import redis_client


def main(burst: bool = False) -> None:
    app = create_app()
    with app.app_context():
        worker = Worker([queues.queue(name) for name in queues.ALL], connection=redis_client.conn)
        worker.work(burst=burst, logging_level=app.config["LOG_LEVEL"])


if __name__ == "__main__":
    main()
