"""Configuration from the environment, with defaults that work on one machine.

Every setting is an environment variable (a `.env` file is read when present). Secrets are never
constants in code: when `SECRET_KEY` / `JWT_SECRET_KEY` are unset they are generated once and kept
in `instance/` so that every process of one installation (web, workers, CLI) agrees on them.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

from app.version import __version__

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("INSTANCE_PATH", ROOT / "instance"))


def _private_env_file(path: Path) -> None:
    """A `.env` holds secrets and sits in a directory runs can read: keep it the owner's only."""
    try:
        info = path.stat()
        if info.st_mode & 0o077 and info.st_uid == os.geteuid():
            os.chmod(path, 0o600)
    except OSError:
        pass


_private_env_file(ROOT / ".env")
load_dotenv(ROOT / ".env", override=False)


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    return str(_env(name, "1" if default else "0")).lower() in {"1", "true", "yes", "on"}


def private_dir(path: Path) -> Path:
    """Make `path` (mode 0700 when new) and take group/other read and write away from it: it
    holds key files and the SQLite database. Pass-through (x) is left alone: a root worker
    lets runs pass through to workspaces kept inside it (app.services.run_identity)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777
    if mode & 0o066:
        os.chmod(path, mode & ~0o066)
    return path


def persistent_secret(name: str, instance: Path = INSTANCE) -> str:
    """Return `$name` from the environment, else a random value generated once under `instance/`.

    Written with mode 0600 and created atomically, so two processes starting together agree.
    """
    value = _env(name)
    if value:
        return value
    private_dir(instance)
    path = instance / f".{name.lower()}"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class Config:
    """Production-ish defaults; every value can be overridden from the environment."""

    VERSION = __version__
    ENVIRONMENT = _env("APP_ENV", "production")
    INSTANCE_PATH = str(INSTANCE)

    SECRET_KEY = persistent_secret("SECRET_KEY")
    JWT_SECRET_KEY = persistent_secret("JWT_SECRET_KEY")

    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE / 'app.db'}")
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    # None means: start (or reuse) the embedded Redis; see app.embedded_redis.
    REDIS_URL = _env("REDIS_URL")
    # Connections one process may open to Redis (redis-py's own default is 100, fewer than a
    # web process's socket threads); a thread finding them all busy waits up to 5 s.
    REDIS_MAX_CONNECTIONS = _env_int("REDIS_MAX_CONNECTIONS", 1000)

    WORKSPACE_ROOT = _env("WORKSPACE_ROOT", str(INSTANCE / "workspaces"))
    CLAUDE_CLI_PATH = _env("CLAUDE_CLI_PATH", "claude")

    # Auth (CONTRACT §2): access 1 h, refresh 30 d; pages hold the JWT in HttpOnly cookies.
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(seconds=_env_int("JWT_ACCESS_SECONDS", 3600))
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=30)
    JWT_TOKEN_LOCATION = ["headers", "cookies"]
    JWT_COOKIE_SECURE = _env_bool("JWT_COOKIE_SECURE", False)
    JWT_COOKIE_SAMESITE = "Lax"
    JWT_COOKIE_CSRF_PROTECT = True
    JWT_CSRF_CHECK_FORM = True
    JWT_ACCESS_COOKIE_PATH = "/"
    JWT_REFRESH_COOKIE_PATH = "/"
    JWT_SESSION_COOKIE = False
    # argon2id cost; OWASP's minimum is m=19 MiB, t=2, p=1.
    PASSWORD_HASH = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}

    # Rate limits (CONTRACT §1).
    RATELIMIT_ANONYMOUS = _env("RATELIMIT_ANONYMOUS", "100/minute")
    RATELIMIT_USER = _env("RATELIMIT_USER", "200/minute")
    RATELIMIT_PREMIUM = _env("RATELIMIT_PREMIUM", "500/minute")
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    WS_MAX_CONNECTIONS_PER_USER = _env_int("WS_MAX_CONNECTIONS_PER_USER", 50)

    # Limits reported by /api/system/info and enforced by the services.
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
    MAX_TASKS_PER_PROJECT = _env_int("MAX_TASKS_PER_PROJECT", 1000)
    MAX_CONCURRENT_TASKS = _env_int("MAX_CONCURRENT_TASKS", 10)
    MAX_OUTPUT_BYTES = _env_int("MAX_OUTPUT_BYTES", 10 * 1024 * 1024)
    MAX_QUEUE_LENGTH = _env_int("MAX_QUEUE_LENGTH", 10000)
    SESSION_TTL_SECONDS = _env_int("SESSION_TTL_SECONDS", 2 * 3600)

    ADMIN_USERNAME = _env("ADMIN_USERNAME", "admin")


class TestConfig(Config):
    """Used by the test suite: cheap password hashing, everything else real."""

    ENVIRONMENT = "test"
    TESTING = True
    PASSWORD_HASH = {"time_cost": 1, "memory_cost": 8 * 1024, "parallelism": 1}
