"""The JSON API: one module per resource, each an APIBlueprint registered here."""

from __future__ import annotations

from importlib import import_module

from flask import redirect
from flask_openapi3 import OpenAPI

# Resource modules, each exposing `bp`; later resources add their name here.
RESOURCES = ["auth", "health", "system", "users", "projects", "tasks", "sessions", "webhooks",
             "task_runs", "commands", "queues", "worktrees"]


def register_api(app: OpenAPI) -> None:
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
