"""Generate `src/openapi.d.ts` (TypeScript types) from the API's OpenAPI document.

    .venv/bin/python sdk/js/scripts/gen_types.py             # from this repository's app
    .venv/bin/python sdk/js/scripts/gen_types.py --url http://127.0.0.1:8000/openapi.json
    .venv/bin/python sdk/js/scripts/gen_types.py --check     # fail if the file is out of date

Every component schema becomes an interface (wire names, snake_case), and `Operations` maps
each `METHOD /path` to its path parameters, query, body and response `data`. Standard library
only, so no npm install is needed to regenerate; the test suite checks the committed file is
what this script makes from the app's current document.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET = HERE.parent / "src" / "openapi.d.ts"
REPO = HERE.parent.parent.parent
METHODS = ("get", "post", "put", "patch", "delete")
IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def load_doc(url: str | None = None) -> dict[str, Any]:
    """The OpenAPI document: fetched from `url`, or made by this repository's app."""
    if url:
        with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - a URL we are given
            return json.load(resp)
    scratch = tempfile.mkdtemp(prefix="sdk-gen-")
    os.environ.setdefault("INSTANCE_PATH", scratch)
    os.environ.setdefault("SECRET_KEY", "generator")
    os.environ.setdefault("JWT_SECRET_KEY", "generator")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")  # never contacted
    sys.path.insert(0, str(REPO))
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{scratch}/gen.db"})
    return app.test_client().get("/openapi.json").get_json()


def ts_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def prop_key(name: str) -> str:
    return name if IDENT.match(name) else json.dumps(name)


def ts_type(schema: dict[str, Any], indent: str = "") -> str:
    """A schema as a TypeScript type expression."""
    if "$ref" in schema:
        return ts_name(schema["$ref"].rsplit("/", 1)[-1])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts: list[str] = []
            for sub in schema[key]:
                text = ts_type(sub, indent)
                if text not in parts:
                    parts.append(text)
            return " | ".join(parts)
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(ts_type({**schema, "type": k}, indent) for k in kind)
    if kind == "array":
        item = ts_type(schema.get("items", {}), indent)
        return f"Array<{item}>"
    if kind == "object" or "properties" in schema:
        return object_type(schema, indent)
    return {"string": "string", "integer": "number", "number": "number", "boolean": "boolean",
            "null": "null"}.get(kind or "", "unknown")


def object_type(schema: dict[str, Any], indent: str = "") -> str:
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    if not props:
        if isinstance(extra, dict) and extra:
            return f"Record<string, {ts_type(extra, indent)}>"
        return "Record<string, unknown>"
    required = set(schema.get("required", []))
    inner = indent + "  "
    lines = ["{"]
    for name, sub in props.items():
        doc = sub.get("description")
        if doc:
            lines.append(f"{inner}/** {doc.splitlines()[0].replace('*/', '* /')} */")
        mark = "" if name in required else "?"
        lines.append(f"{inner}{prop_key(name)}{mark}: {ts_type(sub, inner)};")
    if extra is True or isinstance(extra, dict) and extra:
        lines.append(f"{inner}[key: string]: unknown;")
    lines.append(indent + "}")
    return "\n".join(lines)


def _data_type(doc: dict[str, Any], schema: dict[str, Any]) -> str:
    """The `data` of an envelope response (its own type name when it has one)."""
    ref = schema.get("$ref")
    if ref:
        target = doc["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
        data = target.get("properties", {}).get("data")
        if data is not None:
            return ts_type(data)
    return ts_type(schema)


def operation_type(doc: dict[str, Any], op: dict[str, Any], indent: str) -> str:
    inner = indent + "  "
    params = op.get("parameters") or []
    lines = ["{"]
    for where, label in (("path", "path"), ("query", "query")):
        chosen = [p for p in params if p.get("in") == where]
        if not chosen:
            lines.append(f"{inner}{label}: never;")
            continue
        fields = [f"{prop_key(p['name'])}{'' if p.get('required') else '?'}: "
                  f"{ts_type(p.get('schema', {}), inner + '  ')};" for p in chosen]
        lines.append(f"{inner}{label}: {{ " + " ".join(fields) + " };")
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    lines.append(f"{inner}body: {ts_type(body['schema']) if body else 'never'};")
    ok = next((c for c in op.get("responses", {}) if str(c).startswith("2")), None)
    response = op["responses"][ok].get("content", {}).get("application/json", {}) if ok else {}
    data = _data_type(doc, response["schema"]) if response else "null"
    lines.append(f"{inner}response: {data};")
    lines.append(indent + "}")
    return "\n".join(lines)


def render(doc: dict[str, Any]) -> str:
    info = doc.get("info", {})
    out = [
        "// GENERATED by sdk/js/scripts/gen_types.py from the OpenAPI document of",
        f"// {info.get('title', 'the API')} {info.get('version', '')}: do not edit.",
        "/* eslint-disable */",
        "",
    ]
    for name, schema in sorted(doc.get("components", {}).get("schemas", {}).items()):
        description = (schema.get("description") or "").strip()
        if description:
            out.append(f"/** {description.splitlines()[0].replace('*/', '* /')} */")
        body = ts_type(schema) if "$ref" in schema else object_type(schema) if (
            schema.get("type") == "object" or "properties" in schema) else ts_type(schema)
        if body.startswith("{"):
            out.append(f"export interface {ts_name(name)} {body}")
        else:
            out.append(f"export type {ts_name(name)} = {body};")
        out.append("")
    out.append("/** Every operation: `METHOD /path` → path parameters, query, body, response "
               "`data`. */")
    out.append("export interface Operations {")
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                key = json.dumps(f"{method.upper()} {path}")
                out.append(f"  {key}: {operation_type(doc, item[method], '  ')};")
    out.append("}")
    out.append("")
    out.append("export type OperationKey = keyof Operations;")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an /openapi.json URL (default: this repository's app)")
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args()
    text = render(load_doc(args.url))
    if args.check:
        sys.exit(0 if TARGET.read_text() == text else "openapi.d.ts is out of date")
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text)
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
