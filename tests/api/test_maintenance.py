"""Maintenance mode: writes answer 503 SYSTEM_MAINTENANCE; reads, health and login still work."""

from __future__ import annotations

import pytest

from app.services import system


@pytest.fixture
def maintenance(app):
    def switch(on: bool, message: str | None = None):
        with app.app_context():
            system.set_maintenance(on, message, by="test")

    return switch


def test_writes_refused_reads_allowed(client, developer, auth, maintenance):
    maintenance(True, "Upgrading the database")
    headers = auth(developer)
    write = client.put("/api/users/preferences", headers=headers, json={"theme": "dark"})
    assert write.status_code == 503
    assert write.json["error"]["code"] == "SYSTEM_MAINTENANCE"
    assert write.json["error"]["message"] == "Upgrading the database"
    assert client.get("/api/users/profile", headers=headers).status_code == 200
    assert client.get("/api/health/").status_code == 200
    login = client.post("/api/auth/login",
                        json={"username": developer.username, "password": developer.password})
    assert login.status_code == 200
    maintenance(False)
    again = client.put("/api/users/preferences", headers=headers, json={"theme": "dark"})
    assert again.status_code == 200


def test_refused_write_changes_nothing(client, app, developer, auth, maintenance):
    maintenance(True)
    client.put("/api/users/preferences", headers=auth(developer), json={"theme": "dark"})
    maintenance(False)
    prefs = client.get("/api/users/profile", headers=auth(developer)).json["data"]["preferences"]
    assert prefs["theme"] == "light"


def test_state_is_shared_through_the_database(app, maintenance):
    maintenance(True, "x")
    with app.app_context():
        assert system.maintenance_state(fresh=True)["enabled"] is True
    maintenance(False)
    with app.app_context():
        assert system.maintenance_state(fresh=True)["enabled"] is False


def test_system_info_reports_maintenance_and_limits(client, developer, auth, maintenance, app):
    maintenance(True)
    info = client.get("/api/system/info", headers=auth(developer)).json["data"]
    assert info["features"]["maintenance_mode"] is True
    assert info["version"] == "1.0.0"
    assert info["environment"] == "test"
    assert info["limits"]["max_tasks_per_project"] == app.config["MAX_TASKS_PER_PROJECT"]
    assert info["limits"]["max_file_size"] == "10MB"


def test_stopping_things_still_works_during_maintenance(client, admin, developer, auth,
                                                        maintenance):
    """Maintenance refuses new work, not the means to stop work or to look before acting."""
    maintenance(True)
    validate = client.post("/api/commands/validate", headers=auth(developer),
                           json={"command": "ls -la"})
    assert validate.status_code == 200
    pause = client.post("/api/queues/pause", headers=auth(admin),
                        json={"queue_name": "low", "reason": "maintenance"})
    assert pause.status_code == 200
    resume = client.post("/api/queues/resume", headers=auth(admin), json={"queue_name": "low"})
    assert resume.status_code == 200
    run = client.post("/api/commands/execute", headers=auth(developer),
                      json={"command": "echo hi"})
    assert run.status_code == 503 and run.json["error"]["code"] == "SYSTEM_MAINTENANCE"


def test_every_exempt_api_route_is_marked_on_its_registered_view(app):
    exempt = {name for name, view in app.view_functions.items()
              if getattr(view, "_maintenance_exempt", False) and name.startswith("api_")}
    assert {"api_auth.logout", "api_commands.cancel", "api_commands.validate",
            "api_task_runs.cancel_task", "api_queues.pause", "api_queues.resume",
            "api_queues.clear", "api_queues.priority"} <= exempt
