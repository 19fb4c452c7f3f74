"""The shared pagination payload (reference "Pagination")."""

from __future__ import annotations

from app.services.pagination import Page


def test_page_payload_and_links():
    page = Page(items=[1, 2], total=120, page=2, page_size=50)
    out = page.to_dict(lambda x: x * 10, "/api/tasks/", {"status": "pending", "page": 2})
    assert out["items"] == [10, 20]
    assert (out["total"], out["pages"]) == (120, 3)
    assert out["has_next"] and out["has_previous"]
    assert out["links"] == {
        "first": "/api/tasks/?status=pending&page=1&page_size=50",
        "previous": "/api/tasks/?status=pending&page=1&page_size=50",
        "next": "/api/tasks/?status=pending&page=3&page_size=50",
        "last": "/api/tasks/?status=pending&page=3&page_size=50",
    }


def test_edges():
    empty = Page(items=[], total=0, page=1, page_size=50)
    assert empty.pages == 1 and not empty.has_next and not empty.has_previous
    last = Page(items=[1], total=101, page=3, page_size=50)
    assert not last.has_next and last.to_dict(str, "/x")["links"]["next"] is None
    past = Page(items=[], total=10, page=5, page_size=50)
    assert past.to_dict(str)["items"] == [] and past.has_previous
