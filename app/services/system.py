"""Health of the pieces Upcron depends on: the database and Redis."""

from __future__ import annotations

import time

import redis
import sqlalchemy as sa

from app.extensions import db, redis_client


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
        version = conn.info("server").get("redis_version")
    except redis.RedisError as exc:
        return {"ok": False, "error": str(exc) or exc.__class__.__name__}
    return {"ok": True, "latency_ms": round(latency_ms, 3), "version": version}
