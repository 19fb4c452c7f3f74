"""Flask extensions, created unbound and attached in `create_app` (cookiecutter-flask style)."""

from __future__ import annotations

import redis
from flask import Flask, current_app
from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

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
jwt = JWTManager()
sock = Sock()
# The rate limiter is made per app in app.ratelimit (its storage is bound to one app's Redis).


class RedisHolder:
    """One Redis connection pool per app, shared by services, RQ, pub/sub and the rate limiter."""

    def init_app(self, app: Flask) -> None:
        app.extensions["redis"] = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5,
            health_check_interval=30,
        )

    @property
    def client(self) -> redis.Redis:
        return current_app.extensions["redis"]


redis_store = RedisHolder()


def get_redis() -> redis.Redis:
    """The current app's Redis client."""
    return current_app.extensions["redis"]
