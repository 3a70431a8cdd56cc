"""The `upcron` command: run the whole stack or one process of it (here), and manage data
(app.admin_commands, loaded only for those commands)."""

from __future__ import annotations

import http.client
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import click
import redis
from flask import current_app
from flask.cli import FlaskGroup

from app import config as config_module
from app import create_app, logs, metrics
from app.config import PROJECT_ROOT
from app.processes import (
    GaveUp,
    Supervisor,
    claim_instance,
    embedded_redis_argv,
    gunicorn_argv,
    listening_socket,
    stop_stale_redis,
)


class Commands(FlaskGroup):
    """Upcron's commands. Those that manage data live in app.admin_commands, imported at the
    first use of a command not defined here: `upcron up` supervises for as long as the
    install runs, and the app and services those commands load would be some 50 MiB of its
    memory all that time (bench/memory.py)."""

    def get_command(self, ctx, name):
        if name not in self.commands:
            import app.admin_commands  # noqa: F401  (it adds its commands to cli)
        return super().get_command(ctx, name)

    def list_commands(self, ctx):
        import app.admin_commands  # noqa: F401

        return super().list_commands(ctx)


cli = Commands(
    create_app=lambda: create_app(),
    add_default_commands=False,
    load_dotenv=False,
    set_debug_flag=False,
    help="Upcron: uptime monitors, HTTP cron jobs and heartbeats. Settings come from "
    "UPCRON_* environment variables (see the README).",
)
# Flask's own options (--app, --env-file, --debug, --version) make no sense for Upcron.
cli.params = [p for p in cli.params if p.name not in {"app", "env_file", "debug", "version"}]


def main() -> None:
    """Console entry point: refuse bad settings with one line before anything starts."""
    try:
        config_module.load()
    except config_module.ConfigError as exc:
        sys.exit(f"upcron: {exc}")
    cli.main(prog_name="upcron")


@cli.command(with_appcontext=False)
def up():
    """Run everything on this machine: Redis (embedded if needed), web, scheduler, workers."""
    config = config_module.load()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())

    supervisor = Supervisor()
    _log_through(supervisor)
    env = dict(os.environ)
    code = 0
    instance_lock = listener = None
    try:
        if config["REDIS_EMBEDDED"]:
            instance_lock = _claim_instance(config["INSTANCE_DIR"])
            _start_embedded_redis(supervisor, config)
            env["UPCRON_REDIS_URL"] = config["REDIS_URL"]
        # Before any child imports prometheus_client: every process then writes its figures
        # where /metrics adds them up; those of an earlier run are dropped (app.metrics).
        env["PROMETHEUS_MULTIPROC_DIR"] = metrics.empty_directory(
            str(Path(config["INSTANCE_DIR"]) / "metrics")
        )
        supervisor.say("upcron", "migrating the database")
        _migrate(supervisor, env)
        listener = _listen(config)
        bind = f"fd://{listener.fileno()}"
        supervisor.start("web", gunicorn_argv(config, bind), env, pass_fds=(listener.fileno(),))
        supervisor.start("scheduler", [sys.executable, "-m", "app", "scheduler"], env)
        for n in range(1, config["WORKERS"] + 1):
            supervisor.start(f"worker.{n}", [sys.executable, "-m", "app", "worker"], env)
        banner = _banner(config) if _wait_until_serving(config, stop, supervisor) else []
        # The banner waits until every child has started and its start-up lines have
        # settled (a minute at the most, for a machine busy with other work), so it is the
        # last thing on screen.
        banner_by = time.monotonic() + 60
        conn = redis.Redis.from_url(config["REDIS_URL"], socket_timeout=2)
        while not stop.is_set():
            supervisor.heal()
            if banner and (
                (supervisor.quiet_for(1) and _started(conn, config["WORKERS"]))
                or time.monotonic() > banner_by
            ):
                for line in banner:
                    supervisor.say("upcron", line)
                banner = []
                conn.close()
            stop.wait(0.2)
    except GaveUp as exc:
        supervisor.say("upcron", str(exc))
        code = 1
    except click.ClickException:
        code = 1
        raise
    finally:
        supervisor.say("upcron", "stopping")
        supervisor.stop()
        supervisor.say("upcron", "stopped")
        for held in (listener, instance_lock):
            if held:
                held.close()
    sys.exit(code)


def _banner(config) -> list[str]:
    """What a newcomer needs once everything answers: where, what is kept where, how to stop."""
    # Read without SQLAlchemy, which this process does not load.
    uri = config["SQLALCHEMY_DATABASE_URI"]
    database = urlsplit(uri)
    if database.scheme == "sqlite":
        data = f"SQLite database {uri[len('sqlite:///') :]}"
    elif database.password is not None:
        data = uri.replace(f":{database.password}@", ":***@", 1)
    else:
        data = uri
    access = {
        "-": "on, here (UPCRON_ACCESS_LOG=off or a file path)",
        None: "off (UPCRON_ACCESS_LOG=on shows each request here)",
    }.get(config["ACCESS_LOG"], config["ACCESS_LOG"])
    return [
        f"Upcron is running at {config['BASE_URL']}",
        f"  data:       {data}",
        f"  access log: {access}",
        "  stop:       Ctrl-C",
    ]


def _log_through(supervisor: Supervisor) -> None:
    """Our own log lines (migrations…) get the same prefixed format as the children's."""

    class Handler(logging.Handler):
        def emit(self, record):
            supervisor.say("upcron", self.format(record))

    handler = Handler()
    handler.setFormatter(logging.Formatter(logs.FORMAT))
    handler.addFilter(logs.REDACT)
    logging.getLogger().handlers[:] = [handler]


def _listen(config):
    try:
        return listening_socket(config["HOST"], config["PORT"])
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {config['HOST']}:{config['PORT']}: {exc.strerror or exc}"
        ) from None


def _claim_instance(directory: str):
    """The instance lock of this `up`: it tells the embedded Redis a dead `up` left behind
    from one that a running `up` uses."""
    lock = claim_instance(directory)
    if lock is None:
        raise click.ClickException(
            f"another `upcron up` is running with the instance folder {directory}: stop it, "
            "or set UPCRON_INSTANCE_DIR"
        )
    return lock


def _start_embedded_redis(supervisor: Supervisor, config) -> None:
    socket_path = config["REDIS_URL"][len("unix://") :]
    pidfile = Path(config["INSTANCE_DIR"]) / "redis.pid"
    stale = stop_stale_redis(pidfile, socket_path)
    if stale:
        supervisor.say("upcron", f"stopped the embedded Redis (pid {stale}) of an earlier run")
    conn = redis.Redis(unix_socket_path=socket_path, socket_connect_timeout=1, socket_timeout=1)
    if Path(socket_path).exists():
        try:
            conn.ping()
        except redis.RedisError:
            Path(socket_path).unlink()  # left by a Redis that was killed
        else:
            raise click.ClickException(
                f"a Redis that `upcron up` did not start answers on {socket_path}: "
                "stop it, or set UPCRON_INSTANCE_DIR"
            )
    supervisor.start(
        "redis",
        embedded_redis_argv(
            socket_path, config["INSTANCE_DIR"], str(Path(config["INSTANCE_DIR"]) / "redis.log")
        ),
        tier=0,
        pidfile=pidfile,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            conn.ping()
            return
        except redis.RedisError:
            time.sleep(0.05)
    raise click.ClickException(f"the embedded Redis did not start on {socket_path}")


def _migrate(supervisor: Supervisor, env: dict) -> None:
    """`upcron db upgrade` in a child process, its lines shown as ours: this process
    supervises the others for as long as they run, and Alembic with the app it loads would
    stay in its memory all that time."""
    result = subprocess.run(
        [sys.executable, "-m", "app", "db", "upgrade"],
        env=env,
        cwd=PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in result.stdout.splitlines():
        supervisor.say("upcron", line)
    if result.returncode:
        raise click.ClickException("the database migration failed (its output is above)")


# Set while a scheduler leads: engine.scheduler.KEY_LEADER, spelled out because `up` does not
# load the engine (some 28 MiB); a test holds the two equal.
LEADER_KEY = "upcron:scheduler:leader"


def _started(conn: redis.Redis, workers: int) -> bool:
    """Whether the workers wait for work and a scheduler leads, as Redis tells (RQ keeps its
    workers in ``rq:workers``): their start-up lines are then behind them."""
    try:
        names = cast(set[bytes], conn.smembers("rq:workers"))  # each a hash of its worker
        idle = sum(conn.hget(name.decode(), "state") == b"idle" for name in names)
        return idle >= workers and bool(conn.exists(LEADER_KEY))
    except redis.RedisError:
        return False


def _wait_until_serving(config, stop: threading.Event, supervisor) -> bool:
    """Wait until the web server answers HTTP (gunicorn binds its port before its workers
    have loaded the app, so an open port is not yet a working site)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not stop.is_set():
        supervisor.heal()
        connection = http.client.HTTPConnection(config["HOST"], config["PORT"], timeout=5)
        try:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return True
        except OSError:
            stop.wait(0.2)
        finally:
            connection.close()
    return False


@cli.command("scheduler", with_appcontext=False)
def scheduler_command():
    """Run a scheduler; with several, one leads and the others stand by."""
    from app.engine.scheduler import Scheduler
    from app.extensions import redis_client

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with create_app(web=False, migrations=False).app_context():
        Scheduler(conn=redis_client.conn).run(stop)


@cli.command()
def web():
    """Serve the web app with gunicorn on UPCRON_HOST:UPCRON_PORT."""
    argv = gunicorn_argv(current_app.config)
    os.execv(argv[0], argv)


@cli.command(with_appcontext=False)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(burst):
    """Run one RQ worker on Upcron's queues (checks, notify, maintenance)."""
    import worker as worker_module

    worker_module.main(burst=burst)
