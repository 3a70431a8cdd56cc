"""gunicorn server hooks for `upcron web`: each worker process kept on one CPU.

A gthread worker passes every request between its threads: the thread watching the
connections hands it to a request thread, a ping's thread waits for the one writing its
group commit (app.services.pings), and all of them take turns at the GIL. Left to the
kernel, those threads sit on different CPUs, and each handoff wakes a thread on another
CPU, by an interrupt between processors, which is dear on a virtual machine. Pinned, a
worker's threads wake each other on the CPU they share; under the GIL they ran one at a
time anyway. On 2 virtual CPUs this raised bench/pings.py's pings by about a third, the
trivial route unchanged (figures in docs/operations.md).

The CPUs are the ones the server itself may run on (taskset, container cpusets), dealt out
in turn; a worker that replaces a dead one takes the CPU the fewest live workers have.
UPCRON_WEB_CPU_AFFINITY=none leaves placement to the kernel (app.processes leaves these
hooks out).
"""

from __future__ import annotations

import os


def pre_fork(server, worker) -> None:
    """In the master, before the fork: choose the new worker's CPU."""
    taken = [getattr(sibling, "cpu", None) for sibling in server.WORKERS.values()]
    worker.cpu = min(sorted(os.sched_getaffinity(0)), key=taken.count)


def post_fork(server, worker) -> None:
    """In the new worker, before it starts any thread (they inherit it): move to its CPU."""
    os.sched_setaffinity(0, {worker.cpu})
