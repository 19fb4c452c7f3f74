"""The JSON API: one module per resource, each an APIBlueprint registered here."""

from __future__ import annotations

import copy
import functools
from importlib import import_module

import flask_openapi3.utils
from flask import redirect
from flask_openapi3 import OpenAPI

# Resource modules, each exposing `bp`; later resources add their name here.
RESOURCES = ["auth", "health", "system", "users", "projects", "tasks", "sessions", "webhooks",
             "task_runs", "commands", "queues", "worktrees"]


def _memoize_model_schemas() -> None:
    """flask-openapi3 builds a model's JSON schema each time a route names it, at registration:
    the error envelope alone ~400 times (every status of every route). That was half the start
    time of every process (web, worker, CLI). A model's schema never changes, so each is built
    once per process; callers get a copy, since the library edits what it is given."""
    if getattr(flask_openapi3.utils.get_model_schema, "memoized", False):
        return
    build = functools.lru_cache(maxsize=None)(flask_openapi3.utils.get_model_schema)

    def get_model_schema(model, mode="validation"):
        return copy.deepcopy(build(model, mode))

    get_model_schema.memoized = True  # type: ignore[attr-defined]
    flask_openapi3.utils.get_model_schema = get_model_schema


def register_api(app: OpenAPI) -> None:
    _memoize_model_schemas()
    for name in RESOURCES:
        app.register_api(import_module(f"app.api.{name}").bp)

    @app.get("/openapi.json", doc_ui=False)
    def openapi_json():
        """The OpenAPI 3.1 document (also at /docs/openapi.json)."""
        return app.api_doc

    app.view_functions["openapi_json"]._auth = "__public__"

    @app.get("/docs", doc_ui=False)
    def docs_redirect():
        """Swagger UI, served from the pip package's local assets."""
        return redirect("/docs/swagger")

    from app.api.collections import register_collections

    register_collections(app)  # /docs/postman_collection.json, /docs/insomnia_collection.json
