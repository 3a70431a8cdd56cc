import pytest

from app.config import ConfigError, load


def env(tmp_path, **values):
    return {"UPCRON_INSTANCE_DIR": str(tmp_path), **values}


def test_defaults_point_at_the_instance_folder(tmp_path):
    config = load(env(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'upcron.db'}"
    assert config["REDIS_URL"] == f"unix://{tmp_path / 'redis.sock'}"
    assert config["REDIS_EMBEDDED"] is True
    assert (config["HOST"], config["PORT"]) == ("127.0.0.1", 5000)
    assert config["BASE_URL"] == "http://127.0.0.1:5000"
    assert config["WORKERS"] == 1
    assert config["WEB_WORKERS"] == 1
    assert config["WORKER_HEARTBEAT_SEC"] == 30
    assert config["TARGET_POLICY"] == "default"
    assert config["PING_RATE_LIMIT"] == 60


def test_ping_rate_limit_can_be_changed_or_turned_off(tmp_path):
    assert load(env(tmp_path, UPCRON_PING_RATE_LIMIT="600"))["PING_RATE_LIMIT"] == 600
    assert load(env(tmp_path, UPCRON_PING_RATE_LIMIT="0"))["PING_RATE_LIMIT"] == 0


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = load(env(tmp_path))["SECRET_KEY"]
    assert len(first) >= 32
    assert load(env(tmp_path))["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_postgresql_urls_use_the_psycopg_driver(tmp_path):
    config = load(env(tmp_path, UPCRON_DATABASE_URL="postgresql://u@db:5432/upcron"))
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db:5432/upcron"


def test_explicit_redis_url_is_not_embedded(tmp_path):
    config = load(env(tmp_path, UPCRON_REDIS_URL="redis://cache:6379/2"))
    assert config["REDIS_URL"] == "redis://cache:6379/2"
    assert config["REDIS_EMBEDDED"] is False


def test_access_log_is_on_off_or_a_file(tmp_path):
    assert load(env(tmp_path))["ACCESS_LOG"] == "-"  # standard output
    assert load(env(tmp_path, UPCRON_ACCESS_LOG="ON"))["ACCESS_LOG"] == "-"
    assert load(env(tmp_path, UPCRON_ACCESS_LOG="off"))["ACCESS_LOG"] is None
    path = str(tmp_path / "access.log")
    assert load(env(tmp_path, UPCRON_ACCESS_LOG=path))["ACCESS_LOG"] == path


def test_trusted_proxies_parse_as_networks(tmp_path):
    config = load(env(tmp_path, UPCRON_TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1"))
    assert [str(n) for n in config["TRUSTED_PROXIES"]] == ["10.0.0.0/8", "127.0.0.1/32"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("UPCRON_PORT", "eighty"),
        ("UPCRON_PORT", "70000"),
        ("UPCRON_WORKERS", "0"),
        ("UPCRON_WORKERS", "2.5"),
        ("UPCRON_WORKER_HEARTBEAT_SEC", "0"),
        ("UPCRON_DATABASE_URL", "mysql://root@db/upcron"),
        ("UPCRON_REDIS_URL", "localhost:6379"),
        ("UPCRON_BASE_URL", "ftp://example.com"),
        ("UPCRON_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("UPCRON_METRICS_ALLOW", "prometheus.internal"),
        ("UPCRON_TARGET_POLICY", "lenient"),
        ("UPCRON_SECRET_KEY", "short"),
        ("UPCRON_HOST", "two words"),
        ("UPCRON_PING_RATE_LIMIT", "-1"),
        ("UPCRON_PING_RATE_LIMIT", "lots"),
        ("UPCRON_ACCESS_LOG", "yes"),
        ("UPCRON_ACCESS_LOG", "logs/access.log"),
        ("UPCRON_ACCESS_LOG", "/no/such/folder/access.log"),
        ("UPCRON_ACCESS_LOG", "/tmp"),
        ("UPCRON_LOG_LEVEL", "verbose"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError) as excinfo:
        load(env(tmp_path, **{name: value}))
    assert str(excinfo.value).startswith(f"{name}: ")


def test_smtp_is_off_without_a_host(tmp_path):
    assert load(env(tmp_path))["SMTP"] is None


def test_smtp_settings_with_defaults_per_security(tmp_path):
    config = load(
        env(
            tmp_path,
            UPCRON_SMTP_HOST="smtp.example.com",
            UPCRON_SMTP_FROM="Upcron <alerts@example.com>",
            UPCRON_SMTP_USER="alerts",
            UPCRON_SMTP_PASSWORD=" secret with spaces ",
        )
    )
    assert config["SMTP"] == {
        "host": "smtp.example.com",
        "port": 587,
        "security": "starttls",
        "username": "alerts",
        "password": " secret with spaces ",
        "sender": "Upcron <alerts@example.com>",
    }
    tls = load(
        env(
            tmp_path,
            UPCRON_SMTP_HOST="smtp.example.com",
            UPCRON_SMTP_FROM="alerts@example.com",
            UPCRON_SMTP_SECURITY="TLS",
        )
    )["SMTP"]
    assert (tls["security"], tls["port"], tls["username"]) == ("tls", 465, None)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"UPCRON_SMTP_PORT": "25"}, "UPCRON_SMTP_PORT: set UPCRON_SMTP_HOST too"),
        ({"UPCRON_SMTP_HOST": "smtp.example.com"}, "UPCRON_SMTP_FROM: required"),
        (
            {"UPCRON_SMTP_HOST": "smtp.example.com", "UPCRON_SMTP_FROM": "not an address"},
            "UPCRON_SMTP_FROM: expected an e-mail address",
        ),
        (
            {
                "UPCRON_SMTP_HOST": "smtp.example.com",
                "UPCRON_SMTP_FROM": "a@example.com",
                "UPCRON_SMTP_SECURITY": "ssl",
            },
            "UPCRON_SMTP_SECURITY: must be one of starttls, tls, none",
        ),
        (
            {
                "UPCRON_SMTP_HOST": "smtp.example.com",
                "UPCRON_SMTP_FROM": "a@example.com",
                "UPCRON_SMTP_PORT": "0",
            },
            "UPCRON_SMTP_PORT: must be between 1 and 65535",
        ),
        (
            {
                "UPCRON_SMTP_HOST": "smtp.example.com",
                "UPCRON_SMTP_FROM": "a@example.com",
                "UPCRON_SMTP_USER": "u",
            },
            "UPCRON_SMTP_PASSWORD: required when UPCRON_SMTP_USER is set",
        ),
        (
            {
                "UPCRON_SMTP_HOST": "smtp.example.com",
                "UPCRON_SMTP_FROM": "a@example.com",
                "UPCRON_SMTP_PASSWORD": "p",
            },
            "UPCRON_SMTP_USER: required when UPCRON_SMTP_PASSWORD is set",
        ),
        ({"UPCRON_SMTP_HOST": "smtp example.com"}, "UPCRON_SMTP_HOST: expected a host name"),
    ],
)
def test_bad_smtp_settings_stop_start_up(tmp_path, values, message):
    with pytest.raises(ConfigError, match=message):
        load(env(tmp_path, **values))
