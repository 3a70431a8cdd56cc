"""Health of the pieces Upcron depends on (the database, Redis) and of its processes, and the
levels /metrics reads when it is scraped."""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime
from typing import Any, cast

import redis
import sqlalchemy as sa
from rq import Worker

from app.engine import queues, scheduler
from app.extensions import db, redis_client
from app.models import Incident
from app.models.incident import STATUS_OPEN

log = logging.getLogger(__name__)


def database_status() -> str:
    """'ok', or the error text when the database does not answer."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        db.session.rollback()
        return "ok"
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        return f"error: {exc.__class__.__name__}"


def redis_status() -> dict:
    """Ping Redis: ``{"ok", "latency_ms", "version"}`` or ``{"ok": False, "error"}``."""
    conn = redis_client.conn
    try:
        started = time.perf_counter()
        conn.ping()
        latency_ms = (time.perf_counter() - started) * 1000
        version = cast(dict[str, Any], conn.info("server")).get("redis_version")
    except redis.RedisError as exc:
        return {"ok": False, "error": str(exc) or exc.__class__.__name__}
    return {"ok": True, "latency_ms": round(latency_ms, 3), "version": version}


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _workers(conn: redis.Redis) -> list[dict[str, Any]]:
    workers = []
    for worker in sorted(Worker.all(connection=conn), key=lambda w: w.name):
        job_id = worker.get_current_job_id()
        workers.append(
            {
                "name": worker.name,
                "hostname": worker.hostname,
                "pid": worker.pid,
                "state": str(worker.get_state()),
                "queues": worker.queue_names(),
                "current_job": {"id": job_id} if job_id else None,
                "last_heartbeat": _aware(worker.last_heartbeat),
                "started_at": _aware(worker.birth_date),
                "successful_jobs": worker.successful_job_count,
                "failed_jobs": worker.failed_job_count,
            }
        )
    return workers


def _queues() -> dict[str, dict[str, int]]:
    depths = {}
    for name in queues.ALL:
        queue = queues.queue(name)
        depths[name] = {
            "queued": queue.count,
            "started": queue.started_job_registry.count,
            "failed": queue.failed_job_registry.count,
        }
    return depths


def levels() -> dict[str, Any]:
    """The levels a /metrics scrape reports beside the counts (app.metrics.render): the
    scheduler's due items, the jobs waiting in each queue (one Redis round trip) and the
    incidents open. What Redis or the database cannot tell now is left out, so the counts
    are still scraped; the missing series show the outage."""
    found: dict[str, Any] = {}
    try:
        with redis_client.conn.pipeline(transaction=False) as pipe:
            pipe.zcard(scheduler.KEY_DUE)
            for name in queues.ALL:
                pipe.llen(queues.queue(name).key)
            due, *depths = pipe.execute()
        found["due"], found["queues"] = due, dict(zip(queues.ALL, depths, strict=True))
    except redis.RedisError as exc:
        log.warning("/metrics: Redis did not answer (%s)", exc)
    try:
        found["incidents_open"] = db.session.execute(
            sa.select(sa.func.count()).where(Incident.status == STATUS_OPEN)
        ).scalar_one()
    except sa.exc.SQLAlchemyError as exc:
        log.warning("/metrics: the database did not answer (%s)", exc.__class__.__name__)
    db.session.rollback()
    return found


def overview() -> dict[str, Any]:
    """Everything the system page shows: the database, Redis, RQ workers with their state and
    current job, queue depths, and the scheduler's leader and last tick.

    Workers, queues and the scheduler live in Redis; with Redis down they are reported empty
    (and Redis as failing) rather than raising.
    """
    report: dict[str, Any] = {
        "database": database_status(),
        "redis": redis_status(),
        "workers": [],
        "queues": {},
        "scheduler": None,
    }
    if not report["redis"]["ok"]:
        return report
    try:
        report["workers"] = _workers(redis_client.conn)
        report["queues"] = _queues()
        report["scheduler"] = scheduler.status()
    except redis.RedisError as exc:
        report["redis"] = {"ok": False, "error": str(exc) or exc.__class__.__name__}
    return report


def worker_addresses() -> dict[str, dict[str, str]]:
    """The hosts running workers, the source of every check and cron call, with the first
    IPv4 and IPv6 address each host name resolves to ("" when it has none).

    Empty when Redis, where workers register, cannot be reached.
    """
    try:
        workers = Worker.all(connection=redis_client.conn)
        hosts = sorted({worker.hostname for worker in workers if worker.hostname})
    except redis.RedisError:
        return {}
    addresses = {}
    for host in hosts:
        found = {"v4": "", "v6": ""}
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            infos = []
        for family, _, _, _, sockaddr in infos:
            slot = "v4" if family == socket.AF_INET else "v6" if family == socket.AF_INET6 else None
            if slot and not found[slot]:
                found[slot] = str(sockaddr[0])  # (address, port, ...) for IPv4 and IPv6
        addresses[host] = found
    return addresses
