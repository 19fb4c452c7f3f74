"""A project's budget alert is a `system.alert` about that project: on the `system` channel it
reaches the project's people, not everyone (other system alerts still reach everyone)."""

from __future__ import annotations

from app.errors import utcnow


def test_a_budget_alert_reaches_the_projects_people_only(app, connect, developer, make_user,
                                                          project_of, task_of):
    from app.extensions import db
    from app.models.execution import TaskExecution
    from app.services import budgets, events

    member, stranger = make_user(), make_user()
    project = project_of(developer, resource_limits={"monthly_budget_usd": 10},
                         settings={"members": [str(member.id)]})
    task = task_of(project, developer, title="Spend", executor="claude")
    sockets = {who: connect(user) for who, user in (("owner", developer), ("member", member),
                                                    ("stranger", stranger))}
    for ws in sockets.values():
        ws.send(type="subscribe", channel="system")
        ws.expect("subscribed")
    with app.app_context():
        db.session.add(TaskExecution(task_id=task.id, project_id=project.id, status="completed",
                                     executor="claude", queue="normal", options={},
                                     started_at=utcnow(), cost_usd=8.5))
        db.session.commit()
        assert budgets.spend_recorded(project.id) == [80]
        # Then an alert about no project, which everyone gets.
        events.publish(events.make_event("system.alert", {
            "level": "info", "title": "Queue paused", "message": "Queue low paused"}))
    for who in ("owner", "member"):
        note = sockets[who].expect("notification")["data"]
        assert note["title"] == f"Budget 80 % reached: {project.name}", who
        assert note["alert"] == "budget" and note["details"]["spent_usd"] == 8.5
    # The stranger's first notification is the general one: the budget's never came.
    assert sockets["stranger"].expect("notification")["data"]["title"] == "Queue paused"
