"""Project analytics checked against a hand-made set of tasks with known times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.models.user import User
from app.services.analytics import productivity_score, project_analytics
from tests import factories

NOW = datetime(2025, 7, 30, 15, 0, tzinfo=UTC)


def at(days_ago: int, hour: int) -> datetime:
    return (NOW - timedelta(days=days_ago)).replace(hour=hour, minute=0, second=0)


@pytest.fixture
def fixture_set(ctx, developer):
    """
    key created       completed        actual est    who       note
    T1  -6d 10:00     -5d 10:00 (24h)  3600   7200   A         on time
    T2  -6d 12:00     -4d 12:00 (48h)  7200   3600   B         late
    T3  -3d 08:00     -1d 08:00 (48h)  1800   -      B         no estimate
    T4  -2d 09:00     pending          -      -      A
    T5  -1d 09:00     failed           -      -      (creator A)
    T6  -10d 08:00    -2d 08:00 (192h) 600    600    A         on time; outside 7d
    T7  -3d 09:00     deleted                                  never counted
    """
    a = developer
    b = factories.user(full_name="Bea Builder")
    project = factories.project(a, settings={"members": [str(b.id)]})

    def done(created, completed, actual, est, who):
        return factories.task(project, a, assigned_to=who.id, estimated_duration=est,
                              status="completed", created_at=created, completed_at=completed,
                              started_at=completed - timedelta(seconds=actual),
                              actual_duration=actual, progress_percentage=100)

    done(at(6, 10), at(5, 10), 3600, "02:00:00", a)
    done(at(6, 12), at(4, 12), 7200, "01:00:00", b)
    done(at(3, 8), at(1, 8), 1800, None, b)
    factories.task(project, a, assigned_to=a.id, created_at=at(2, 9))
    factories.task(project, a, status="failed", created_at=at(1, 9))
    done(at(10, 8), at(2, 8), 600, "00:10:00", a)
    factories.task(project, a, created_at=at(3, 9), deleted_at=NOW)
    return {"project": project, "a": a, "b": b}


def test_seven_days(fixture_set):
    a, b = fixture_set["a"], fixture_set["b"]
    data = project_analytics(fixture_set["project"].id, a, "7d", now=NOW)
    assert data["summary"] == {"total_tasks": 5, "completed_tasks": 3,
                               "average_completion_time": "40:00:00",
                               "productivity_score": 0.56}
    assert data["task_trends"]["days"][0] == "2025-07-24"
    assert data["task_trends"]["days"][-1] == "2025-07-30"
    assert data["task_trends"]["created_per_day"] == [2, 0, 0, 1, 1, 1, 0]
    assert data["task_trends"]["completed_per_day"] == [0, 1, 1, 0, 1, 1, 0]
    assert data["performance_metrics"] == {"average_task_duration": "01:10:00",
                                           "median_task_duration": "01:00:00",
                                           "completion_rate": 0.6,
                                           "on_time_completion_rate": 0.5}
    assert data["team_performance"] == [
        {"user_id": str(b.id), "user_name": "Bea Builder", "tasks_total": 2,
         "tasks_completed": 2, "average_duration": "01:15:00", "completion_rate": 1.0},
        {"user_id": str(a.id), "user_name": a.username, "tasks_total": 3,
         "tasks_completed": 1, "average_duration": "01:00:00", "completion_rate": 0.333},
    ]
    assert data["period_start"] == "2025-07-24T00:00:00Z"


def test_thirty_days(fixture_set):
    data = project_analytics(fixture_set["project"].id, fixture_set["a"], "30d", now=NOW)
    assert data["summary"]["total_tasks"] == 6 and data["summary"]["completed_tasks"] == 4
    assert data["summary"]["average_completion_time"] == "78:00:00"
    metrics = data["performance_metrics"]
    assert metrics == {"average_task_duration": "00:55:00",
                       "median_task_duration": "00:45:00",
                       "completion_rate": 0.667, "on_time_completion_rate": 0.667}
    assert data["summary"]["productivity_score"] == 0.667
    trends = data["task_trends"]
    assert len(trends["created_per_day"]) == 30 and sum(trends["created_per_day"]) == 6
    assert trends["created_per_day"][-11] == 1  # T6, ten days before the last day


@pytest.mark.parametrize("period, days", [("90d", 90), ("1y", 365)])
def test_every_period_is_zero_filled(fixture_set, period, days):
    data = project_analytics(fixture_set["project"].id, fixture_set["a"], period, now=NOW)
    trends = data["task_trends"]
    assert len(trends["days"]) == len(trends["created_per_day"]) == days
    assert len(trends["completed_per_day"]) == days
    assert sum(trends["completed_per_day"]) == 4


def test_empty_project(ctx, developer):
    project = factories.project(developer)
    data = project_analytics(project.id, developer, "7d", now=NOW)
    assert data["summary"] == {"total_tasks": 0, "completed_tasks": 0,
                               "average_completion_time": None, "productivity_score": 0.0}
    assert data["performance_metrics"] == {"average_task_duration": None,
                                           "median_task_duration": None,
                                           "completion_rate": None,
                                           "on_time_completion_rate": None}
    assert data["task_trends"]["created_per_day"] == [0] * 7
    assert data["team_performance"] == []


def test_productivity_score_definition():
    assert productivity_score(None, None) == 0.0
    assert productivity_score(0.5, None) == 0.5
    assert productivity_score(1.0, 0.0) == 0.6
    assert productivity_score(0.6, 0.5) == 0.56


def test_api_period_and_access(api_for, fixture_set):
    api = api_for(fixture_set["a"])
    pid = fixture_set["project"].id
    data = api.ok("get", f"/api/projects/{pid}/analytics")
    assert data["period"] == "30d" and len(data["task_trends"]["created_per_day"]) == 30
    assert api.ok("get", f"/api/projects/{pid}/analytics", period="1y")["period"] == "1y"
    status, code, error = api.error("get", f"/api/projects/{pid}/analytics", period="2w")
    assert (status, error["details"]["field"]) == (422, "period") and code.startswith(
        "VALIDATION_")
    stranger = factories.user()
    assert api_for(stranger).error("get", f"/api/projects/{pid}/analytics")[:2] == (
        403, "PROJECT_ACCESS_DENIED")
    assert isinstance(fixture_set["b"], User)
