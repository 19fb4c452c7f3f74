"""The shared factories make real rows through the services."""

from pathlib import Path

from app.errors import utcnow
from app.services import workspace
from tests import factories


def test_project_and_task_factories(ctx, developer):
    project = factories.project(developer, name="Demo", settings={"theme": "dark"})
    assert project.name == "Demo" and project.created_by == developer.id
    assert Path(workspace.project_dir(project.id)).is_dir()
    task = factories.task(project, developer, title="Write docs", tags=["Docs", "docs", "x"],
                          estimated_duration="01:00:00")
    assert task.tags == ["docs", "x"]
    assert task.estimated_duration == 3600 and task.status == "pending"
    done = factories.task(project, developer, status="completed", completed_at=utcnow(),
                          actual_duration=60)
    assert done.status == "completed" and done.actual_duration == 60
