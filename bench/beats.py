"""Beat bars at scale: the last 30 checks of every monitor on a page, read at once.

Inserts ``--monitors`` uptime monitors with ``--history`` checks each (one a minute), then
times ``beats.of_monitors`` (one SQL statement for all of the page: see app/services/beats.py)
for pages of 50 and of all the monitors, beside the same read done one query per monitor
for scale, and the overview and monitor list pages (50 rows, beat bars and sparklines
included) through the WSGI test client. Queries are counted at the engine.

Run: `.venv/bin/python bench/beats.py [--monitors 1000] [--history 500] [--runs 20]
[--database-url postgresql://…]` (without it, SQLite in a temporary folder; a PostgreSQL
database given here is emptied first: its public schema is dropped and made again).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import bench_app, embedded_redis, insert_monitors, percentile  # noqa: E402


def populate(monitors: int, history: int) -> None:
    """Monitors with ``history`` checks each, one a minute up to now; one in 20 failed."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import CheckResult, Monitor
    from app.models.types import utcnow

    insert_monitors(monitors, "https://internal.example/health", interval_sec=60)
    now = utcnow().replace(second=0, microsecond=0)
    db.session.execute(sa.update(Monitor).values(state="up", last_checked_at=now))
    rng = random.Random(7)
    batch = []
    for monitor_id in range(1, monitors + 1):
        for k in range(history):
            failed = rng.random() < 0.05
            batch.append(
                {
                    "monitor_id": monitor_id,
                    "planned_at": now - timedelta(minutes=k),
                    "started_at": now - timedelta(minutes=k),
                    "outcome": "failed_http_status" if failed else "ok",
                    "status_code": 500 if failed else 200,
                    "error": "HTTP 500, expected 200-399" if failed else None,
                    "total_us": rng.randint(80_000, 200_000),
                }
            )
            if len(batch) >= 50_000:
                db.session.execute(sa.insert(CheckResult), batch)
                batch = []
    if batch:
        db.session.execute(sa.insert(CheckResult), batch)
    db.session.commit()


def timed(call, runs: int) -> tuple[list[float], int]:
    """Milliseconds of each run of ``call`` and the SQL statements one run makes."""
    import sqlalchemy as sa

    from app.extensions import db

    statements = []

    def count(*_args):
        statements.append(1)

    times = []
    for n in range(runs):
        if n == 0:
            sa.event.listen(db.engine, "before_cursor_execute", count)
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
        if n == 0:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        db.session.remove()
    return times, len(statements)


def report(name: str, times: list[float], statements: int) -> None:
    print(
        f"{name:<44} p50 {percentile(times, 50):8.2f} ms  p95 {percentile(times, 95):8.2f} ms"
        f"  ({statements} SQL statements, {len(times)} runs)"
    )


def reset_schema(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--history", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    import sqlalchemy as sa

    from app.extensions import db, login_manager
    from app.models import CheckResult, User
    from app.services import beats

    with embedded_redis() as redis_url:
        if args.database_url:
            url = args.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
            reset_schema(url)
        else:
            url = f"sqlite:///{tempfile.mkdtemp(prefix='upcron-bench-')}/bench.db"
        app = bench_app(url, redis_url)
        app.config["WTF_CSRF_ENABLED"] = False
        with app.app_context():
            started = time.perf_counter()
            populate(args.monitors, args.history)
            filled = time.perf_counter() - started
            db.session.add(User(email="bench@example.com", password_hash="-"))
            db.session.commit()
            user_id = db.session.scalar(sa.select(User)).get_id()
            ids = list(range(1, args.monitors + 1))
            rows = args.monitors * args.history
            print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            print(
                f"{args.monitors} monitors × {args.history} checks = {rows:,} check results "
                f"({url.split(':')[0]}, filled in {filled:.0f} s)"
            )
            report(
                "of_monitors, a page of 50",
                *timed(lambda: beats.of_monitors(ids[:50]), args.runs),
            )
            report(
                f"of_monitors, all {args.monitors} at once",
                *timed(lambda: beats.of_monitors(ids), args.runs),
            )

            def one_by_one():
                for monitor_id in ids:
                    list(
                        db.session.scalars(
                            sa.select(CheckResult)
                            .where(CheckResult.monitor_id == monitor_id)
                            .order_by(CheckResult.planned_at.desc())
                            .limit(beats.LIMIT)
                        )
                    )

            report(
                f"for scale: one query per monitor, {args.monitors}",
                *timed(one_by_one, max(3, args.runs // 4)),
            )
        client = app.test_client()
        with app.test_request_context():
            identifier = login_manager._session_identifier_generator()
        with client.session_transaction() as session:
            session.update({"_user_id": user_id, "_fresh": True, "_id": identifier})
        with app.app_context():
            for path in ("/", "/monitors/"):
                response = client.get(path)  # warm up templates and connections
                assert response.status_code == 200, (path, response.status_code)
                report(
                    f"GET {path} (50 rows with beat bars)",
                    *timed(lambda path=path: client.get(path), args.runs),
                )
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
