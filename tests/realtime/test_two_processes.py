"""Any web process can serve any client: an event produced behind one process reaches a socket
of another (each process has its own hub; Redis pub/sub joins them)."""

from __future__ import annotations

import json
import urllib.request

import pytest

pytestmark = pytest.mark.slow


def test_events_cross_between_web_processes(app, server, start_gunicorn, connect, developer,
                                            project_of, task_of, token, new_session):
    other = start_gunicorn(threads=20)
    project = project_of(developer)
    task = task_of(project, developer, title="Shared")
    on_gunicorn = connect(developer, url=other.url)
    on_threaded = connect(developer)
    for ws in (on_gunicorn, on_threaded):
        ws.send(type="subscribe", channel="task_updates", task_id=str(task.id))
        ws.expect("subscribed")

    # Produced in this process (behind the threaded server): reaches the gunicorn client.
    with app.app_context():
        from app.extensions import db
        from app.models.user import User
        from app.services import tasks

        tasks.update_task(task.id, db.session.get(User, developer.id), {"priority": 7})
    assert on_gunicorn.expect("task_update")["data"]["priority"] == 7

    # Produced by a request to the gunicorn process: reaches the threaded server's client.
    request = urllib.request.Request(
        f"{other.url}/api/tasks/{task.id}", method="PUT",
        data=json.dumps({"title": "Renamed over there"}).encode(),
        headers={"Authorization": f"Bearer {token(developer)}",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as resp:
        assert resp.status == 200
    update = on_threaded.expect("task_update", where=lambda m: m["data"].get("title") ==
                                "Renamed over there")
    assert update["data"]["task_id"] == str(task.id)
    assert on_gunicorn.expect("task_update", where=lambda m: m["data"].get("title") ==
                              "Renamed over there")
