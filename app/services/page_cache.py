"""Rendered public documents (status page, status JSON, badges, feed) cached in Redis.

Each entry holds the body, its ETag and its Last-Modified for a few seconds, so a burst of
visitors costs one render. Last-Modified is the moment a body with this ETag was first
rendered (remembered for a day), not the moment of the render: a page that did not change
keeps answering If-Modified-Since with 304 after its cache entry expired.

Redis is an optimisation here, never a dependency: when it fails the document is rendered
uncached, and Redis is left alone for a few seconds so each request does not wait for a
connection timeout.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import redis

from app.extensions import redis_client
from app.models.types import utcnow

PREFIX = "upcron:cache:"
TTL_MS = 10_000
SEEN_TTL_SEC = 86_400
RETRY_AFTER_FAILURE_SEC = 5.0

LOCAL_BODIES_MAX = 256

log = logging.getLogger(__name__)
# Per process and Redis client: when it last failed us (monotonic seconds).
_failed_at: dict[int, float] = {}
# Per process: the last body seen under each key, by ETag. A hit on a page of megabytes then
# moves only its ETag from Redis; the body is fetched again only when it changed.
_bodies: dict[str, tuple[str, bytes]] = {}


@dataclass(frozen=True)
class Document:
    body: bytes
    etag: str
    last_modified: datetime


def _redis_usable(conn: redis.Redis) -> bool:
    failed_at = _failed_at.get(id(conn))
    return failed_at is None or time.monotonic() - failed_at > RETRY_AFTER_FAILURE_SEC


def _redis_failed(conn: redis.Redis, exc: redis.RedisError) -> None:
    if _redis_usable(conn):
        log.warning("page cache: Redis unavailable, rendering uncached (%s)", exc)
    _failed_at[id(conn)] = time.monotonic()


def _etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def fetch(key: str, render: Callable[[], bytes], ttl_ms: int = TTL_MS) -> Document:
    """The cached document under ``key``, or ``render()``'s result, cached for ``ttl_ms``."""
    full_key = PREFIX + key
    conn = redis_client.conn
    if _redis_usable(conn):
        try:
            document = _cached(conn, full_key)
        except redis.RedisError as exc:
            _redis_failed(conn, exc)
        else:
            _failed_at.pop(id(conn), None)
            if document is not None:
                return document
    body = render()
    etag = _etag(body)
    # Whole seconds: HTTP dates have no fractions, and If-Modified-Since compares them.
    modified = int(utcnow().timestamp())
    if _redis_usable(conn):
        try:
            modified = _store(conn, full_key, body, etag, modified, ttl_ms)
        except redis.RedisError as exc:
            _redis_failed(conn, exc)
    return Document(body, etag, datetime.fromtimestamp(modified, UTC))


def _cached(conn: redis.Redis, key: str) -> Document | None:
    stored_etag, modified = cast(list[bytes | None], conn.hmget(key, ["etag", "lm"]))
    if stored_etag is None or modified is None:
        return None
    etag = stored_etag.decode()
    local = _bodies.get(key)
    if local is not None and local[0] == etag:
        body = local[1]
    else:
        stored_body = cast(bytes | None, conn.hget(key, "body"))
        if stored_body is None:  # expired between the two reads
            return None
        body = stored_body
        if len(_bodies) >= LOCAL_BODIES_MAX:
            _bodies.clear()
        _bodies[key] = (etag, body)
    return Document(body, etag, datetime.fromtimestamp(int(modified), UTC))


def _store(conn: redis.Redis, key: str, body: bytes, etag: str, modified: int, ttl_ms: int) -> int:
    """Cache the body; returns its Last-Modified (the first render of this ETag)."""
    seen_key = key + ":seen"
    seen = cast(bytes | None, conn.get(seen_key))
    if seen is not None:
        seen_etag, _, seen_modified = seen.decode().partition(" ")
        if seen_etag == etag:
            modified = int(seen_modified)
    with conn.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"body": body, "etag": etag, "lm": modified})
        pipe.pexpire(key, ttl_ms)
        pipe.set(seen_key, f"{etag} {modified}", ex=SEEN_TTL_SEC)
        pipe.execute()
    return modified


def clear(prefix: str) -> None:
    """Drop every cached document whose key starts with ``prefix`` (after a settings change).

    Best effort: with Redis down there is nothing cached worth dropping for long.
    """
    conn = redis_client.conn
    if not _redis_usable(conn):
        return
    try:
        keys = [
            key
            for key in conn.scan_iter(match=f"{PREFIX}{prefix}*", count=500)
            if not key.endswith(b":seen")
        ]
        if keys:
            conn.delete(*keys)
    except redis.RedisError as exc:
        _redis_failed(conn, exc)
