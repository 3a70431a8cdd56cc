"""gunicorn's side of `upcron web`: its logger, and server hooks keeping each worker on one CPU.

``Logger`` (passed as ``--logger-class``) is gunicorn's own with Upcron's rules: secrets are
redacted (app.logs) in the error log and the access log, and requests for static files and
``/healthz`` leave no access line, since every page's stylesheet and script and a load
balancer's polls would otherwise be most of the file.

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
UPCRON_WEB_CPU_AFFINITY=none leaves placement to the kernel (app.processes then leaves the
hooks, this module as gunicorn's ``--config``, out).
"""

from __future__ import annotations

import os

from gunicorn import glogging

from app import logs

_UNLOGGED_PATHS = ("/healthz",)
_UNLOGGED_PREFIXES = ("/static/",)


class Logger(glogging.Logger):
    """gunicorn's logger, with secrets redacted and no lines for static files and /healthz."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        # On the loggers rather than their handlers: gunicorn writes to these two directly,
        # and replaces their handlers when it reopens its files.
        for log in (self.error_log, self.access_log):
            log.addFilter(logs.REDACT)

    def access(self, resp, req, environ, request_time) -> None:
        path = environ.get("PATH_INFO", "")
        if path in _UNLOGGED_PATHS or path.startswith(_UNLOGGED_PREFIXES):
            return
        super().access(resp, req, environ, request_time)

    def atoms(self, resp, req, environ, request_time) -> dict:
        """The access log format's values. A credential header that an operator logs with
        ``%({authorization}i)s`` or ``%({http_authorization}e)s`` stands there without its
        name, which ``redact`` would go by, so it is masked here."""
        atoms = super().atoms(resp, req, environ, request_time)
        for name in logs.SECRET_HEADERS:
            environ_name = "http_" + name.replace("-", "_")
            for atom in (f"{{{name}}}i", f"{{{environ_name}}}e"):
                if atom in atoms:
                    atoms[atom] = logs.mask_credentials(atoms[atom])
        return atoms


def pre_fork(server, worker) -> None:
    """In the master, before the fork: choose the new worker's CPU."""
    taken = [getattr(sibling, "cpu", None) for sibling in server.WORKERS.values()]
    worker.cpu = min(sorted(os.sched_getaffinity(0)), key=taken.count)


def post_fork(server, worker) -> None:
    """In the new worker, before it starts any thread (they inherit it): move to its CPU."""
    os.sched_setaffinity(0, {worker.cpu})
