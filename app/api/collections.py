"""Postman and Insomnia collections, built from the OpenAPI document at request time.

`/docs/postman_collection.json` (Postman v2.1) and `/docs/insomnia_collection.json` (Insomnia
export v4) are translations of `app.api_doc`, never a second hand-kept list: a route added to
the API appears in both the next time they are downloaded. Each has the variables `baseUrl`
(this server, as the request reached it), `accessToken`, `refreshToken`, `username` and
`password`; requests use `Bearer {{accessToken}}` (refresh: `{{refreshToken}}`, public routes:
none), and Postman's login and refresh requests store the tokens they receive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from flask import jsonify, request
from flask_openapi3 import OpenAPI

from app.security import public

POSTMAN_SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
METHODS = ("get", "post", "put", "patch", "delete")
VARIABLES = ("baseUrl", "accessToken", "refreshToken", "username", "password")
LOGIN_PATH, REFRESH_PATH = "/api/auth/login", "/api/auth/refresh"
_PATH_PARAM = re.compile(r"\{([^}]+)\}")
# Stores the tokens a login or refresh returns in the collection's variables.
_POSTMAN_STORE = [
    "const body = pm.response.json();",
    "if (body && body.data && body.data.access_token) {",
    "  pm.collectionVariables.set('accessToken', body.data.access_token);",
    "  if (body.data.refresh_token) {",
    "    pm.collectionVariables.set('refreshToken', body.data.refresh_token);",
    "  }",
    "}",
]


def register_collections(app: OpenAPI) -> None:
    """Serve both collections next to `/openapi.json` and `/docs` (public, like them)."""

    @app.get("/docs/postman_collection.json", doc_ui=False)
    @public
    def postman_collection():
        """The API as a Postman v2.1 collection."""
        return jsonify(postman(app.api_doc, _base_url()))

    @app.get("/docs/insomnia_collection.json", doc_ui=False)
    @public
    def insomnia_collection():
        """The API as an Insomnia v4 export."""
        return jsonify(insomnia(app.api_doc, _base_url()))


def _base_url() -> str:
    return request.host_url.rstrip("/")


# ------------------------------------------------------------------ the document, walked

class Operation:
    """One METHOD + path of the document, with what both collections need from it."""

    def __init__(self, doc: dict[str, Any], path: str, method: str, op: dict[str, Any]) -> None:
        self.path, self.method, self.op = path, method.upper(), op
        self.name = op.get("summary") or f"{self.method} {path}"
        self.tag = (op.get("tags") or ["Other"])[0]
        self.description = op.get("description") or ""
        params = op.get("parameters") or []
        self.path_params = [p for p in params if p.get("in") == "path"]
        self.query_params = [p for p in params if p.get("in") == "query"]
        self.public = not op.get("security", doc.get("security"))
        self.body = _body_example(doc, op, path)

    @property
    def auth_variable(self) -> str | None:
        if self.public:
            return None
        return "refreshToken" if self.path == REFRESH_PATH else "accessToken"


def operations(doc: dict[str, Any]) -> Iterator[Operation]:
    """Every operation of the document, in its order."""
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield Operation(doc, path, method, item[method])


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc.get("components", {}).get("schemas", {}).get(name, {})
    return schema


def _body_example(doc: dict[str, Any], op: dict[str, Any], path: str) -> Any:
    body = op.get("requestBody")
    if not body:
        return None
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    if path == LOGIN_PATH:
        return {"username": "{{username}}", "password": "{{password}}"}
    return example(doc, schema)


def example(doc: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """A value matching `schema`: required fields and fields with a default, placeholders
    by type (uuid, date-time, enum's first value, the minimum of a number)."""
    schema = _resolve(doc, schema)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if _resolve(doc, s).get("type") != "null"]
        return example(doc, options[0], depth) if options else None
    if schema.get("default") is not None:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        required = set(schema.get("required", []))
        props = schema.get("properties", {})
        return {name: example(doc, sub, depth + 1) for name, sub in props.items()
                if name in required or _resolve(doc, sub).get("default") is not None}
    if kind == "array":
        return [example(doc, schema.get("items", {}), depth + 1)] if depth < 4 else []
    if kind == "integer":
        return int(schema.get("minimum", 0)) if abs(schema.get("minimum", 0)) < 1e9 else 0
    if kind == "number":
        return 0
    if kind == "boolean":
        return False
    return {"uuid": "00000000-0000-0000-0000-000000000000",
            "date-time": "2025-01-01T00:00:00Z"}.get(schema.get("format", ""), "string")


def _query_value(param: dict[str, Any]) -> str:
    schema = param.get("schema", {})
    value = schema.get("default")
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


# ------------------------------------------------------------------ Postman v2.1

def postman(doc: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The document as a Postman v2.1 collection, one folder per tag."""
    folders: dict[str, list[dict[str, Any]]] = {}
    for op in operations(doc):
        folders.setdefault(op.tag, []).append(_postman_item(op))
    info = doc.get("info", {})
    defaults = {"baseUrl": base_url}
    return {
        "info": {"name": info.get("title", "API"), "description": info.get("description", ""),
                 "version": info.get("version", ""), "schema": POSTMAN_SCHEMA},
        "auth": _postman_bearer("accessToken"),
        "variable": [{"key": key, "value": defaults.get(key, ""), "type": "string"}
                     for key in VARIABLES],
        "item": [{"name": tag, "item": items} for tag, items in folders.items()],
    }


def _postman_bearer(variable: str) -> dict[str, Any]:
    return {"type": "bearer",
            "bearer": [{"key": "token", "value": f"{{{{{variable}}}}}", "type": "string"}]}


def _postman_item(op: Operation) -> dict[str, Any]:
    segments = [f":{s[1:-1]}" if s.startswith("{") else s for s in op.path.strip("/").split("/")]
    raw = "{{baseUrl}}/" + "/".join(segments) + ("/" if op.path.endswith("/") else "")
    url: dict[str, Any] = {"raw": raw, "host": ["{{baseUrl}}"],
                           "path": segments + ([""] if op.path.endswith("/") else [])}
    if op.query_params:
        url["query"] = [{"key": p["name"], "value": _query_value(p), "disabled": True,
                         "description": p.get("description", "")} for p in op.query_params]
    if op.path_params:
        url["variable"] = [{"key": p["name"], "value": "", "description": p.get("description",
                                                                                  "")}
                           for p in op.path_params]
    req: dict[str, Any] = {"method": op.method, "url": url, "description": op.description,
                           "header": [{"key": "Accept", "value": "application/json"}]}
    req["auth"] = ({"type": "noauth"} if op.auth_variable is None
                   else _postman_bearer(op.auth_variable))
    if op.body is not None:
        req["header"].append({"key": "Content-Type", "value": "application/json"})
        req["body"] = {"mode": "raw", "raw": json.dumps(op.body, indent=2),
                       "options": {"raw": {"language": "json"}}}
    item: dict[str, Any] = {"name": op.name, "request": req}
    if op.path in (LOGIN_PATH, REFRESH_PATH):
        item["event"] = [{"listen": "test",
                          "script": {"type": "text/javascript", "exec": _POSTMAN_STORE}}]
    return item


# ------------------------------------------------------------------ Insomnia v4

def insomnia(doc: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The document as an Insomnia v4 export: a workspace, its base environment holding the
    variables (and every path parameter, empty), a folder per tag, a request per operation."""
    info = doc.get("info", {})
    workspace = {"_id": "wrk_claude_cli", "_type": "workspace", "parentId": None,
                 "name": info.get("title", "API"), "description": info.get("description", ""),
                 "scope": "collection"}
    ops = list(operations(doc))
    env_data: dict[str, str] = {key: "" for key in VARIABLES}
    env_data["baseUrl"] = base_url
    for op in ops:
        for p in op.path_params:
            env_data.setdefault(p["name"], "")
    resources: list[dict[str, Any]] = [workspace, {
        "_id": "env_claude_cli_base", "_type": "environment", "parentId": workspace["_id"],
        "name": "Base Environment", "data": env_data}]
    folders: dict[str, str] = {}
    for op in ops:
        if op.tag not in folders:
            folders[op.tag] = f"fld_{_slug(op.tag)}"
            resources.append({"_id": folders[op.tag], "_type": "request_group",
                              "parentId": workspace["_id"], "name": op.tag})
        resources.append(_insomnia_request(op, folders[op.tag]))
    return {"_type": "export", "__export_format": 4, "__export_source": "claude-cli-web-ui",
            "resources": resources}


def _insomnia_request(op: Operation, parent: str) -> dict[str, Any]:
    url = "{{ _.baseUrl }}" + _PATH_PARAM.sub(lambda m: _insomnia_var(m.group(1)), op.path)
    req: dict[str, Any] = {
        "_id": f"req_{_slug(op.op.get('operationId') or op.method + op.path)}",
        "_type": "request", "parentId": parent, "name": op.name, "description": op.description,
        "method": op.method, "url": url,
        "parameters": [{"name": p["name"], "value": _query_value(p), "disabled": True}
                       for p in op.query_params],
        "headers": [{"name": "Accept", "value": "application/json"}],
        "authentication": ({} if op.auth_variable is None else
                           {"type": "bearer", "token": _insomnia_var(op.auth_variable)}),
        "body": {},
    }
    if op.body is not None:
        text = json.dumps(op.body, indent=2)
        if op.path == LOGIN_PATH:
            text = text.replace("{{username}}", "{{ _.username }}").replace(
                "{{password}}", "{{ _.password }}")
        req["headers"].append({"name": "Content-Type", "value": "application/json"})
        req["body"] = {"mimeType": "application/json", "text": text}
    return req


def _insomnia_var(name: str) -> str:
    return "{{ _." + name + " }}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "_", text).strip("_").lower()
