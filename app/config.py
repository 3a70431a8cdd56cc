"""Every setting Upcron reads, parsed strictly from ``UPCRON_*`` environment variables.

A bad value stops start-up with one line naming the variable (``ConfigError``), because a
monitoring server that silently falls back to a default is worse than one that refuses to start.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent

TARGET_POLICIES = ("default", "strict", "open")
SMTP_SECURITY = ("starttls", "tls", "none")
SMTP_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
_SMTP_VARIABLES = (
    "UPCRON_SMTP_PORT",
    "UPCRON_SMTP_USER",
    "UPCRON_SMTP_PASSWORD",
    "UPCRON_SMTP_FROM",
    "UPCRON_SMTP_SECURITY",
)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ConfigError(Exception):
    """A setting has a value Upcron cannot use; the message names the variable."""


def _int(env, name, default, low, high):
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def _choice(env, name, default, choices):
    raw = (env.get(name) or "").strip().lower() or default
    if raw not in choices:
        raise ConfigError(f"{name}: must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _url(env, name, schemes):
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    scheme = urlsplit(raw).scheme
    if scheme not in schemes:
        raise ConfigError(
            f"{name}: expected a URL starting with {' or '.join(s + '://' for s in schemes)}, "
            f"got {raw!r}"
        )
    return raw


def _networks(env, name):
    raw = (env.get(name) or "").strip()
    networks = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {part!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def _file(env, name):
    raw = (env.get(name) or "").strip()
    if raw and not Path(raw).is_file():
        raise ConfigError(f"{name}: no such file: {raw!r}")
    return raw or None


def _access_log(env, name):
    """Where gunicorn writes its access log: "-" (standard output) for ``on``, the default,
    None for ``off``, or an absolute file path (not relative: each process resolves paths
    from its own working folder, and gunicorn's is the checkout)."""
    raw = (env.get(name) or "").strip()
    if raw.lower() in ("", "on"):
        return "-"
    if raw.lower() == "off":
        return None
    path = Path(raw)
    if not path.is_absolute():
        raise ConfigError(
            f"{name}: expected on, off or an absolute file path such as "
            f"/var/log/upcron/access.log, got {raw!r}"
        )
    if path.is_dir():
        raise ConfigError(f"{name}: {raw!r} is a folder; give the path of a file in it")
    if not path.parent.is_dir():
        raise ConfigError(f"{name}: no such folder: {str(path.parent)!r}")
    return raw


def _host(env, name, default):
    raw = (env.get(name) or "").strip() or default
    if any(c.isspace() for c in raw) or "/" in raw:
        raise ConfigError(f"{name}: expected a host name or IP address, got {raw!r}")
    return raw


def _sender(env, name):
    """A From address, bare or with a display name ("Upcron <alerts@example.com>")."""
    raw = (env.get(name) or "").strip()
    if not raw:
        raise ConfigError(f"{name}: required when UPCRON_SMTP_HOST is set")
    _display, address = parseaddr(raw)
    if not _EMAIL_RE.match(address) or any(c in raw for c in "\r\n"):
        raise ConfigError(
            f"{name}: expected an e-mail address such as alerts@example.com, got {raw!r}"
        )
    return raw


def _smtp(env) -> dict | None:
    """The e-mail server from UPCRON_SMTP_*, or None when UPCRON_SMTP_HOST is unset (then the
    dashboard may set one). The variables go together: a lone UPCRON_SMTP_USER is a mistake."""
    if not (env.get("UPCRON_SMTP_HOST") or "").strip():
        for name in _SMTP_VARIABLES:
            if (env.get(name) or "").strip():
                raise ConfigError(f"{name}: set UPCRON_SMTP_HOST too, or unset {name}")
        return None
    security = _choice(env, "UPCRON_SMTP_SECURITY", "starttls", SMTP_SECURITY)
    user = (env.get("UPCRON_SMTP_USER") or "").strip() or None
    password = env.get("UPCRON_SMTP_PASSWORD") or None
    if user and password is None:
        raise ConfigError("UPCRON_SMTP_PASSWORD: required when UPCRON_SMTP_USER is set")
    if password is not None and not user:
        raise ConfigError("UPCRON_SMTP_USER: required when UPCRON_SMTP_PASSWORD is set")
    return {
        "host": _host(env, "UPCRON_SMTP_HOST", ""),
        "port": _int(env, "UPCRON_SMTP_PORT", SMTP_DEFAULT_PORTS[security], 1, 65535),
        "security": security,
        "username": user,
        "password": password,
        "sender": _sender(env, "UPCRON_SMTP_FROM"),
    }


def _secret_key(env, instance_dir: Path):
    """Use UPCRON_SECRET_KEY, else a key generated once and kept under the instance folder.

    Persisting it keeps sessions valid across restarts and identical in every process that
    `upcron up` starts.
    """
    raw = env.get("UPCRON_SECRET_KEY")
    if raw is not None and raw.strip():
        if len(raw.strip()) < 16:
            raise ConfigError("UPCRON_SECRET_KEY: must be at least 16 characters long")
        return raw.strip()
    path = instance_dir / "secret_key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def load(env=None) -> dict:
    """Read every setting from ``env`` (default ``os.environ``) into Flask config keys."""
    env = os.environ if env is None else env
    instance_dir = Path(
        (env.get("UPCRON_INSTANCE_DIR") or "").strip() or PROJECT_ROOT / "instance"
    ).resolve()
    host = _host(env, "UPCRON_HOST", "127.0.0.1")
    port = _int(env, "UPCRON_PORT", 5000, 1, 65535)
    database_url = (
        _url(env, "UPCRON_DATABASE_URL", ("sqlite", "postgresql", "postgresql+psycopg"))
        or f"sqlite:///{instance_dir / 'upcron.db'}"
    )
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; SQLAlchemy would otherwise look for psycopg2.
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    redis_url = _url(env, "UPCRON_REDIS_URL", ("redis", "rediss", "unix"))
    base_url = _url(env, "UPCRON_BASE_URL", ("http", "https"))
    return {
        "INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": _secret_key(env, instance_dir),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Unset means "the embedded Redis that `upcron up` starts on this socket".
        "REDIS_URL": redis_url or f"unix://{instance_dir / 'redis.sock'}",
        "REDIS_EMBEDDED": redis_url is None,
        "HOST": host,
        "PORT": port,
        "BASE_URL": (base_url or f"http://{host}:{port}").rstrip("/"),
        # One of each by default: a worker's probe pool (PROBE_CONCURRENCY) and a web worker's
        # threads already give concurrency, and each more process holds its own copy of
        # the app (bench/memory.py). More scale up throughput on more CPUs.
        "WORKERS": _int(env, "UPCRON_WORKERS", 1, 1, 64),
        # The longest an idle worker waits before it tells Redis it is alive (and registers
        # again if Redis was emptied or restarted meanwhile).
        "WORKER_HEARTBEAT_SEC": _int(env, "UPCRON_WORKER_HEARTBEAT_SEC", 30, 1, 3600),
        "WEB_WORKERS": _int(env, "UPCRON_WEB_WORKERS", 1, 1, 64),
        # Each web worker on a CPU of its own (app.gunicorn_hooks), or where the kernel likes.
        "WEB_CPU_AFFINITY": _choice(env, "UPCRON_WEB_CPU_AFFINITY", "spread", ("spread", "none")),
        "TRUSTED_PROXIES": _networks(env, "UPCRON_TRUSTED_PROXIES"),
        # Addresses that may read /metrics without an API key (Prometheus' own, say).
        "METRICS_ALLOW": _networks(env, "UPCRON_METRICS_ALLOW"),
        "TARGET_POLICY": _choice(env, "UPCRON_TARGET_POLICY", "default", TARGET_POLICIES),
        "CA_BUNDLE": _file(env, "UPCRON_CA_BUNDLE"),
        "PROBE_CONCURRENCY": _int(env, "UPCRON_PROBE_CONCURRENCY", 32, 1, 512),
        "SMTP": _smtp(env),
        # Seconds between the 5 attempts of a notification (not read from the environment;
        # tests shorten it).
        "NOTIFY_RETRY_DELAYS": (30, 120, 480, 1920),
        # Pings accepted per heartbeat code and minute; 0 turns the limit off.
        "PING_RATE_LIMIT": _int(env, "UPCRON_PING_RATE_LIMIT", 60, 0, 1_000_000),
        # How the Cronhub facade writes datetimes: ISO-8601 as Cronhub documents them, or the
        # serialised PHP DateTime objects its live service sent to some clients.
        "COMPAT_CRONHUB_DATETIME": _choice(
            env, "UPCRON_COMPAT_CRONHUB_DATETIME", "iso", ("iso", "php")
        ),
        # The web server's access log: "-" (standard output), a file path, or None (off).
        "ACCESS_LOG": _access_log(env, "UPCRON_ACCESS_LOG"),
        "LOG_LEVEL": _choice(
            env, "UPCRON_LOG_LEVEL", "info", ("debug", "info", "warning", "error")
        ).upper(),
        "SESSION_COOKIE_SECURE": (base_url or "").startswith("https://"),
        "REMEMBER_COOKIE_SECURE": (base_url or "").startswith("https://"),
    }
