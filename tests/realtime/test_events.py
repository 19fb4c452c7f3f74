"""Events from the services reach the right sockets as the reference's messages, and only
those sockets: task_update, task_completed, project_update, notification, session end."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def svc(app):
    """Run a service call inside an app context with the users reloaded."""

    def call(fn, *args, **kwargs):
        with app.app_context():
            return fn(*args, **kwargs)

    return call


def _user(user):
    from app.extensions import db
    from app.models.user import User

    return db.session.get(User, user.id)


def _set_status(task_id, status, user, exit_code=None):
    from app.extensions import db
    from app.models.execution import TaskExecution
    from app.models.task import Task
    from app.services.task_status import change_status

    task = db.session.get(Task, task_id)
    if exit_code is not None:
        db.session.add(TaskExecution(task_id=task.id, project_id=task.project_id,
                                     triggered_by=user.id, status="completed",
                                     exit_code=exit_code, executor="shell"))
    change_status(task, status, user.id)
    db.session.commit()


def test_task_updates_by_task(connect, developer, project_of, task_of, svc):
    project = project_of(developer)
    task = task_of(project, developer, title="Build it")
    other = task_of(project, developer)
    ws = connect(developer)
    ws.send(type="subscribe", channel="task_updates", task_id=str(task.id))
    assert ws.expect("subscribed")["data"] == {"channel": "task_updates", "task_id": str(task.id)}
    svc(_set_status, other.id, "running", developer)  # not subscribed: never arrives
    svc(_set_status, task.id, "running", developer)
    update = ws.expect("task_update")
    assert update["data"]["task_id"] == str(task.id)
    assert update["data"]["status"] == "running"
    assert update["data"]["event"] == "task.updated"
    assert {"progress_percentage", "updated_at"} <= set(update["data"])
    svc(_set_status, task.id, "completed", developer, exit_code=0)
    assert ws.expect("task_update")["data"]["status"] == "completed"
    done = ws.expect("task_completed")
    assert done["data"]["task_id"] == str(task.id)
    assert done["data"]["status"] == "completed"
    assert done["data"]["exit_code"] == 0
    assert done["data"]["completed_at"].endswith("Z")
    assert done["data"]["duration"].count(":") == 2
    assert all(m["data"].get("task_id") != str(other.id) for m in ws.seen)


def test_task_updates_by_project_see_new_tasks(connect, developer, project_of, task_of):
    project = project_of(developer)
    ws = connect(developer)
    ws.send(type="subscribe", channel="task_updates", project_id=str(project.id))
    ws.expect("subscribed")
    task = task_of(project, developer, title="Fresh")
    update = ws.expect("task_update")
    assert update["data"]["event"] == "task.created"
    assert update["data"]["task_id"] == str(task.id)
    assert update["data"]["title"] == "Fresh"


def test_project_updates(connect, developer, project_of, svc):
    from app.services import projects

    project = project_of(developer)
    ws = connect(developer)
    ws.send(type="subscribe", channel="project_updates", project_id=str(project.id))
    ws.expect("subscribed")
    svc(lambda: projects.update_project(project.id, _user(developer),
                                        {"description": "New words"}))
    update = ws.expect("project_update")
    assert update["data"]["project_id"] == str(project.id)
    assert update["data"]["event"] == "project.updated"
    assert update["data"]["description"] == "New words"


def test_member_sees_shared_project_stranger_does_not(connect, developer, make_user,
                                                      project_of, task_of):
    member, stranger = make_user(), make_user()
    project = project_of(developer, settings={"members": [str(member.id)]})
    ws = connect(member)
    ws.send(type="subscribe", channel="task_updates", project_id=str(project.id))
    ws.expect("subscribed")
    other = connect(stranger)
    other.send(type="subscribe", channel="system")
    other.expect("subscribed")
    task_of(project, developer)
    assert ws.expect("task_update")["data"]["event"] == "task.created"
    assert not [m for m in other.quiet(0.3) if m["type"] == "task_update"]


def test_maintenance_notifications_on_the_system_channel(connect, developer, svc):
    from app.services.system import set_maintenance

    ws = connect(developer)
    ws.send(type="subscribe", channel="system")
    ws.expect("subscribed")
    svc(set_maintenance, True, "Upgrading the database", "ops")
    on = ws.expect("notification")["data"]
    assert on["level"] == "warning" and on["title"] == "System Maintenance"
    assert on["message"] == "Upgrading the database"
    assert on["actions"][0] == {"label": "Dismiss", "action": "dismiss"}
    svc(set_maintenance, False)
    off = ws.expect("notification")["data"]
    assert off["level"] == "info" and off["enabled"] is False


def test_your_failing_task_is_a_notification(connect, developer, make_user, project_of, task_of,
                                             svc):
    colleague = make_user()
    project = project_of(developer, settings={"members": [str(colleague.id)]})
    task = task_of(project, developer, title="Deploy")
    mine = connect(developer)
    theirs = connect(colleague)
    for ws in (mine, theirs):
        ws.send(type="subscribe", channel="system")
        ws.expect("subscribed")
    svc(_set_status, task.id, "running", developer)
    svc(_set_status, task.id, "failed", developer)
    note = mine.expect("notification")["data"]
    assert note["level"] == "error" and note["title"] == "Task failed"
    assert "Deploy" in note["message"] and note["task_id"] == str(task.id)
    assert not [m for m in theirs.quiet(0.3) if m["type"] == "notification"]


def test_a_notification_event_reaches_only_its_user(connect, developer, make_user, app):
    from app.services import events

    other = make_user()
    mine, theirs = connect(developer), connect(other)
    with app.app_context():
        events.publish(events.make_event("notification", {
            "level": "info", "title": "Hello", "message": "Just you"}, user_id=developer.id))
    note = mine.expect("notification")["data"]
    assert note["title"] == "Hello" and note["message"] == "Just you"
    assert not theirs.quiet(0.3)


def test_deleting_the_session_ends_its_sockets(connect, developer, new_session, svc):
    from app.services import sessions

    session_id = new_session(developer)
    ws = connect(developer, session_id)
    svc(lambda: sessions.delete_session(uuid.UUID(session_id), _user(developer)))
    assert ws.expect("error")["data"]["code"] == "SESSION_NOT_FOUND"
    assert ws.closed()
