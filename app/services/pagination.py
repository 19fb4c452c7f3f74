"""One pagination helper for every list, API and pages alike (reference "Pagination")."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from sqlalchemy import Select, func, select

from app.extensions import db

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


@dataclass
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(math.ceil(self.total / self.page_size), 1) if self.page_size else 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    def to_dict(self, serialize: Callable[[T], Any], path: str | None = None,
                params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The reference's pagination payload, with `links` when `path` is given."""
        out: dict[str, Any] = {
            "items": [serialize(item) for item in self.items],
            "total": self.total, "page": self.page, "page_size": self.page_size,
            "pages": self.pages, "has_next": self.has_next, "has_previous": self.has_previous,
        }
        if path is not None:
            out["links"] = self.links(path, params or {})
        return out

    def links(self, path: str, params: dict[str, Any]) -> dict[str, str | None]:
        def url(page: int) -> str:
            query = {k: v for k, v in params.items() if v is not None and k not in ("page",
                                                                                   "page_size")}
            query.update(page=page, page_size=self.page_size)
            return f"{path}?{urlencode(query)}"

        return {
            "first": url(1),
            "previous": url(self.page - 1) if self.has_previous else None,
            "next": url(self.page + 1) if self.has_next else None,
            "last": url(self.pages),
        }


def paginate(query: Select, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE,
             scalars: bool = True) -> Page:
    """Count the query's rows and fetch one page of it, both in the database."""
    page = max(page, 1)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    total = db.session.scalar(
        select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = query.limit(page_size).offset((page - 1) * page_size)
    items = list(db.session.scalars(rows)) if scalars else list(db.session.execute(rows))
    return Page(items=items, total=total, page=page, page_size=page_size)
