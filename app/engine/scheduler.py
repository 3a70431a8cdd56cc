"""The scheduler: one leader turns due times into RQ batches; standbys wait to take over.

Redis holds only derived state, rebuilt from SQL whenever it is missing:

- ``upcron:due``: sorted set, member ``"<kind>:<id>"``, score = planned time (epoch ms); for a
  heartbeat, its next deadline.
- ``upcron:spec``: hash, member → how to compute the next due time (interval and, for a
  monitor, its phase; or cron + zone), so a tick never queries SQL. Heartbeats have none: a
  dispatched deadline leaves the set, and the worker that evaluated it sets the next one.
- ``upcron:pending``: sorted set, member = slot ``"<kind>:<id>@<planned ms>"``, score = lease
  expiry (epoch ms). A slot stays here from dispatch until its results are committed; a
  worker holding it renews the lease, so a slot whose lease runs out belonged to a worker
  that died and is dispatched again.
- ``upcron:pending:job``: hash, slot → ``"<RQ job id>|<attempt>"``: which batch carries it.
- ``upcron:slot:<slot>``: set-once marker; a slot is enqueued at most once by dispatch.

Kinds: ``m`` uptime monitor, ``c`` cron job, ``h`` heartbeat deadline.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import redis
import sqlalchemy as sa
from rq.job import Job, JobStatus

from app import metrics
from app.engine import queues, schedule, state
from app.extensions import db, redis_client
from app.models import CronJob, Monitor
from app.models.monitor import KIND_HEARTBEAT

log = logging.getLogger(__name__)

KEY_DUE = "upcron:due"
KEY_SPEC = "upcron:spec"
KEY_PENDING = "upcron:pending"
KEY_PENDING_JOB = "upcron:pending:job"
KEY_BUILT = "upcron:built"
KEY_LEADER = "upcron:scheduler:leader"
KEY_STATUS = "upcron:scheduler:status"
SLOT_PREFIX = "upcron:slot:"

KIND_MONITOR = "m"
KIND_CRON = "c"
KIND_DEADLINE = "h"
_KIND_OF = {"monitor": KIND_MONITOR, "cron_job": KIND_CRON, "heartbeat": KIND_DEADLINE}
_KIND_NAME = {letter: name for name, letter in _KIND_OF.items()}
# What a heartbeat's deadline depends on: read as plain columns, never as an ORM object,
# because every ping refreshes it.
_HEARTBEAT_COLUMNS = (
    Monitor.id,
    Monitor.state,
    Monitor.paused,
    Monitor.last_ping_at,
    Monitor.period_sec,
    Monitor.cron_expr,
    Monitor.timezone,
    Monitor.grace_sec,
    Monitor.last_start_at,
    Monitor.max_run_sec,
)

BATCH_SIZE = 100  # RQ's per-job cost is paid once per this many checks
LONGEST_PROBE_SEC = 300  # the longest cron job timeout
BATCH_TIMEOUT_SEC = LONGEST_PROBE_SEC + 60  # RQ's hard limit for one batch: probe, then record
TAKE_LIMIT = 5000  # due items read per pass; a tick loops until none are left
QUEUED_LEASE_MS = 10 * 60 * 1000  # a batch waiting in the queue is not "lost" for this long
PRUNE_EVERY_SEC = 3600
RECONCILE_EVERY_SEC = 300  # repairs an edit whose refresh() found Redis down
NOTIFY_UPKEEP_EVERY_SEC = 60  # reminders, and alerts whose job was lost
MAX_ATTEMPTS = 3  # dispatches of one slot before it is given up (a batch that keeps crashing)
AT_ONCE = 5  # new or overdue monitors checked in the same second before the rest are spread
_WAITING = (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)

# An item's place in the schedule: (spec, due ms); a heartbeat deadline has no spec, and a
# monitor due "as soon as it can be spread" has no due time yet (``_soon`` gives it one).
Entry = tuple[dict[str, Any] | None, int | None]

# Atomic take-and-requeue. For each due item the caller has computed the next due time from
# the planned one; the item moves only if its score is still the one the caller read (another
# scheduler, or an edit, may have moved it). The slot marker makes a slot dispatchable once,
# even across a leader change. Returns the members this call won.
_TAKE = """
local won = {}
for i = 3, #ARGV, 3 do
  local member, old, new = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local current = redis.call('ZSCORE', KEYS[1], member)
  if current and tonumber(current) == tonumber(old) then
    if new == '' then
      redis.call('ZREM', KEYS[1], member)
      redis.call('HDEL', KEYS[3], member)
    else
      redis.call('ZADD', KEYS[1], new, member)
    end
    local slot = member .. '@' .. old
    if redis.call('SET', KEYS[4] .. slot, '1', 'NX', 'PX', ARGV[2]) then
      redis.call('ZADD', KEYS[2], ARGV[1], slot)
      table.insert(won, member)
    end
  end
end
return won
"""

# Leader lock renewal: extend only if we still hold it.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int | float) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, UTC)


def slot_id(member: str, planned_ms: int) -> str:
    return f"{member}@{planned_ms}"


# --- what services call ---------------------------------------------------------------------


def _monitor_entry(monitor: Monitor, now: datetime) -> tuple[dict[str, Any], int | None] | None:
    """(spec, next due ms) for an active uptime monitor, None when it must not run.

    The spec carries the monitor's phase (``schedule.phase``), so its checks keep their
    second within the interval. A due of None means "as soon as it can be spread": the
    monitor is new, or its next slot is already past (``_soon``).
    """
    if monitor.kind == KIND_HEARTBEAT or monitor.paused or not (monitor.url or monitor.host):
        return None
    period = monitor.interval_sec * 1000
    spec: dict[str, Any] = {"i": monitor.interval_sec, "p": schedule.phase(monitor.id, period)}
    if monitor.last_checked_at is None:
        return spec, None
    # A check runs at or after its slot, so the first slot after the last check is the one
    # after the slot that check belonged to.
    due = schedule.phased_slot(to_ms(monitor.last_checked_at) + 1, period, spec["p"])
    return spec, (due if due > to_ms(now) else None)


def _soon(monitors: list[tuple[str, dict[str, Any]]], busy: int, now_ms: int) -> dict[str, int]:
    """Due times for new or overdue monitors (member, spec): at once while fewer than
    AT_ONCE items are due within the coming second (``busy`` are already), the rest at their
    catch-up slot, so that a monitor created alone is checked at once but many created or
    overdue together are spread over the coming minute (their interval, when shorter)."""
    room = max(0, AT_ONCE - busy)
    dues: dict[str, int] = {}
    for n, (member, spec) in enumerate(monitors):
        monitor_id = int(member.split(":")[1])
        dues[member] = now_ms if n < room else schedule.catch_up_slot(monitor_id, spec["i"], now_ms)
    return dues


def _cron_entry(job: CronJob, now: datetime) -> tuple[dict[str, Any], int] | None:
    """(spec, next due ms) for an enabled cron job that has a future run, else None."""
    if not job.enabled or (job.expires_at is not None and job.expires_at <= now):
        return None
    spec: dict[str, Any]
    if job.cron_expr is None:
        if job.interval_sec is None:
            log.warning("cron job %s has neither a cron expression nor an interval", job.id)
            return None
        # An interval job keeps its rhythm from its last run (its creation before the first).
        spec = {"i": job.interval_sec}
        anchor = job.last_run_at or job.created_at or now
        due, _ = schedule.next_interval(anchor, job.interval_sec, now)
    else:
        spec = {"e": job.cron_expr, "z": job.timezone}
        try:
            due = schedule.next_run(job.cron_expr, job.timezone, now)
        except schedule.ScheduleError:
            log.warning("cron job %s has an invalid schedule; not scheduled", job.id)
            return None
    if job.expires_at is not None:
        spec["x"] = to_ms(job.expires_at)
    if job.expires_at is not None and due > job.expires_at:
        return None
    return spec, to_ms(due)


def _slot_after(spec: dict[str, Any], moment: datetime) -> datetime:
    """A cron job's first slot after ``moment`` by its spec (interval or cron)."""
    if "i" in spec:
        return moment + timedelta(seconds=spec["i"])
    return schedule.next_run(spec["e"], spec["z"], moment)


def _heartbeat_entry(row, now: datetime) -> tuple[None, int] | None:
    """(no spec, deadline ms) for a heartbeat the clock can move, else None.

    A deadline already past is due now, under a fresh slot: a deadline once dispatched and
    then set again (an edit undone) would otherwise meet its used slot marker and be dropped.
    """
    try:
        deadline = state.heartbeat_deadline(row)
    except schedule.ScheduleError:
        log.warning("heartbeat %s has an invalid schedule; not watched", row.id)
        return None
    return None if deadline is None else (None, to_ms(max(deadline, now)))


def refresh(kind: str, subject_id: int, row=None, not_before: datetime | None = None) -> None:
    """Make the scheduler see a created, changed, paused or deleted item within a tick, or a
    heartbeat's new deadline after a ping or an evaluation.

    ``not_before``: a heartbeat's deadline is evaluated no earlier (the end of a maintenance
    window that held it back; evaluating it again within the window would change nothing).

    Writes the item's due time straight into Redis. Never raises: with Redis down the
    change is in SQL already, and the scheduler rebuilds from SQL when Redis returns.
    ``row``: a heartbeat's columns as just committed, which spares reading them again (the
    ping path).
    """
    member = f"{_KIND_OF[kind]}:{subject_id}"
    now = datetime.now(UTC)
    if row is None:
        if kind == "monitor":
            row = db.session.get(Monitor, subject_id)
        elif kind == "heartbeat":
            row = db.session.execute(
                sa.select(*_HEARTBEAT_COLUMNS).where(
                    Monitor.id == subject_id, Monitor.kind == KIND_HEARTBEAT
                )
            ).one_or_none()
        else:
            row = db.session.get(CronJob, subject_id)
        # End the read: on SQLite every transaction holds the write lock until it ends.
        db.session.commit()
    entry: Entry | None
    if row is None:
        entry = None
    elif kind == "monitor":
        entry = _monitor_entry(row, now)
    elif kind == "heartbeat":
        entry = _heartbeat_entry(row, now)
        if entry is not None and not_before is not None:
            entry = (None, max(entry[1], to_ms(not_before)))
    else:
        entry = _cron_entry(row, now)
    due = None if entry is None else entry[1]
    try:
        if kind == "heartbeat":
            # A deadline has no spec beside it: one command does (every ping comes here).
            if due is None:
                redis_client.conn.zrem(KEY_DUE, member)
            else:
                redis_client.conn.zadd(KEY_DUE, {member: due})
            return
        if entry is not None and due is None and entry[0] is not None:
            now_ms = to_ms(now)
            busy = cast(int, redis_client.conn.zcount(KEY_DUE, "-inf", now_ms + 999))
            due = _soon([(member, entry[0])], busy, now_ms)[member]
        with redis_client.conn.pipeline(transaction=True) as pipe:
            if entry is None or due is None:
                pipe.zrem(KEY_DUE, member)
                pipe.hdel(KEY_SPEC, member)
            else:
                pipe.hset(KEY_SPEC, member, json.dumps(entry[0]))
                pipe.zadd(KEY_DUE, {member: due})
            pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not update the schedule of %s (%s); it follows on rebuild", member, exc)


def check_by(moments: dict[int, datetime]) -> None:
    """Check each uptime monitor (by id) at its moment if it is not due before then: the end
    of the maintenance window that held its results back, so that it is judged afresh as the
    window ends rather than at its next check after. Only moves an item that is scheduled
    (not a paused one), and only earlier; one round trip for a whole batch. Never raises,
    like ``refresh``."""
    if not moments:
        return
    prefix = _KIND_OF["monitor"]
    try:
        with redis_client.conn.pipeline(transaction=False) as pipe:
            for monitor_id, moment in moments.items():
                pipe.zadd(KEY_DUE, {f"{prefix}:{monitor_id}": to_ms(moment)}, xx=True, lt=True)
            pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not move the next check of %d monitors (%s)", len(moments), exc)


def run_now(cron_job_id: int) -> datetime:
    """Enqueue one immediate execution of a cron job (a "run now" click or API call)."""
    now = datetime.now(UTC)
    planned = to_ms(now)
    item = [KIND_CRON, cron_job_id, planned, 0, "manual"]
    _enqueue_batches(redis_client.conn, [item], lease_ms=Scheduler.lease_ms_default)
    return from_ms(planned)


def status() -> dict:
    """The current leader and its last tick, for the system page."""
    conn = redis_client.conn
    status = cast(dict[bytes, bytes], conn.hgetall(KEY_STATUS))
    data = {k.decode(): v.decode() for k, v in status.items()}
    leader = cast(bytes | None, conn.get(KEY_LEADER))
    return {
        "leader": leader.decode().split("|")[0] if leader else None,
        "last_tick": from_ms(int(data["last_tick"])) if "last_tick" in data else None,
        "due": conn.zcard(KEY_DUE),
        "pending": conn.zcard(KEY_PENDING),
    }


# --- the leader loop -------------------------------------------------------------------------


def _batch_job_id(items: list, attempt: int) -> str:
    """Deterministic per set of slots (and recovery attempt), so re-enqueuing is visible."""
    slots = ",".join(slot_id(f"{kind}:{sid}", planned) for kind, sid, planned, *_ in items)
    return f"batch-{hashlib.sha1(slots.encode()).hexdigest()[:24]}-{attempt}"


def _enqueue_batches(
    conn, items: list, lease_ms: int, attempt: int = 0, leased: bool = False
) -> int:
    """Enqueue ``items`` as RQ batches of BATCH_SIZE, recording which batch holds each slot
    and (unless dispatch ``leased`` them already, atomically) their lease, in one round trip."""
    queue = queues.queue(queues.CHECKS)
    now_ms = to_ms(datetime.now(UTC))
    data, owners = [], {}
    for start in range(0, len(items), BATCH_SIZE):
        batch = items[start : start + BATCH_SIZE]
        job_id = _batch_job_id(batch, attempt)
        data.append(
            queue.prepare_data(
                queues.RUN_BATCH,
                args=(batch,),
                kwargs={"lease_ms": lease_ms},
                job_id=job_id,
                timeout=BATCH_TIMEOUT_SEC,
                result_ttl=60,
                failure_ttl=24 * 3600,
            )
        )
        for kind, sid, planned, *_ in batch:
            owners[slot_id(f"{kind}:{sid}", planned)] = f"{job_id}|{attempt}"
    with conn.pipeline() as pipe:
        if not leased:
            pipe.zadd(KEY_PENDING, {slot: now_ms + QUEUED_LEASE_MS for slot in owners})
        pipe.hset(KEY_PENDING_JOB, mapping=owners)
        queue.enqueue_many(data, pipeline=pipe)
        pipe.execute()
    return len(data)


@dataclass
class Scheduler:
    """One scheduler process. Many may run; the one holding the Redis lock dispatches."""

    lease_ms_default = 45_000

    conn: redis.Redis
    tick_sec: float = 0.25
    lock_ttl_ms: int = 10_000
    lease_ms: int = lease_ms_default
    recover_every_sec: float = 10.0
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    is_leader: bool = False
    dispatched: int = 0
    _last_recover: float = 0.0
    _last_prune: float = 0.0
    _last_reconcile: float = 0.0
    _last_notify_upkeep: float = 0.0

    def __post_init__(self):
        self._take = self.conn.register_script(_TAKE)
        self._renew = self.conn.register_script(_RENEW)
        self._release = self.conn.register_script(_RELEASE)

    # leadership

    def hold_lock(self) -> bool:
        """Take the lock if free, renew it if ours; False when another scheduler leads."""
        value = f"{self.name}|{self.token}"
        if self.is_leader and self._renew(keys=[KEY_LEADER], args=[value, self.lock_ttl_ms]):
            return True
        was_leader = self.is_leader
        self.is_leader = bool(self.conn.set(KEY_LEADER, value, nx=True, px=self.lock_ttl_ms))
        if self.is_leader:
            # Taken afresh, or taken back by a leader whose lock ran out while it stalled
            # (a suspended machine): either way what fell due meanwhile is spread again by
            # the rebuild rather than dispatched in one burst.
            log.info("%s is now the scheduler leader", self.name)
            self.rebuild(reset=not self.conn.exists(KEY_BUILT))
            self._last_reconcile = time.monotonic()
        elif was_leader:
            log.warning("%s lost the scheduler lock", self.name)
        return self.is_leader

    def release(self) -> None:
        if self.is_leader:
            self._release(keys=[KEY_LEADER], args=[f"{self.name}|{self.token}"])
            self.is_leader = False

    def run(self, stop) -> None:
        """Loop until ``stop`` (a threading.Event) is set; survives Redis outages."""
        while not stop.is_set():
            try:
                if self.hold_lock():
                    self.tick()
            except redis.RedisError as exc:
                self.is_leader = False
                log.warning("scheduler: Redis unavailable (%s); retrying", exc)
                stop.wait(1.0)
            except Exception:
                log.exception("scheduler tick failed")
                stop.wait(1.0)
            finally:
                db.session.remove()
            stop.wait(self.tick_sec)
        try:
            self.release()
        except redis.RedisError:
            pass

    # one tick

    def tick(self, now: datetime | None = None) -> int:
        """Rebuild if Redis lost our state, dispatch what is due, recover lost batches."""
        now = now or datetime.now(UTC)
        if not self.conn.exists(KEY_BUILT):
            self.rebuild(now)
        count = 0
        while True:
            taken = self.dispatch_due(now)
            count += taken
            if taken < TAKE_LIMIT:
                break
        monotonic = time.monotonic()
        if monotonic - self._last_recover >= self.recover_every_sec:
            self._last_recover = monotonic
            self.recover_stale(now)
        if monotonic - self._last_reconcile >= RECONCILE_EVERY_SEC:
            self._last_reconcile = monotonic
            self.rebuild(now, reset=False)
        if monotonic - self._last_prune >= PRUNE_EVERY_SEC:
            self._last_prune = monotonic
            self._enqueue_prune(now)
        if monotonic - self._last_notify_upkeep >= NOTIFY_UPKEEP_EVERY_SEC:
            self._last_notify_upkeep = monotonic
            self._enqueue_notify_upkeep(now)
        self.conn.hset(KEY_STATUS, mapping={"leader": self.name, "last_tick": to_ms(now)})
        self.dispatched += count
        return count

    def rebuild(self, now: datetime | None = None, reset: bool = True) -> int:
        """Recompute the due set from SQL.

        ``reset`` (Redis lost our state): every due time is recomputed. Otherwise (a new
        leader, and every few minutes) it reconciles: items missing from Redis are added,
        items gone from SQL removed, and due times already in Redis are kept, so a leader
        change causes no extra checks. Either way a monitor that is new or fell due while
        nothing ran is placed by ``_soon``: checked once, soon, and spread, then back on its
        phase; monitors on time simply keep their phase.
        """
        now = now or datetime.now(UTC)
        now_ms = to_ms(now)
        # Read Redis before SQL: an item created after the SQL read is then never taken
        # for one that is gone.
        known = (
            {}
            if reset
            else {
                m.decode(): int(s)
                for m, s in cast(
                    list[tuple[bytes, float]], self.conn.zrange(KEY_DUE, 0, -1, withscores=True)
                )
            }
        )
        entries = self._entries_from_sql(now)
        stale = set(known) - set(entries)
        overdue = {
            m for m, score in known.items() if m.startswith(f"{KIND_MONITOR}:") and score <= now_ms
        }
        placed = {m: due for m, (_, due) in entries.items() if m not in known or m in overdue}
        busy = sum(
            1
            for due in [*placed.values(), *(known[m] for m in set(known) - overdue - stale)]
            if due is not None and due < now_ms + 1000
        )
        late = [(m, spec) for m, due in placed.items() if due is None and (spec := entries[m][0])]
        dues = {m: due for m, due in placed.items() if due is not None} | _soon(late, busy, now_ms)
        with self.conn.pipeline(transaction=True) as pipe:
            if reset:
                pipe.delete(KEY_DUE, KEY_SPEC)
            if stale:
                pipe.zrem(KEY_DUE, *stale)
                pipe.hdel(KEY_SPEC, *stale)
            specs = {m: json.dumps(s) for m, (s, _) in entries.items() if s is not None}
            if specs:
                pipe.hset(KEY_SPEC, mapping=specs)
            if dues:
                pipe.zadd(KEY_DUE, dues)
            pipe.set(KEY_BUILT, now_ms)
            pipe.execute()
        log.info(
            "schedule %s from SQL: %d items", "rebuilt" if reset else "reconciled", len(entries)
        )
        return len(entries)

    def _entries_from_sql(self, now: datetime) -> dict[str, Entry]:
        entries: dict[str, Entry] = {}
        monitors = db.session.execute(
            sa.select(Monitor).where(Monitor.kind != KIND_HEARTBEAT, Monitor.paused.is_(False))
        ).scalars()
        for monitor in monitors:
            if entry := _monitor_entry(monitor, now):
                entries[f"{KIND_MONITOR}:{monitor.id}"] = entry
        cron_jobs = db.session.execute(sa.select(CronJob).where(CronJob.enabled.is_(True)))
        for job in cron_jobs.scalars():
            if entry := _cron_entry(job, now):
                spec, due = entry
                # Resume from the last run (the creation, before the first), so slots missed
                # while Redis was gone are counted (and caught up once) rather than silently
                # skipped: a first slot dispatched and lost with Redis runs too.
                due = min(due, to_ms(_slot_after(spec, job.last_run_at or job.created_at)))
                entries[f"{KIND_CRON}:{job.id}"] = (spec, due)
        heartbeats = db.session.execute(
            sa.select(*_HEARTBEAT_COLUMNS).where(
                Monitor.kind == KIND_HEARTBEAT, Monitor.paused.is_(False)
            )
        )
        for row in heartbeats:
            if deadline := _heartbeat_entry(row, now):
                entries[f"{KIND_DEADLINE}:{row.id}"] = deadline
        db.session.commit()  # ends the read; nothing was changed
        return entries

    def dispatch_due(self, now: datetime) -> int:
        """Take up to TAKE_LIMIT due items atomically, requeue each at its next due time
        (computed from its planned time), and enqueue them as batches."""
        now_ms = to_ms(now)
        due = cast(
            list[tuple[bytes, float]],
            self.conn.zrangebyscore(
                KEY_DUE, "-inf", now_ms, start=0, num=TAKE_LIMIT, withscores=True
            ),
        )
        if not due:
            return 0
        members = [m.decode() for m, _ in due]
        specs = cast(list[bytes | None], self.conn.hmget(KEY_SPEC, members))
        args: list[str | int] = []
        items: dict[str, list] = {}
        # Items sharing a schedule and a planned time (every "* * * * *" job at :00) share
        # the computation of their next due time.
        computed: dict[tuple[bytes | None, int], tuple[int | None, int]] = {}
        for member, (_, score), raw in zip(members, due, specs, strict=True):
            planned_ms = int(score)
            key = (raw, planned_ms)
            if key not in computed:
                computed[key] = _next_due(json.loads(raw) if raw else None, planned_ms, now)
            next_ms, missed = computed[key]
            args += [member, planned_ms, "" if next_ms is None else next_ms]
            kind, sid = member.split(":")
            items[member] = [kind, int(sid), planned_ms, missed, "schedule"]
        won = self._take(
            keys=[KEY_DUE, KEY_PENDING, KEY_SPEC, SLOT_PREFIX],
            args=[now_ms + QUEUED_LEASE_MS, 24 * 3600 * 1000, *args],
        )
        batch = [items[m.decode()] for m in won]
        if batch:
            _enqueue_batches(self.conn, batch, self.lease_ms, leased=True)
        metrics.dispatched((_KIND_NAME[kind], now_ms - planned) for kind, _, planned, *_ in batch)
        return len(due)

    def recover_stale(self, now: datetime) -> int:
        """Dispatch again the slots whose lease ran out: their worker died mid-batch.

        A worker renews the lease of the slots it is running, so an expired lease on a
        started batch means a dead worker. A batch still waiting in the queue only gets
        more time. Results are written idempotently on (subject, planned time), so a slot
        that was in fact recorded before its worker died is recorded once.
        """
        now_ms = to_ms(now)
        expired = self.conn.zrangebyscore(KEY_PENDING, "-inf", now_ms, start=0, num=TAKE_LIMIT)
        stale = [s.decode() for s in cast(list[bytes], expired)]
        if not stale:
            return 0
        owners = [
            _owner(v) for v in cast(list[bytes | None], self.conn.hmget(KEY_PENDING_JOB, stale))
        ]
        job_ids = sorted({job_id for job_id, _ in owners if job_id})
        queued = {
            job.id
            for job in Job.fetch_many(job_ids, connection=self.conn)
            if job is not None and job.get_status(refresh=False) in _WAITING
        }
        waiting: list[str] = []
        dropped: list[str] = []
        retry: dict[int, list[list]] = {}
        for slot, (job_id, attempt) in zip(stale, owners, strict=True):
            if job_id in queued:
                waiting.append(slot)
            elif attempt >= MAX_ATTEMPTS:
                dropped.append(slot)
            else:
                member, planned = slot.rsplit("@", 1)
                kind, sid = member.split(":")
                item = [kind, int(sid), int(planned), 0, "recovered"]
                retry.setdefault(attempt + 1, []).append(item)
        with self.conn.pipeline() as pipe:
            if waiting:
                pipe.zadd(KEY_PENDING, {slot: now_ms + QUEUED_LEASE_MS for slot in waiting})
            if dropped:
                pipe.zrem(KEY_PENDING, *dropped)
                pipe.hdel(KEY_PENDING_JOB, *dropped)
            pipe.execute()
        for attempt, items in retry.items():
            _enqueue_batches(self.conn, items, self.lease_ms, attempt=attempt)
        if dropped:
            log.error(
                "gave up on %d slots after %d attempts: %s",
                len(dropped),
                MAX_ATTEMPTS,
                ", ".join(dropped[:10]),
            )
        count = sum(len(items) for items in retry.values())
        if count:
            log.warning("re-dispatched %d slots whose worker stopped renewing them", count)
        return count

    def _enqueue_prune(self, now: datetime) -> None:
        queues.queue(queues.MAINTENANCE).enqueue(
            queues.PRUNE_HISTORY, job_id=f"prune-{now:%Y%m%d%H}", result_ttl=3600
        )

    def _enqueue_notify_upkeep(self, now: datetime) -> None:
        queues.queue(queues.MAINTENANCE).enqueue(
            queues.SEND_DUE_NOTIFICATIONS, job_id=f"notify-upkeep-{now:%Y%m%d%H%M}", result_ttl=600
        )


def _owner(value: bytes | None) -> tuple[str, int]:
    """(RQ job id, attempt) of a slot from ``upcron:pending:job``; ("", 0) when unknown."""
    if not value:
        return "", 0
    job_id, attempt = value.decode().split("|")
    return job_id, int(attempt)


def _next_due(
    spec: dict[str, Any] | None, planned_ms: int, now: datetime
) -> tuple[int | None, int]:
    """(next due ms or None to drop the item, slots missed) from an item's spec; an item
    without one (a heartbeat deadline) is dropped."""
    if spec is None:
        return None, 0
    planned = from_ms(planned_ms)
    if "p" in spec:  # an uptime monitor, on its phase
        next_ms, missed = schedule.next_phased(planned_ms, spec["i"], spec["p"], to_ms(now))
        next_due = from_ms(next_ms)
    elif "i" in spec:
        next_due, missed = schedule.next_interval(planned, spec["i"], now)
    else:
        next_due, missed = schedule.next_run(spec["e"], spec["z"], planned), 0
        if next_due <= now:  # we are behind: skip to the future, counting what was skipped
            missed = schedule.slots_between(spec["e"], spec["z"], planned, now)
            next_due = schedule.next_run(spec["e"], spec["z"], now)
    expires = spec.get("x")
    if expires is not None and to_ms(next_due) > expires:
        return None, missed
    return to_ms(next_due), missed
