"""The SDKs follow the app's OpenAPI document: every operation has a method, and the generated
files (TypeScript types, Python models, the sync client made from the async one) are what their
generators make from the current code. When one fails after an API change, re-run:

    .venv/bin/python sdk/js/scripts/gen_types.py
    .venv/bin/python sdk/python/scripts/gen_models.py
    .venv/bin/python sdk/python/scripts/unasync.py
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import claude_cli_sdk
from claude_cli_sdk import AsyncClaudeCliClient, ClaudeCliClient

ROOT = Path(__file__).resolve().parent.parent.parent


def _script(path: str):
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _operations(client) -> dict[tuple[str, str], str]:
    found = {}
    for name, resource in vars(client).items():
        for attr, method in inspect.getmembers(resource, callable):
            op = getattr(method, "__api_operation__", None)
            if op is not None:
                assert op not in found, f"{op} has two methods: {found[op]} and {name}.{attr}"
                found[op] = f"{name}.{attr}"
    return found


def test_every_operation_of_the_document_has_a_python_method(client):
    doc = client.get("/openapi.json").get_json()
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    for sdk in (ClaudeCliClient("http://127.0.0.1:9/api"),
                AsyncClaudeCliClient("http://127.0.0.1:9/api")):
        missing, stale = documented - set(_operations(sdk)), set(_operations(sdk)) - documented
        assert not missing and not stale, (
            f"operations without an SDK method (add one in sdk/python/.../_async/ and "
            f"sdk/js/src/resources.js): {sorted(missing)}; methods of no operation: "
            f"{sorted(stale)}")
    assert _operations(ClaudeCliClient("http://x/api")) == _operations(
        AsyncClaudeCliClient("http://x/api"))
    assert inspect.iscoroutinefunction(AsyncClaudeCliClient("http://x/api").tasks.create)
    assert not inspect.iscoroutinefunction(ClaudeCliClient("http://x/api").tasks.create)


def test_typescript_types_are_generated_from_the_current_document(client):
    gen = _script("sdk/js/scripts/gen_types.py")
    doc = client.get("/openapi.json").get_json()
    assert (ROOT / "sdk/js/src/openapi.d.ts").read_text() == gen.render(doc), \
        "sdk/js/src/openapi.d.ts is stale: run .venv/bin/python sdk/js/scripts/gen_types.py"


def test_python_models_are_generated_from_the_current_document(client):
    gen = _script("sdk/python/scripts/gen_models.py")
    doc = client.get("/openapi.json").get_json()
    models = Path(claude_cli_sdk.__file__).parent / "models.py"
    assert models.read_text() == gen.render(doc), \
        "claude_cli_sdk/models.py is stale: run .venv/bin/python sdk/python/scripts/gen_models.py"


def test_the_sync_client_is_generated_from_the_async_one():
    unasync = _script("sdk/python/scripts/unasync.py")
    for path, text in unasync.outputs().items():
        assert path.read_text() == text, \
            f"{path.name} is stale: run .venv/bin/python sdk/python/scripts/unasync.py"
