"""Every filter and search form of GET /api/tasks/, alone and combined, with expected tasks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests import factories
from tests.tasks.helpers import Api


@pytest.fixture
def world(ctx, api_for):
    """Six tasks of a known shape in A's project, plus a look-alike in C's project that A
    must never see."""
    a, b, c = factories.user(), factories.user(), factories.user()
    p = factories.project(a, name="P", settings={"members": [str(b.id)]})
    q = factories.project(c, name="Q")

    def make(day, **kw):
        return factories.task(p, a, created_at=datetime(2025, 7, day, 12, tzinfo=UTC), **kw)

    tasks = {
        "t1": make(1, title="Implement user authentication", priority=5,
                   description="Add JWT-based authentication to the API",
                   tags=["security", "backend"], assigned_to=a.id),
        "t2": make(5, title="Authorize admin routes", description="Role checks",
                   tags=["security"], priority=3, assigned_to=b.id, status="running"),
        "t3": make(10, title="Write docs", description="User authentication guide",
                   tags=["docs"], priority=1, status="completed"),
        "t4": make(15, title="Rate limit login", priority=8, assigned_to=a.id,
                   description="Throttle auth attempts;\nsecurity review", tags=["backend"],
                   status="failed"),
        "t5": make(20, title="Draft: user-auth flow"),
        "t6": make(25, title="100% coverage", description="under_score and 50% off",
                   tags=["qa"], priority=2, status="cancelled"),
    }
    factories.task(q, c, title="Implement user authentication", tags=["security"])
    names = {str(t.id): key for key, t in tasks.items()}
    return {"api": api_for(a), "a": a, "b": b, "p": p, "q": q, "names": names}


def listed(world, **params) -> list[str]:
    api: Api = world["api"]
    data = api.ok("get", "/api/tasks/", **{"sort": "created_at", "order": "asc", **params})
    assert data["total"] == len(data["items"])
    return [world["names"][item["id"]] for item in data["items"]]


@pytest.mark.parametrize("params, expected", [
    ({}, ["t1", "t2", "t3", "t4", "t5", "t6"]),
    ({"status": "pending"}, ["t1", "t5"]),
    ({"status": "pending,running"}, ["t1", "t2", "t5"]),
    ({"status": " completed , failed "}, ["t3", "t4"]),
    ({"priority": 5}, ["t1", "t4"]),
    ({"priority": 0}, ["t1", "t2", "t3", "t4", "t5", "t6"]),
    ({"tags": "security"}, ["t1", "t2"]),
    ({"tags": "security,backend"}, ["t1"]),
    ({"tags": "Security"}, ["t1", "t2"]),
    ({"tags": "nothing"}, []),
    ({"created_after": "2025-07-10T00:00:00Z"}, ["t3", "t4", "t5", "t6"]),
    ({"created_before": "2025-07-10T00:00:00Z"}, ["t1", "t2"]),
    ({"created_after": "2025-07-05T12:00:00+00:00", "created_before": "2025-07-15T12:00:00Z"},
     ["t2", "t3"]),
    ({"created_after": "2025-07-05T14:00:00+02:00"}, ["t2", "t3", "t4", "t5", "t6"]),
    ({"status": "pending,running", "tags": "security", "priority": 4}, ["t1"]),
    ({"status": "failed,pending", "tags": "backend", "search": "auth*"}, ["t1", "t4"]),
    ({"search": "security", "created_before": "2025-07-04T00:00:00Z"}, ["t1"]),
])
def test_filters(world, params, expected):
    assert listed(world, **params) == expected


def test_assigned_to_and_project_filters(world):
    assert listed(world, assigned_to=str(world["a"].id)) == ["t1", "t4"]
    assert listed(world, assigned_to=str(world["b"].id)) == ["t2"]
    assert listed(world, project_id=str(world["p"].id)) == ["t1", "t2", "t3", "t4", "t5", "t6"]
    status, code, _ = world["api"].error("get", "/api/tasks/", project_id=str(world["q"].id))
    assert (status, code) == (403, "PROJECT_ACCESS_DENIED")


@pytest.mark.parametrize("search, expected", [
    ("authentication", ["t1", "t3"]),
    ("AUTHENTICATION", ["t1", "t3"]),
    ("auth", ["t4", "t5"]),
    ("auth*", ["t1", "t2", "t3", "t4", "t5"]),
    ("auth* AND security", ["t1", "t2", "t4"]),
    ("auth* security", ["t1", "t2", "t4"]),
    ('"user authentication"', ["t1", "t3"]),
    ('"user auth"', ["t5"]),
    ('"throttle auth attempts security"', ["t4"]),
    ("user authentication", ["t1", "t3"]),
    ("auth OR docs", ["t3", "t4", "t5"]),
    ("auth* NOT security", ["t3", "t5"]),
    ("auth* AND NOT security", ["t3", "t5"]),
    ("NOT auth*", ["t6"]),
    ("(authorize OR docs) AND NOT security", ["t3"]),
    ("title:authentication", ["t1"]),
    ("description:authentication", ["t1", "t3"]),
    ('title:"rate limit"', ["t4"]),
    ("tags:backend", ["t1", "t4"]),
    ("tags:back*", ["t1", "t4"]),
    ("tags:sec* AND NOT tags:backend", ["t2"]),
    ("status:failed OR status:cancelled", ["t4", "t6"]),
    ("status:c*", ["t3", "t6"]),
    ("100%", ["t6"]),
    ("50%", ["t6"]),
    ("under_score", ["t6"]),
    ("and", ["t6"]),
    ("implement", ["t1"]),
    ("jwt-based", ["t1"]),
    ("zzz", []),
])
def test_search(world, search, expected):
    assert listed(world, search=search) == expected


@pytest.mark.parametrize("params, field", [
    ({"status": "pending,bogus"}, "status"),
    ({"tags": "not a tag"}, "tags"),
    ({"sort": "password"}, "sort"),
    ({"order": "sideways"}, "order"),
    ({"priority": "high"}, "priority"),
    ({"created_after": "yesterday"}, "created_after"),
    ({"assigned_to": "someone"}, "assigned_to"),
    ({"search": "auth AND"}, "search"),
    ({"search": "status:bogus"}, "search"),
    ({"search": "x" * 501}, "search"),
])
def test_bad_filters_are_422(world, params, field):
    status, code, error = world["api"].error("get", "/api/tasks/", **params)
    assert status == 422 and code.startswith("VALIDATION_"), error
    assert error["details"]["field"] == field


def test_malformed_search_says_where(world):
    status, code, error = world["api"].error("get", "/api/tasks/", search="(auth OR docs")
    assert (status, code) == (422, "VALIDATION_INVALID_FORMAT")
    assert error["details"]["position"] == 0 and "missing ')'" in error["message"]


def test_sorting(world):
    by_priority = listed(world, sort="priority", order="desc")
    assert by_priority == ["t4", "t1", "t2", "t6", "t3", "t5"]
    assert listed(world, sort="title", order="asc") == ["t6", "t2", "t5", "t1", "t4", "t3"]
    assert listed(world, sort="created_at", order="desc") == ["t6", "t5", "t4", "t3", "t2",
                                                              "t1"]


def test_project_tasks_endpoint_uses_the_same_filters(world):
    api: Api = world["api"]
    data = api.ok("get", f"/api/projects/{world['p'].id}/tasks", status="pending",
                  order="asc")
    assert [world["names"][i["id"]] for i in data["items"]] == ["t1", "t5"]
    assert "project_id" not in data["links"]["first"]
    assert api.error("get", f"/api/projects/{world['q'].id}/tasks")[:2] == (
        403, "PROJECT_ACCESS_DENIED")


def test_nested_not_and_parentheses_are_bounded_with_a_clear_422(world):
    """25 nested NOTs once overflowed SQLite's parser (a 503); now ten levels of NOT and
    parentheses together are the limit, said with the position where it was passed."""
    assert listed(world, search="NOT " * 10 + "docs") == ["t3"]  # an even count cancels out
    assert listed(world, search="NOT (" * 4 + "docs OR qa" + ")" * 4) == ["t3", "t6"]
    for query in ("NOT " * 25 + "docs", "(NOT " * 6 + "docs" + ")" * 6):
        status, code, error = world["api"].error("get", "/api/tasks/", search=query)
        assert (status, code) == (422, "VALIDATION_INVALID_FORMAT"), error
        assert error["details"]["field"] == "search"
        assert "nested deeper than 10 levels" in error["details"]["issue"]
    _, _, error = world["api"].error("get", "/api/tasks/", search="NOT " * 25 + "docs")
    assert error["details"]["position"] == 40  # the 11th NOT


def test_many_chained_nots_are_just_terms(world):
    chained = " ".join(f"NOT zz{i}" for i in range(25)) + " NOT security NOT docs NOT qa"
    assert listed(world, search=chained) == ["t5"]
    _, code, error = world["api"].error("get", "/api/tasks/",
                                        search=" ".join(f"NOT zz{i}" for i in range(31)))
    assert code == "VALIDATION_INVALID_FORMAT" and "at most 30 search terms" in error["message"]
