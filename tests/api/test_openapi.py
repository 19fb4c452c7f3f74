"""`/openapi.json` (OpenAPI 3.1) and Swagger UI at `/docs` from local assets."""

from __future__ import annotations


def test_openapi_document_lists_every_api_route_with_schemas(client, app):
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api") or rule.rule.startswith("/api/_"):
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        path = path.replace("{uuid:", "{").replace("{int:", "{").replace("{path:", "{")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} not documented"
    for path, item in spec["paths"].items():
        for method, op in item.items():
            ok = [code for code in op["responses"] if code.startswith("2")]
            assert ok, f"{method} {path} has no success response"
            schema = op["responses"][ok[0]]["content"]["application/json"]["schema"]
            assert "$ref" in schema, f"{method} {path} success response has no schema"
            assert not schema["$ref"].endswith("/EmptyEnvelope"), \
                f"{method} {path} documents no response data model"
            if path not in ("/api/health/", "/api/health/detailed", "/api/auth/login"):
                assert op.get("security") == [{"bearerAuth": []}], f"{method} {path} security"


def test_request_bodies_are_documented(client):
    spec = client.get("/openapi.json").json
    login = spec["paths"]["/api/auth/login"]["post"]
    ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[1]
    assert set(spec["components"]["schemas"][name]["required"]) == {"username", "password"}


def test_swagger_ui_is_served_from_local_assets(client):
    resp = client.get("/docs", follow_redirects=True)
    assert resp.status_code == 200
    html = resp.data.decode()
    assert "swagger-ui-bundle.js" in html
    assert "://" not in html.split("swagger-ui-bundle.js")[0].rsplit('"', 1)[-1]
    asset = client.get("/docs/swagger/js/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
