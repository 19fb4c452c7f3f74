"""Application factory: `create_app(config)` wires small `register_*` steps together."""

from __future__ import annotations

import logging
from typing import Any

from flask_openapi3 import Info, OpenAPI

from app.config import Config
from app.version import __version__


def create_app(config: type | dict[str, Any] | None = None) -> OpenAPI:
    """Build the app. `config` is a Config class or a dict of overrides on top of `Config`."""
    from app.api.validation import StrictJSONProvider, validation_error_response

    app = OpenAPI(
        __name__,
        info=Info(title="Claude CLI Web UI API", version=__version__,
                  description="Projects, tasks, executions, commands, queues, sessions and "
                              "webhooks. Every response is the envelope {data, error, meta}."),
        security_schemes={"bearerAuth": {"type": "http", "scheme": "bearer",
                                         "bearerFormat": "JWT"}},
        validation_error_callback=validation_error_response,
        doc_prefix="/docs",
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=False,
    )
    app.json = StrictJSONProvider(app)  # request JSON: bounded depth, valid Unicode only
    _load_config(app, config)
    _register_logging(app)
    _register_extensions(app)
    _register_request_hooks(app)
    _register_blueprints(app)
    _register_realtime(app)
    _register_rq_dashboard(app)
    _register_cli(app)
    return app


def _load_config(app: OpenAPI, config: type | dict[str, Any] | None) -> None:
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    from app.redis_url import resolve_redis_url

    app.config["REDIS_URL"] = resolve_redis_url(app.config.get("REDIS_URL"),
                                                app.config["INSTANCE_PATH"])


def _register_logging(app: OpenAPI) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _register_extensions(app: OpenAPI) -> None:
    from app import models  # noqa: F401 - the whole schema, for Alembic
    from app.extensions import db, jwt, migrate, redis_store, sock
    from app.models.user import configure_password_hasher
    from app.ratelimit import init_rate_limits
    from app.security import init_jwt

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_root() / "migrations"), render_as_batch=True,
                     compare_type=True)
    redis_store.init_app(app)
    jwt.init_app(app)
    init_jwt(app)
    sock.init_app(app)
    init_rate_limits(app)
    configure_password_hasher(app.config["PASSWORD_HASH"])


def _register_request_hooks(app: OpenAPI) -> None:
    from app.errors import register_error_handlers
    from app.request_hooks import register_request_hooks

    register_error_handlers(app)
    register_request_hooks(app)


def _register_blueprints(app: OpenAPI) -> None:
    from app.api import register_api
    from app.pages import register_pages

    register_api(app)
    register_pages(app)


def _register_realtime(app: OpenAPI) -> None:
    from app.realtime import register_realtime

    register_realtime(app)


def _register_rq_dashboard(app: OpenAPI) -> None:
    from app.rq_dashboard import register_rq_dashboard

    register_rq_dashboard(app)


def _register_cli(app: OpenAPI) -> None:
    from app.cli import register_cli

    register_cli(app)


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent
