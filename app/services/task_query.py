"""Listing tasks: visibility, filters, search and sorting, all as one SQL query.

Filters (reference "Filtering and Searching"): `project_id`, `status` (one or comma-separated),
`assigned_to`, `priority` (minimum), `tags` (comma-separated: tasks carrying all of them),
`created_after` / `created_before` (ISO 8601, inclusive / exclusive), `search` (see
`app.services.search`), `sort` in SORTS and `order`. Nothing is filtered in Python; tags are
EXISTS lookups on `task_tags` (indexed by tag).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    asc,
    bindparam,
    cast,
    desc,
    exists,
    func,
    intersect,
    select,
)

from app.errors import ValidationFailed
from app.extensions import db
from app.models.project import Project
from app.models.task import TASK_STATUSES, Task, TaskTag
from app.models.user import User
from app.services import count_cache, search, validation, versions
from app.services.access import get_project, visible_project_ids, visible_projects
from app.services.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page

SORTS = {"created_at": Task.created_at, "updated_at": Task.updated_at,
         "priority": Task.priority, "title": Task.title, "status": Task.status,
         "completed_at": Task.completed_at}


@dataclass
class TaskFilters:
    project_id: uuid.UUID | None = None
    status: str | None = None
    assigned_to: uuid.UUID | None = None
    priority: int | None = None
    tags: str | None = None
    search: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    sort: str = "created_at"
    order: str = "desc"


def has_tag(tag: str) -> ColumnElement[bool]:
    return exists().where(TaskTag.task_id == Task.id, TaskTag.tag == tag)


def _tag_term(term: search.Term) -> ColumnElement[bool]:
    value = term.value.strip().lower()
    if term.prefix:
        return exists().where(TaskTag.task_id == Task.id,
                              TaskTag.tag.like(f"{search.escape_like(value)}%", escape="\\"))
    return has_tag(value)


def _status_term(term: search.Term) -> ColumnElement[bool]:
    value = term.value.strip().lower()
    if term.prefix:
        return Task.status.like(f"{search.escape_like(value)}%", escape="\\")
    if value not in TASK_STATUSES:
        raise search.SearchError(f"unknown status '{value}' (one of {', '.join(TASK_STATUSES)})",
                                 term.position)
    return Task.status == value


SEARCH_FIELDS: dict[str, search.FieldSQL] = {
    "title": lambda term: search.text_match(Task.title, term),
    "description": lambda term: search.text_match(Task.description, term),
    "tags": _tag_term,
    "status": _status_term,
}
SEARCH_DEFAULT = ("title", "description", "tags")


def split_list(field: str, value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def all_tags(tags: list[str], set_based: bool = False) -> ColumnElement[bool]:
    """Tasks carrying every one of `tags`, in one of two equivalent forms. Measured with 100k
    tasks (bench/task_list.py): SQLite pages fastest with one EXISTS per tag (it walks the sort
    index and stops after a page: 6 ms vs 27) but counts fastest with one IN over the INTERSECT
    of the tags' task ids (24 ms vs 60); PostgreSQL, with real statistics, misjudges the EXISTS
    form and is faster set-based for both (page 23 ms vs 68, count 19 vs 62)."""
    if set_based and len(tags) > 1:
        return Task.id.in_(intersect(*(select(TaskTag.task_id).where(TaskTag.tag == t)
                                       for t in tags)))
    if set_based:
        return Task.id.in_(select(TaskTag.task_id).where(TaskTag.tag == tags[0]))
    return and_(*(has_tag(t) for t in tags))


def task_query(user: User, filters: TaskFilters, for_count: bool = False,
               project_ids: list[uuid.UUID] | None = None) -> Select:
    """The SELECT for `filters` over the tasks `user` may see (not yet paginated).
    `for_count` picks the tag filter's form for counting (see `all_tags`); `project_ids`, the
    ids of the projects `user` may see when already known, replaces their subquery."""
    if filters.project_id is not None and not for_count:  # the page query, built first,
        get_project(filters.project_id, user)  # checks it: 404 / 403 for the project itself
    return _filtered(_values(filters), for_count, _who(user, filters, project_ids),
                     db.session.get_bind().dialect.name)


def _values(filters: TaskFilters) -> tuple:
    """The filters as a tuple (a cache key; `dataclasses.astuple` would deep-copy each)."""
    return tuple(getattr(filters, name) for name in _FILTER_FIELDS)


_FILTER_FIELDS = tuple(f.name for f in fields(TaskFilters))


def _who(user: User, filters: TaskFilters, project_ids: list[uuid.UUID] | None) -> tuple:
    """Whose tasks, as far as the statement is concerned (part of the statement cache key)."""
    if filters.project_id is not None:
        return ("project",)
    if project_ids is not None:
        return ("projects", tuple(project_ids))
    return ("admin",) if user.is_admin else ("user", user.id)


@functools.lru_cache(maxsize=256)
def _filtered(values: tuple, for_count: bool, who: tuple, dialect: str) -> Select:
    """The statement itself, built once per distinct input (building it cost more than running
    it for a page; statements are immutable, so callers may derive from a shared one)."""
    filters = TaskFilters(*values)
    query = select(Task).where(Task.deleted_at.is_(None))
    if who[0] == "project":
        query = query.where(Task.project_id == filters.project_id)
    elif who[0] == "projects":
        query = query.where(Task.project_id.in_(list(who[1])))
    elif who[0] == "user":  # deleted projects' tasks are deleted too: admins need no join
        query = query.where(Task.project_id.in_(
            visible_project_ids(SimpleNamespace(id=who[1], is_admin=False))))
    statuses = split_list("status", filters.status)
    unknown = [s for s in statuses if s not in TASK_STATUSES]
    if unknown:
        raise ValidationFailed("status", f"unknown status {unknown[0]!r}; one of "
                                         f"{', '.join(TASK_STATUSES)}")
    if statuses:
        query = query.where(Task.status.in_(statuses))
    if filters.assigned_to is not None:
        query = query.where(Task.assigned_to == filters.assigned_to)
    if filters.priority is not None:
        query = query.where(Task.priority >= filters.priority)
    tags = list(dict.fromkeys(validation.tag(t) for t in split_list("tags", filters.tags)))
    if tags:
        set_based = for_count or dialect == "postgresql"
        query = query.where(all_tags(tags, set_based))
    if filters.created_after is not None:
        query = query.where(Task.created_at >= _aware(filters.created_after))
    if filters.created_before is not None:
        query = query.where(Task.created_at < _aware(filters.created_before))
    condition = search.compile_search(filters.search, SEARCH_FIELDS, SEARCH_DEFAULT)
    if condition is not None:
        query = query.where(condition)
    if filters.sort not in SORTS:
        raise ValidationFailed("sort", f"one of {', '.join(SORTS)}")
    direction = desc if filters.order == "desc" else asc
    return query.order_by(direction(SORTS[filters.sort]), direction(Task.id))


@dataclass(slots=True)
class TaskRow:
    """A task in a list: the list fields and tags, read as plain rows (no ORM objects), which
    `tasks.task_summary` serializes like a Task."""

    id: uuid.UUID
    project_id: uuid.UUID
    title: str
    status: str
    priority: int
    progress_percentage: int
    assigned_to: uuid.UUID | None
    executor: str
    created_at: datetime
    updated_at: datetime
    tags: list[str] = field(default_factory=list)


LIST_COLUMNS = (Task.id, Task.project_id, Task.title, Task.status, Task.priority,
                Task.progress_percentage, Task.assigned_to, Task.executor, Task.created_at,
                Task.updated_at)


def _tags_column(dialect: str):
    """Each listed task's tags as one string "position:tag,position:tag" (a correlated
    aggregate, so the page is one query). Tags cannot contain ',' or ':' (validation.tag);
    the position is spelled out because neither database promises the aggregate's order."""
    item = cast(TaskTag.position, String) + ":" + TaskTag.tag
    aggregate = (func.string_agg(item, ",") if dialect == "postgresql"
                 else func.group_concat(item, ","))
    return select(aggregate).where(TaskTag.task_id == Task.id).scalar_subquery()


def _split_tags(packed: str | None) -> list[str]:
    if not packed:
        return []
    if "," not in packed:
        return [packed.partition(":")[2]]
    return [item.partition(":")[2] for item in sorted(packed.split(","), key=_position)]


def _position(item: str) -> int:
    return int(item.partition(":")[0])


def list_tasks(user: User, filters: TaskFilters, page: int = 1,
               page_size: int = DEFAULT_PAGE_SIZE) -> Page:
    """One page of `TaskRow`s with the total. The total is counted in SQL, except when the
    page itself proves it (a page that is not full is the last one): that saves a count over
    every matching row on the last page and on small results; other totals come from the
    count cache (`count_tasks`).

    The rows, with their tags, are read in one query as plain rows on the session's
    connection (no ORM loading: the list needs no objects)."""
    page = max(page, 1)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    project_ids = _listed_projects(user, filters)
    if project_ids == []:
        return Page(items=[], total=0, page=page, page_size=page_size)
    if filters.project_id is not None:
        get_project(filters.project_id, user)  # 404 / 403 for the project itself
    lookup = _count_lookup(user, filters, project_ids)  # answered while the page is read
    conn = db.session.connection()
    try:
        rows = conn.execute(_page_statement(_values(filters), _who(user, filters, project_ids),
                                            conn.dialect.name, page, page_size)).all()
    except BaseException:
        if lookup is not None:
            lookup.close()
        raise
    if 0 < len(rows) < page_size or (page == 1 and not rows):
        total = (page - 1) * page_size + len(rows)
        if lookup is not None:
            lookup.close()
    else:
        total = count_tasks(user, filters, project_ids, lookup)
    items = [TaskRow(*row[:-1], tags=_split_tags(row[-1])) for row in rows]
    return Page(items=items, total=total, page=page, page_size=page_size)


@functools.lru_cache(maxsize=256)
def _page_statement(values: tuple, who: tuple, dialect: str, page: int, page_size: int
                    ) -> Select:
    """One page of list columns and tags (see `_filtered` for why it is cached)."""
    return (_filtered(values, False, who, dialect)
            .with_only_columns(*LIST_COLUMNS, _tags_column(dialect))
            .limit(page_size).offset((page - 1) * page_size))


MAX_LISTED_PROJECTS = 200  # past this many visible projects: a subquery, totals never cached


def _listed_projects(user: User, filters: TaskFilters) -> list[uuid.UUID] | None:
    """The ids of the projects a non-admin may see, when listing across projects (None when
    a project filter or the admin role decides, or when there are too many to list)."""
    if filters.project_id is not None or user.is_admin:
        return None
    ids = db.session.connection().execute(_visible_ids_statement(),
                                          {"user_id": user.id}).scalars().all()
    return list(ids) if len(ids) <= MAX_LISTED_PROJECTS else None


@functools.cache
def _visible_ids_statement() -> Select:
    """`access.visible_projects` for any non-admin, built once with the user id as a bound
    parameter (building the statement cost more than running it)."""
    anyone = SimpleNamespace(id=bindparam("user_id", type_=Project.created_by.type),
                             is_admin=False)
    return (select(Project.id).where(visible_projects(anyone)).order_by(Project.id)
            .limit(MAX_LISTED_PROJECTS + 1))


def count_tasks(user: User, filters: TaskFilters, project_ids: list[uuid.UUID] | None = None,
                lookup: count_cache.Lookup | None = None) -> int:
    """Every task matching `filters` that `user` may see: exact, from the count cache while
    nothing it depends on has changed (`app.services.count_cache`; `lookup` is the cache's
    answer when it was already asked for, see `_count_lookup`)."""
    def count() -> int:
        counted = task_query(user, filters, for_count=True, project_ids=project_ids)
        return db.session.scalar(counted.with_only_columns(func.count()).order_by(None)) or 0

    lookup = lookup or _count_lookup(user, filters, project_ids)
    return lookup.total(count) if lookup is not None else count()


def _count_lookup(user: User, filters: TaskFilters, project_ids: list[uuid.UUID] | None
                  ) -> count_cache.Lookup | None:
    """Ask the count cache for the total (None: this total is always counted).

    The cache key is what the total depends on: the filters and the set of projects, which is
    the filtered project (its access was checked by the page query), every project (admins),
    or the caller's visible projects (`project_ids`, as listed by `_listed_projects`, and
    counted over exactly that list). A non-admin with more projects than that is counted
    every time."""
    if filters.project_id is not None:
        scopes = [versions.project_scope(filters.project_id)]
    elif user.is_admin:
        scopes = [versions.ALL]
    elif project_ids is not None:
        scopes = [versions.project_scope(p) for p in project_ids]
    else:
        return None
    return count_cache.Lookup(scopes, ("tasks", _values(replace(filters, sort="", order=""))))


def filter_params(filters: TaskFilters) -> dict[str, Any]:
    """The filters as query parameters (for pagination links)."""
    out: dict[str, Any] = {}
    for key, value in vars(filters).items():
        if value is None:
            continue
        out[key] = value.isoformat() if isinstance(value, datetime) else str(value)
    return out
