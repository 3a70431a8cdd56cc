"""Ping throughput through gunicorn (2 workers, as `upcron web` runs it) on loopback.

The same server, in the same run, also serves a trivial Flask route that does nothing; the
ratio of the two rates says what recording a ping costs over Flask and gunicorn themselves.
Every ping is a success ping to one of 1,000 heartbeats (each one locks the heartbeat's row,
checks the rate limit, inserts the ping, adds to the day's rollup and updates the heartbeat)
under the default rate limit of 60 per code and minute. Before the rounds, each heartbeat
gets its first ping, which moves it from new to up (through the ORM session, as every change
of state does) and writes its deadline to Redis: a heartbeat has one such ping in its life,
so the rounds measure the pings that follow, as nearly every ping of a healthy job is.
Afterwards the pings stored in the database are counted: every ping answered 200 must be
there.

Two more routes show what any way of recording a ping pays on this machine and database
(bench/_pings_wsgi.py): one round trip to the database (``SELECT 1``), which every ping
makes, and one ping row stored by an INSERT committed on its own, the least a lone ping
writes (a ping also locks its heartbeat's row and writes its rollup and its state; pings
that come together share a commit). Their ratios to the trivial route are the floors
printed beside the ping's.

The load comes from one asyncio process holding 32 keep-alive connections, 16 on each
worker, used by every route in turn. No scheduler and no workers run: a ping must not need
them. Each route's round also reports the CPU time the gunicorn workers spent per request,
and the whole machine's (every process, the database server's too, when it runs here).

Run: `make bench` or `.venv/bin/python bench/pings.py` (uses UPCRON_REDIS_URL or an embedded
Redis, and UPCRON_DATABASE_URL or a throwaway SQLite file). `--database URL` names the
database instead, such as `--database postgresql://postgres@127.0.0.1:5432/bench`: an
empty one, since every ping stored there is counted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import cpu_seconds, embedded_redis, free_port, percentile  # noqa: E402

HEARTBEATS = 1000
CONNECTIONS = 32
PHASE_SEC = 5.0
# Rounds alternate the two routes, so a slow spell of the machine hits both alike; the
# figures reported are the medians over the rounds.
ROUNDS = 3
TRIVIAL = "/_bench/trivial"
# The floors, in the order they are reported: (name, path).
FLOORS = (("round trip", "/_bench/round-trip"), ("insert", "/_bench/insert"))


def prepare(env: dict) -> list[str]:
    """Migrate the database and create the heartbeats; return their ping paths."""
    from flask_migrate import upgrade

    from app import create_app
    from app.services import monitors

    app = create_app()
    with app.app_context():
        upgrade()
        codes = [
            monitors.create({"kind": "heartbeat", "name": f"job {n}", "period_sec": 3600}).code
            for n in range(HEARTBEATS)
        ]
        monitors.create({"kind": "heartbeat", "name": "floor", "period_sec": 3600})
    return [f"/ping/{code}" for code in codes]


def start_server(port: int, env: dict, config: dict) -> subprocess.Popen:
    """gunicorn as `upcron web` starts it with ``config`` (the settings from the
    environment), on ``port`` with 2 workers."""
    from app.processes import PROJECT_ROOT, gunicorn_argv

    argv = gunicorn_argv({**config, "HOST": "127.0.0.1", "PORT": port, "WEB_WORKERS": 2})
    argv[-1] = "bench._pings_wsgi:app"
    # The benchmark's connections wait while the others are spread (see connect).
    argv[-1:-1] = ["--keep-alive", "60"]
    process = subprocess.Popen(
        argv, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /_bench/trivial HTTP/1.1\r\nHost: bench\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("gunicorn did not start")


async def _request(reader, writer, path: str) -> tuple[int, bytes]:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: b\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return int(head[9:12]), await reader.readexactly(length)


async def connect(port: int) -> list:
    """CONNECTIONS keep-alive connections, half of them served by each worker.

    Both workers accept from one listening socket, and whichever wakes first takes the
    connection: left to chance, one worker sometimes takes nearly all of them, and the round
    measures one process, not two. The trivial route answers with its worker's pid, so a
    connection that lands on a worker that already has its half is closed and opened again,
    as a load balancer in front of the workers would spread them.
    """
    per_worker: dict[bytes, int] = {}
    connections = []
    for _ in range(100 * CONNECTIONS):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        _, pid = await _request(reader, writer, TRIVIAL)
        if per_worker.get(pid, 0) < CONNECTIONS // 2:
            per_worker[pid] = per_worker.get(pid, 0) + 1
            connections.append((reader, writer))
            if len(connections) == CONNECTIONS:
                return connections
        else:
            writer.close()
    raise SystemExit(f"could not spread {CONNECTIONS} connections over the workers")


async def _client(connection, paths, stop_at: float, latencies: list, statuses: dict) -> None:
    reader, writer = connection
    while time.perf_counter() < stop_at:
        path = next(paths)
        started = time.perf_counter()
        status, _ = await _request(reader, writer, path)
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1


def machine_cpu() -> float:
    """CPU seconds the whole machine spent busy so far, over all cores (Linux /proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    idle, iowait = int(fields[3]), int(fields[4])
    return (sum(int(f) for f in fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def server_cpu(server: subprocess.Popen) -> float:
    """CPU seconds used so far by gunicorn's worker processes (Linux /proc)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return sum(cpu_seconds(int(child)) for child in children)


async def phase(connections: list, paths: list[str], seconds: float, server) -> dict:
    """Send requests over the keep-alive connections for ``seconds``."""

    def cycle():
        while True:
            yield from paths

    shared = cycle()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    cpu, machine = server_cpu(server), machine_cpu()
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(
        *(_client(connection, shared, stop_at, latencies, statuses) for connection in connections)
    )
    elapsed = time.perf_counter() - started
    cpu, machine = server_cpu(server) - cpu, machine_cpu() - machine
    return {
        "requests": len(latencies),
        "rate": len(latencies) / elapsed,
        "cpu_ms": cpu / len(latencies) * 1000,
        "machine_ms": machine / len(latencies) * 1000,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "statuses": statuses,
    }


async def first_pings(connections: list, paths: list[str]) -> dict[int, int]:
    """Send each of ``paths`` once, over all the connections at once; the statuses."""
    todo = iter(paths)  # shared: each client takes the next path
    statuses: dict[int, int] = {}

    async def client(connection) -> None:
        reader, writer = connection
        for path in todo:
            status, _ = await _request(reader, writer, path)
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(client(connection) for connection in connections))
    return statuses


async def measure(port: int, paths: list[str], server) -> tuple[dict, list[dict[str, dict]]]:
    """ROUNDS rounds of every route over one set of connections: the same two workers serve
    the same connections for all. Returns the statuses of the heartbeats' first pings, and
    the rounds, each mapping a route's name to its figures."""
    connections = await connect(port)
    routes = {"trivial route": [TRIVIAL], **{n: [path] for n, path in FLOORS}, "pings": paths}
    try:
        await phase(connections, [TRIVIAL], 1.0, server)  # warm up the workers
        for _, path in FLOORS:  # and open each thread's connection
            await phase(connections, [path], 0.5, server)
        first = await first_pings(connections, paths)
        rounds = []
        for _ in range(ROUNDS):
            rounds.append(
                {name: await phase(connections, p, PHASE_SEC, server) for name, p in routes.items()}
            )
        return first, rounds
    finally:
        for _, writer in connections:
            writer.close()


def stored_pings() -> int:
    """How many pings the heartbeats have stored (the floor's rows aside)."""
    import sqlalchemy as sa

    from app import create_app
    from app.extensions import db
    from app.models import Monitor, Ping

    with create_app().app_context():
        query = sa.select(sa.func.count(Ping.id)).join(Monitor).where(Monitor.name != "floor")
        return db.session.scalar(query)


def main() -> None:
    parser = argparse.ArgumentParser(description="Ping throughput against a trivial route.")
    parser.add_argument("--database", help="database URL (default: UPCRON_DATABASE_URL)")
    database_url = parser.parse_args().database
    if database_url:
        os.environ["UPCRON_DATABASE_URL"] = database_url

    from app.config import load

    instance = tempfile.mkdtemp(prefix="upcron-bench-")
    os.environ["UPCRON_INSTANCE_DIR"] = instance
    os.environ.setdefault("UPCRON_SECRET_KEY", "bench-secret-key-long-enough")
    with embedded_redis() as redis_url:
        os.environ["UPCRON_REDIS_URL"] = redis_url
        env = dict(os.environ)
        config = load()
        paths = prepare(env)
        port = free_port()
        server = start_server(port, env, config)
        try:
            first, rounds = asyncio.run(measure(port, paths, server))
        finally:
            server.terminate()
            server.wait(30)
        stored = stored_pings()
    url = os.environ.get("UPCRON_DATABASE_URL", "sqlite")
    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"first pings, one to each heartbeat: statuses {first}")
    for number, round_ in enumerate(rounds, 1):
        for name, r in round_.items():
            print(
                f"round {number} {name:>13}: {r['rate']:7.0f} req/s over {r['requests']} requests"
                f" (p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, CPU per request: "
                f"server {r['cpu_ms']:.2f} ms, machine {r['machine_ms']:.2f} ms), "
                f"statuses {r['statuses']}"
            )
    sent = len(paths) + sum(r["pings"]["requests"] for r in rounds)
    answered = first.get(200, 0) + sum(r["pings"]["statuses"].get(200, 0) for r in rounds)

    def ratio(name: str) -> float:
        return statistics.median(r[name]["rate"] / r["trivial route"]["rate"] for r in rounds)

    ping_rate = statistics.median(r["pings"]["rate"] for r in rounds)
    floors = ", ".join(f"{name} {ratio(name):.2f}" for name, _ in FLOORS)
    print(
        f"median over {ROUNDS} rounds: pings {ping_rate:.0f}/s, ping/trivial ratio "
        f"{ratio('pings'):.2f} (floors: {floors}); pings sent {sent}, answered 200 {answered}, "
        f"stored {stored} ({database}, gunicorn 2 workers x 4 threads, CPU affinity "
        f"{config['WEB_CPU_AFFINITY']}, {CONNECTIONS} connections)"
    )
    if stored != sent or answered != sent:
        raise SystemExit("pings were lost")


if __name__ == "__main__":
    main()
