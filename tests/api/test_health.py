"""Health: liveness, detailed checks with real round trips, and a stopped Redis."""

from __future__ import annotations

import pytest

from app import create_app
from app.embedded_redis import EmbeddedRedis


def test_basic_health_needs_no_auth(client):
    resp = client.get("/api/health/")
    assert resp.status_code == 200
    data = resp.json["data"]
    assert data["status"] == "healthy"
    assert data["version"] == "1.0.0"
    assert isinstance(data["uptime"], int) and data["uptime"] >= 0


def test_detailed_health_with_a_worker_is_healthy(client, start_worker):
    start_worker()
    resp = client.get("/api/health/detailed")
    data = resp.json["data"]
    assert resp.status_code == 200, data
    assert data["status"] == "healthy"
    db_check = data["checks"]["database"]
    assert db_check["status"] == "healthy" and db_check["response_time"] >= 0
    assert set(db_check["connections"]) >= {"active", "idle", "total"}
    assert data["checks"]["redis"]["status"] == "healthy"
    assert data["checks"]["redis"]["connected_clients"] >= 1
    assert data["checks"]["redis"]["memory_usage"]
    assert data["checks"]["workers"]["total"] >= 1
    assert data["checks"]["websocket"]["active_connections"] == 0


def test_no_worker_means_degraded_503(client):
    resp = client.get("/api/health/detailed")
    assert resp.status_code == 503
    assert resp.json["data"]["status"] == "degraded"
    assert resp.json["data"]["checks"]["workers"]["total"] == 0


def test_request_metrics_add_up_from_redis(client):
    for _ in range(3):
        client.get("/api/health/")
    client.get("/api/nope")
    metrics = client.get("/api/health/detailed").json["data"]["metrics"]
    assert metrics["requests_per_minute"] >= 4
    assert metrics["average_response_time"] > 0
    assert metrics["error_rate"] == 0.0


def test_websocket_count_comes_from_the_shared_counter(client, app):
    from app.services import metrics

    with app.app_context():
        metrics.set_process_websockets(3)
    assert client.get("/api/health/detailed").json["data"]["checks"]["websocket"][
        "active_connections"] == 3


@pytest.fixture
def app_on_doomed_redis(app_config, tmp_path):
    server = EmbeddedRedis(tmp_path / "doomed")
    url = server.start()
    application = create_app({**app_config, "REDIS_URL": url,
                              "RATELIMIT_STORAGE_URI": url.replace("unix://", "redis+unix://")})
    yield application, server
    server.stop()


def test_stopped_redis_is_unhealthy_and_nothing_500s(app_on_doomed_redis, developer, auth):
    application, server = app_on_doomed_redis
    client = application.test_client()
    assert client.get("/api/health/").status_code == 200
    server.stop()
    resp = client.get("/api/health/detailed")
    assert resp.status_code == 503
    data = resp.json["data"]
    assert data["status"] == "unhealthy"
    assert data["checks"]["redis"]["status"] == "unhealthy"
    assert data["checks"]["database"]["status"] == "healthy"
    # Rate limiting falls back to memory: public routes still answer, with limit headers
    # (health is never limited, so it answers whatever the limiter's storage does).
    again = client.get("/api/health/")
    assert again.status_code == 200
    limited = client.get("/api/no-such-route")
    assert limited.status_code == 404
    assert "X-RateLimit-Limit" in limited.headers
    # Authenticated routes cannot check the revocation list: a clear 503, not a 500.
    refused = client.get("/api/users/profile", headers=auth(developer))
    assert refused.status_code == 503
    assert refused.json["error"]["code"] == "SYSTEM_OVERLOADED"


def test_stopped_database_is_unhealthy(app_config, tmp_path):
    application = create_app({**app_config,
                              "SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent/dir/x.db"})
    resp = application.test_client().get("/api/health/detailed")
    assert resp.status_code == 503
    assert resp.json["data"]["checks"]["database"]["status"] == "unhealthy"
    assert resp.json["data"]["status"] == "unhealthy"
