"""Pagination edges of the task list: last page, past the end, page_size 100 and 101."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.services.tasks import create_task
from tests import factories


@pytest.fixture
def many(ctx, developer):
    """101 tasks made through the service (one commit), titled in sort order."""
    project = factories.project(developer)
    for i in range(101):
        create_task(developer, {"project_id": project.id, "title": f"task {i:03d}"},
                    commit=False)
    db.session.commit()
    return project


def titles(data):
    return [item["title"] for item in data["items"]]


def test_default_page_size_is_50(api_for, developer, many):
    data = api_for(developer).ok("get", "/api/tasks/", sort="title", order="asc")
    assert (data["total"], data["page_size"], data["pages"], len(data["items"])) == (
        101, 50, 3, 50)
    assert data["has_next"] and not data["has_previous"]
    assert data["links"]["first"].startswith("/api/tasks/?")
    assert "page=2" in data["links"]["next"] and data["links"]["previous"] is None
    assert "page=3" in data["links"]["last"] and "sort=title" in data["links"]["last"]


def test_page_size_100_then_the_last_page(api_for, developer, many):
    api = api_for(developer)
    first = api.ok("get", "/api/tasks/", sort="title", order="asc", page_size=100)
    assert len(first["items"]) == 100 and first["pages"] == 2 and first["has_next"]
    last = api.ok("get", "/api/tasks/", sort="title", order="asc", page_size=100, page=2)
    assert titles(last) == ["task 100"]
    assert not last["has_next"] and last["has_previous"] and last["links"]["next"] is None
    assert "page=1" in last["links"]["previous"]
    every = titles(first) + titles(last)
    assert every == [f"task {i:03d}" for i in range(101)]


def test_page_past_the_end_is_empty_not_an_error(api_for, developer, many):
    data = api_for(developer).ok("get", "/api/tasks/", page=9, page_size=50)
    assert data["items"] == [] and data["total"] == 101 and data["page"] == 9
    assert not data["has_next"] and data["pages"] == 3


@pytest.mark.parametrize("params", [{"page_size": 101}, {"page_size": 0}, {"page": 0},
                                    {"page": -1}, {"page_size": "many"}])
def test_out_of_range_paging_is_422(api_for, developer, many, params):
    status, code, error = api_for(developer).error("get", "/api/tasks/", **params)
    assert status == 422 and code.startswith("VALIDATION_")
    assert error["details"]["field"] in ("page", "page_size")


def test_empty_list(api_for, developer):
    data = api_for(developer).ok("get", "/api/tasks/")
    assert data["items"] == [] and data["total"] == 0 and data["pages"] == 1
    assert not data["has_next"] and not data["has_previous"]
