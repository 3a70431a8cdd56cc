"""The web app exactly as `upcron web` serves it, plus the routes bench/pings.py compares
pings with.

The routes' endpoints sit under the ping blueprint's name, so they pass the same request
hooks as a ping (no first-run setup check, no CSRF) and only the ping's own work differs:

- /_bench/trivial does nothing and answers with its worker's pid, by which the benchmark
  spreads its connections over the workers;
- /_bench/round-trip asks the database for ``SELECT 1``: the least any request that touches
  the database does;
- /_bench/insert stores one ping row (to the heartbeat the benchmark names ``floor``) with a
  single INSERT committed on its own: the least a request that stores something durably
  does, without a lookup, a lock, a rule or a rollup.

The last two run on a DBAPI connection of the app's engine kept by each thread, in autocommit
mode, so that they cost a statement and nothing of SQLAlchemy's.
"""

import os
import threading

from app import create_app
from app.extensions import db

app = create_app()
_local = threading.local()


def _answer(text: str):
    return text, 200, {"Content-Type": "text/plain; charset=utf-8"}


def _trivial():
    return _answer(str(os.getpid()))


def _cursor():
    if not hasattr(_local, "cursor"):
        connection = db.engine.raw_connection()
        connection.detach()
        if db.engine.dialect.name == "postgresql":
            connection.dbapi_connection.autocommit = True
        # SQLite's connections are in autocommit mode already (app.extensions)
        _local.cursor = connection.dbapi_connection.cursor()
        _local.cursor.execute("SELECT id FROM monitors WHERE name = 'floor'")
        _local.floor_id = int(_local.cursor.fetchone()[0])
    return _local.cursor


def _round_trip():
    cursor = _cursor()
    cursor.execute("SELECT 1")
    cursor.fetchone()
    return _answer("OK")


def _insert():
    cursor = _cursor()
    cursor.execute(
        "INSERT INTO pings (monitor_id, created_at, kind, method, user_agent, body_size)"
        f" VALUES ({_local.floor_id}, CURRENT_TIMESTAMP, 'success', 'GET', 'b', 0)"
    )
    return _answer("OK")


app.add_url_rule("/_bench/trivial", endpoint="ping.bench_trivial", view_func=_trivial)
app.add_url_rule("/_bench/round-trip", endpoint="ping.bench_round_trip", view_func=_round_trip)
app.add_url_rule("/_bench/insert", endpoint="ping.bench_insert", view_func=_insert)
