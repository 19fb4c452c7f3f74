"""`/docs/postman_collection.json` and `/docs/insomnia_collection.json`: made from the OpenAPI
document when asked, so every operation of the API is in both, with the auth variables."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest


def _operations(spec: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item}


def _postman_requests(collection: dict):
    for entry in collection["item"]:
        if "item" in entry:
            yield from _postman_requests(entry)
        else:
            yield entry


def test_postman_collection_has_every_operation_and_the_auth_variables(client):
    spec = client.get("/openapi.json").get_json()
    resp = client.get("/docs/postman_collection.json")
    assert resp.status_code == 200
    collection = json.loads(resp.data)  # what Postman's import reads
    assert collection["info"]["schema"].endswith("/v2.1.0/collection.json")
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert {"baseUrl", "accessToken", "refreshToken"} <= set(variables)
    assert variables["baseUrl"] == "http://localhost"  # where this request reached the server
    assert collection["auth"]["bearer"][0]["value"] == "{{accessToken}}"

    found = {}
    for item in _postman_requests(collection):
        req = item["request"]
        path = "/" + "/".join(req["url"]["path"])
        path = re.sub(r":(\w+)", r"{\1}", path)
        found[(req["method"], path)] = item
        assert req["url"]["raw"] == "{{baseUrl}}" + re.sub(r"\{(\w+)\}", r":\1", path)
    assert set(found) == _operations(spec)

    login = found[("POST", "/api/auth/login")]
    assert login["request"]["auth"] == {"type": "noauth"}
    assert json.loads(login["request"]["body"]["raw"]) == {"username": "{{username}}",
                                                           "password": "{{password}}"}
    refresh = found[("POST", "/api/auth/refresh")]
    assert refresh["request"]["auth"]["bearer"][0]["value"] == "{{refreshToken}}"
    task = found[("GET", "/api/tasks/{task_id}")]["request"]
    assert task["auth"]["bearer"][0]["value"] == "{{accessToken}}"
    assert [v["key"] for v in task["url"]["variable"]] == ["task_id"]
    create = json.loads(found[("POST", "/api/tasks/")]["request"]["body"]["raw"])
    assert set(create) == {"title", "project_id"}  # the required fields, as a starting point
    listing = {q["key"] for q in found[("GET", "/api/tasks/")]["request"]["url"]["query"]}
    assert {"status", "page", "page_size", "project_id"} <= listing


def test_insomnia_collection_has_every_operation_and_the_auth_variables(client):
    spec = client.get("/openapi.json").get_json()
    resp = client.get("/docs/insomnia_collection.json", base_url="http://example.test:8123")
    assert resp.status_code == 200
    export = json.loads(resp.data)
    assert export["_type"] == "export" and export["__export_format"] == 4
    by_type: dict[str, list[dict]] = {}
    for res in export["resources"]:
        by_type.setdefault(res["_type"], []).append(res)
    (env,) = by_type["environment"]
    assert env["data"]["baseUrl"] == "http://example.test:8123"
    assert {"accessToken", "refreshToken", "task_id", "project_id"} <= set(env["data"])
    ids = [res["_id"] for res in export["resources"]]
    assert len(ids) == len(set(ids))

    found = {}
    for req in by_type["request"]:
        assert req["url"].startswith("{{ _.baseUrl }}/api/")
        path = re.sub(r"\{\{ _\.(\w+) \}\}", r"{\1}", req["url"].removeprefix("{{ _.baseUrl }}"))
        found[(req["method"], path)] = req
        for name in re.findall(r"\{\{ _\.(\w+) \}\}", req["url"]):
            assert name in env["data"], f"{req['url']} uses an undefined variable {name}"
    assert set(found) == _operations(spec)
    assert found[("POST", "/api/auth/login")]["authentication"] == {}
    assert found[("POST", "/api/auth/refresh")]["authentication"]["token"] == \
        "{{ _.refreshToken }}"
    assert found[("DELETE", "/api/tasks/{task_id}")]["authentication"] == {
        "type": "bearer", "token": "{{ _.accessToken }}"}
    assert "{{ _.username }}" in found[("POST", "/api/auth/login")]["body"]["text"]


def test_collections_need_no_login_and_follow_the_document(client, app):
    """Made at request time: a route the document gains is in the next download."""
    assert client.get("/docs/postman_collection.json").status_code == 200  # anonymous
    app.api_doc["paths"]["/api/extra/{thing_id}"] = {"get": {
        "summary": "Extra", "tags": ["Extra"], "security": [{"bearerAuth": []}],
        "parameters": [{"in": "path", "name": "thing_id", "required": True}],
        "responses": {"200": {"description": "OK"}}}}
    try:
        items = list(_postman_requests(client.get("/docs/postman_collection.json").get_json()))
        insomnia = client.get("/docs/insomnia_collection.json").get_json()["resources"]
    finally:
        del app.api_doc["paths"]["/api/extra/{thing_id}"]
    assert any(i["request"]["url"]["raw"] == "{{baseUrl}}/api/extra/:thing_id" for i in items)
    assert any(r.get("url") == "{{ _.baseUrl }}/api/extra/{{ _.thing_id }}" for r in insomnia)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_postman_login_script_stores_both_tokens(client, make_user):
    """The login request's test script, run as Postman runs it, on a real login response."""
    user = make_user(role="developer")
    login = client.post("/api/auth/login",
                        json={"username": user.username, "password": user.password})
    assert login.status_code == 200
    items = _postman_requests(client.get("/docs/postman_collection.json").get_json())
    script = next(i for i in items if i["request"]["url"]["raw"].endswith("/api/auth/login")
                  )["event"][0]["script"]["exec"]
    harness = (
        "const vars = {};\n"
        f"const loginResponse = {json.dumps(login.get_json())};\n"
        "const pm = {response: {json: () => loginResponse},\n"
        "            collectionVariables: {set: (k, v) => { vars[k] = v; }}};\n"
        + "\n".join(script) + "\nconsole.log(JSON.stringify(vars));\n")
    out = subprocess.run(["node", "-e", harness], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    stored = json.loads(out.stdout)
    data = login.get_json()["data"]
    assert stored == {"accessToken": data["access_token"], "refreshToken": data["refresh_token"]}
