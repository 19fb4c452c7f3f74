"""The envelope, request ids and error codes of every /api response (CONTRACT §8)."""

from __future__ import annotations

import re

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def assert_envelope(body: dict, ok: bool = True) -> None:
    assert set(body) == {"data", "error", "meta"}
    assert ISO.match(body["meta"]["timestamp"])
    assert body["meta"]["request_id"]
    assert body["meta"]["version"] == "1.0.0"
    if ok:
        assert body["error"] is None
    else:
        assert body["data"] is None
        assert set(body["error"]) == {"code", "message", "details"}


def test_success_has_envelope_and_generated_request_id(client):
    resp = client.get("/api/health/")
    assert resp.status_code == 200
    assert_envelope(resp.json)
    assert resp.headers["X-Request-ID"] == resp.json["meta"]["request_id"]


def test_request_id_is_echoed(client):
    resp = client.get("/api/health/", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["X-Request-ID"] == "abc-123"
    assert resp.json["meta"]["request_id"] == "abc-123"


def test_unsafe_request_id_is_replaced(client):
    resp = client.get("/api/health/", headers={"X-Request-ID": "<script>"})
    assert resp.headers["X-Request-ID"] != "<script>"


def test_unknown_route_is_404_envelope(client):
    resp = client.get("/api/does-not-exist")
    assert resp.status_code == 404
    assert_envelope(resp.json, ok=False)
    assert resp.json["error"]["code"] == "RESOURCE_NOT_FOUND"


def test_wrong_method_is_405_envelope(client):
    resp = client.delete("/api/health/")
    assert resp.status_code == 405
    assert resp.json["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in resp.headers["Allow"]


def test_oversized_body_is_413_envelope(client, app):
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    resp = client.post("/api/auth/login", data=big, content_type="application/json")
    assert resp.status_code == 413
    assert_envelope(resp.json, ok=False)
    assert resp.json["error"]["code"] == "PAYLOAD_TOO_LARGE"
