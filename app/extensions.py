"""Flask extensions, created unbound and attached in `create_app` (cookiecutter-flask style)."""

from __future__ import annotations

import os
import sqlite3

import redis
from flask import Flask, current_app
from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Stable constraint names, so that Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite only: WAL so that readers never wait for the workers' output writes (one writer,
    many readers across processes), foreign keys enforced as PostgreSQL does, a 10 s wait
    for the write lock instead of an immediate "database is locked", and a database file that
    only the server's user can read (mode 0600)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        files = [row[2] for row in cursor.execute("PRAGMA database_list") if row[2]]
        cursor.close()
        for path in files:  # the database is the server's alone (its -wal/-shm follow its mode)
            if os.path.exists(path) and os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
jwt = JWTManager()
sock = Sock()
# The rate limiter is made per app in app.ratelimit (its storage is bound to one app's Redis).


class RedisHolder:
    """One Redis connection pool per app, shared by services, RQ and pub/sub.

    A blocking pool sized by REDIS_MAX_CONNECTIONS: redis-py's default pool raises "Too many
    connections" past 100, which a web process with hundreds of socket threads reaches in a
    burst (every socket authenticating at once); here a thread waits briefly for a free one."""

    def init_app(self, app: Flask) -> None:
        pool = redis.BlockingConnectionPool.from_url(
            app.config["REDIS_URL"], max_connections=int(app.config["REDIS_MAX_CONNECTIONS"]),
            timeout=5, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)
        app.extensions["redis"] = redis.Redis(connection_pool=pool)

    @property
    def client(self) -> redis.Redis:
        return current_app.extensions["redis"]


redis_store = RedisHolder()


def get_redis() -> redis.Redis:
    """The current app's Redis client."""
    return current_app.extensions["redis"]
