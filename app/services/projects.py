"""Projects: create, list, read, update, soft delete (with their tasks), and the serializer.

Who may do what (CONTRACT §2): the owner, the members (`settings.members`, mirrored into
`project_members`) and admins see a project and work on its tasks; only the owner and admins
change the project itself (name, status, settings, members, limits) or delete it. An archived
project is read-only: the one change it accepts is a `status` that un-archives it.
Every change writes the audit table and emits a `project.*` event before the commit.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import current_app
from sqlalchemy import Select, asc, desc, func, insert, or_, select, update

from app.errors import AppError, ValidationFailed, iso, utcnow
from app.extensions import db
from app.models.audit import AuditLog
from app.models.execution import TaskExecution
from app.models.project import PROJECT_STATUSES, Project, ProjectMember
from app.models.task import Task
from app.models.user import User
from app.services import agent_settings, audit, budgets, events, git_settings, validation, workspace
from app.services.access import can_access, get_project, visible_projects
from app.services.pagination import Page, paginate
from app.services.project_stats import statistics_for

LIMIT_RANGES = {"max_tasks": (1, 1_000_000), "max_concurrent_tasks": (1, 1_000)}
BUDGET_MAX = 1_000_000
DEFAULT_STORAGE_LIMIT = "1GB"
PROJECT_SORTS = {"name": Project.name, "created_at": Project.created_at,
                 "updated_at": Project.updated_at}
_STORAGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)\s*$", re.IGNORECASE)


# ---------------------------------------------------------------- serializer

def project_dict(project: Project, stats: dict[str, Any] | None = None) -> dict[str, Any]:
    """The project as the API shows it (pages reuse it); `stats` from project_stats."""
    return {
        "id": str(project.id),
        "name": project.name,
        "description": project.description,
        "status": project.status,
        "created_by": str(project.created_by),
        "created_at": iso(project.created_at),
        "updated_at": iso(project.updated_at),
        "settings": dict(project.settings or {}),
        "resource_limits": limits_of(project),
        **({"statistics": stats} if stats is not None else {}),
    }


def limits_of(project: Project) -> dict[str, Any]:
    """Stored limits over the configured defaults."""
    return {**default_limits(), **(project.resource_limits or {})}


def default_limits() -> dict[str, Any]:
    """The configured defaults; `monthly_budget_usd` only when PROJECT_MONTHLY_BUDGET_USD sets
    one (a project without a budget has no such key, or null after removing its own)."""
    cfg = current_app.config
    limits = {"max_tasks": cfg["MAX_TASKS_PER_PROJECT"],
              "max_concurrent_tasks": cfg["MAX_CONCURRENT_TASKS"],
              "storage_limit": DEFAULT_STORAGE_LIMIT}
    budget = budgets.default_budget()
    if budget is not None:
        limits["monthly_budget_usd"] = budget
    return limits


# ---------------------------------------------------------------- validation

def clean_limits(value: Any, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Resource limits merged over `current` (or the defaults), every value checked."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ValidationFailed("resource_limits", "must be an object")
    merged = dict(current or default_limits())
    for key, item in value.items():
        field = f"resource_limits.{key}"
        if key in LIMIT_RANGES:
            merged[key] = validation.integer(field, item, *LIMIT_RANGES[key])
        elif key == "monthly_budget_usd":
            merged[key] = _budget(field, item)
        elif key == "storage_limit":
            match = _STORAGE.match(item) if isinstance(item, str) else None
            if not match or float(match.group(1)) <= 0:
                raise ValidationFailed(field, "a size such as 500MB or 1GB (B, KB, MB, GB, TB)",
                                       code="VALIDATION_INVALID_FORMAT")
            merged[key] = f"{match.group(1)}{match.group(2).upper()}"
        else:
            raise ValidationFailed(field, "Unknown field")
    return merged


def _budget(field: str, value: Any) -> float | None:
    """A monthly budget in USD (more than 0, at most 1,000,000), or null for none."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not \
            0 < value <= BUDGET_MAX:
        raise ValidationFailed(field, f"a number of US dollars above 0 and at most {BUDGET_MAX:,}"
                               ", or null for no budget")
    return float(value)


def clean_settings(value: Any, owner_id: uuid.UUID,
                   current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings merged key by key over `current`; `members` must list existing users;
    `agent` (how Claude runs, app.services.agent_settings) is replaced whole, null removes it."""
    settings = validation.json_object("settings", value)
    merged = {**(current or {}), **settings}
    if "members" in settings:
        merged["members"] = [str(m) for m in _member_ids(settings["members"], owner_id)]
    if "agent" in settings:
        merged["agent"] = agent_settings.validate(settings["agent"], "settings.agent")
        if not merged["agent"]:
            del merged["agent"]
    if "git" in settings:  # worktrees per task (app.services.git_settings)
        merged["git"] = git_settings.clean(settings["git"], (current or {}).get("git"))
        if merged["git"] is None:
            del merged["git"]
    validation.json_object("settings", merged)
    return merged


def _member_ids(value: Any, owner_id: uuid.UUID) -> list[uuid.UUID]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed("settings.members", "must be a list of user ids")
    ids = list(dict.fromkeys(validation.uuid_value("settings.members", v) for v in value))
    ids = [i for i in ids if i != owner_id]  # the owner is always in; not a member row
    if len(ids) > 500:
        raise ValidationFailed("settings.members", "at most 500 members",
                               code="VALIDATION_VALUE_TOO_LONG")
    found = set(db.session.scalars(select(User.id).where(User.id.in_(ids)))) if ids else set()
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ValidationFailed("settings.members", f"unknown user id {missing[0]}",
                               missing=missing)
    return ids


def _sync_members(project: Project) -> None:
    """Make `project_members` match `settings.members` (access checks read the table)."""
    wanted = {uuid.UUID(m) for m in (project.settings or {}).get("members", [])}
    project.members = [m for m in project.members if m.user_id in wanted] + [
        ProjectMember(user_id=uid) for uid in wanted - set(project.member_ids)]


def check_owner(project: Project, user: User) -> None:
    """Changing or deleting the project itself is for its owner and admins."""
    if not (user.is_admin or project.created_by == user.id):
        raise AppError("PROJECT_ACCESS_DENIED",
                       "Only the project owner or an admin can change or delete the project")


# ---------------------------------------------------------------- create / read

def create_project(user: User, name: Any, description: Any = None, settings: Any = None,
                   resource_limits: Any = None, *, commit: bool = True,
                   audit_details: dict[str, Any] | None = None) -> Project:
    """A new active project owned by `user`, with its workspace directory."""
    project = Project(
        id=uuid.uuid4(), created_by=user.id, status="active",
        name=validation.text("name", name, max_length=validation.TITLE_MAX, min_length=1),
        description=validation.text("description", description,
                                    max_length=validation.DESCRIPTION_MAX),
        settings=clean_settings(settings, user.id), resource_limits=clean_limits(resource_limits))
    _sync_members(project)
    db.session.add(project)
    db.session.flush()
    workspace.create(project.id)
    audit.record("project", project.id, "created", user_id=user.id, project_id=project.id,
                 details={"initial_data": {"name": project.name, "status": project.status},
                          **(audit_details or {})})
    events.emit("project.created", project_dict(project), project_id=project.id,
                user_id=user.id)
    if commit:
        db.session.commit()
    return project


def list_projects(user: User, *, status: str | None = None, created_by: uuid.UUID | None = None,
                  search: str | None = None, sort: str = "created_at", order: str = "desc",
                  page: int = 1, page_size: int = 50) -> Page:
    """The projects `user` may see, filtered and sorted in SQL; one page of them."""
    return paginate(project_query(user, status=status, created_by=created_by, search=search,
                                  sort=sort, order=order), page, page_size)


def project_query(user: User, *, status: str | None = None, created_by: uuid.UUID | None = None,
                  search: str | None = None, sort: str = "created_at",
                  order: str = "desc") -> Select:
    query = select(Project).where(visible_projects(user))
    if status:
        wanted = [s.strip() for s in status.split(",") if s.strip()]
        bad = [s for s in wanted if s not in PROJECT_STATUSES]
        if bad:
            raise ValidationFailed("status", f"unknown status {bad[0]!r}; one of "
                                             f"{', '.join(PROJECT_STATUSES)}")
        query = query.where(Project.status.in_(wanted))
    if created_by:
        query = query.where(Project.created_by == created_by)
    if search and "\x00" in search:
        raise ValidationFailed("search", "must not contain NUL characters",
                               code="VALIDATION_INVALID_FORMAT")
    for word in (search or "").split()[:20]:  # every word, anywhere in name or description
        pattern = "%" + word.lower().replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        query = query.where(or_(func.lower(Project.name).like(pattern, escape="\\"),
                                func.lower(Project.description).like(pattern, escape="\\")))
    if sort not in PROJECT_SORTS:
        raise ValidationFailed("sort", f"one of {', '.join(PROJECT_SORTS)}")
    direction = desc if order == "desc" else asc
    return query.order_by(direction(PROJECT_SORTS[sort]), direction(Project.id))


def page_dict(result: Page, path: str | None = None,
              params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A page of projects with their statistics, counted in one grouped query."""
    stats = statistics_for([p.id for p in result.items])
    return result.to_dict(lambda p: project_dict(p, stats[p.id]), path, params)


def project_detail(project_id: uuid.UUID, user: User) -> dict[str, Any]:
    """Everything the detail view shows: settings, limits, full statistics, recent activity."""
    from app.services.project_stats import recent_activity

    project = get_project(project_id, user)
    stats = statistics_for([project.id], detail=True)[project.id]
    return {**project_dict(project, stats), "recent_activity": recent_activity(project.id)}


# ---------------------------------------------------------------- update / delete

def update_project(project_id: uuid.UUID, user: User, changes: dict[str, Any]) -> Project:
    """Apply the given fields (absent ones keep their value); one audit entry per field."""
    project = get_project(project_id, user)
    check_owner(project, user)
    new_status = changes.get("status", project.status)
    if project.status == "archived" and new_status == "archived":
        raise AppError("PROJECT_ARCHIVED", f"Project '{project.name}' is archived and "
                       "read-only; set its status to active to change it")
    new = _clean_changes(project, changes)
    changed: dict[str, tuple[Any, Any]] = {}
    for field, value in new.items():
        old = getattr(project, field)
        if old != value:
            changed[field] = (old, value)
            setattr(project, field, value)
    if "settings" in changed:
        _sync_members(project)
    if changed:
        project.updated_at = utcnow()
        for field, (old, value) in changed.items():
            audit.record("project", project.id, "updated", user_id=user.id, field=field,
                         old=old, new=value, project_id=project.id)
        events.emit("project.updated", {**project_dict(project), "changes": sorted(changed)},
                    project_id=project.id, user_id=user.id)
    db.session.commit()
    return project


def _clean_changes(project: Project, changes: dict[str, Any]) -> dict[str, Any]:
    new: dict[str, Any] = {}
    if "name" in changes:
        new["name"] = validation.text("name", changes["name"], min_length=1,
                                      max_length=validation.TITLE_MAX)
    if "description" in changes:
        new["description"] = validation.text("description", changes["description"],
                                             max_length=validation.DESCRIPTION_MAX)
    if "status" in changes:
        if changes["status"] not in PROJECT_STATUSES:
            raise ValidationFailed("status", f"one of {', '.join(PROJECT_STATUSES)}")
        new["status"] = changes["status"]
    if "settings" in changes:
        new["settings"] = clean_settings(changes["settings"], project.created_by,
                                         project.settings)
    if "resource_limits" in changes:
        new["resource_limits"] = clean_limits(changes["resource_limits"], limits_of(project))
    return new


def delete_project(project_id: uuid.UUID, user: User) -> dict[str, Any]:
    """Soft delete the project and its tasks (rows kept with `deleted_at`, audited); it then
    answers 404 everywhere. Refused while any of its executions is queued or running."""
    project = get_project(project_id, user)
    check_owner(project, user)
    alive = (Task.project_id == project.id) & Task.deleted_at.is_(None)
    active = db.session.scalar(select(func.count()).select_from(TaskExecution).where(
        TaskExecution.project_id == project.id, TaskExecution.status.in_(("queued", "running"))))
    if active:
        raise AppError("RESOURCE_IN_USE", f"{active} execution(s) of this project are queued "
                       "or running; cancel them first", {"active_executions": active})
    now = utcnow()
    task_ids = list(db.session.scalars(select(Task.id).where(alive)))
    if task_ids:
        db.session.execute(update(Task).where(alive).values(deleted_at=now, updated_at=now)
                           .execution_options(synchronize_session=False))
        db.session.execute(insert(AuditLog), [
            {"uid": uuid.uuid4(), "entity_type": "task", "entity_id": tid, "action": "deleted",
             "project_id": project.id, "user_id": user.id, "created_at": now,
             "details": {"reason": "project deleted"}} for tid in task_ids])
    project.deleted_at = now
    project.updated_at = now
    audit.record("project", project.id, "deleted", user_id=user.id, project_id=project.id,
                 details={"tasks_deleted": len(task_ids)})
    events.emit("project.deleted", {"id": str(project.id), "name": project.name,
                                    "deleted_at": iso(now), "tasks_deleted": len(task_ids)},
                project_id=project.id, user_id=user.id)
    db.session.commit()
    return {"message": "Project deleted successfully", "deleted_at": iso(now),
            "tasks_deleted": len(task_ids)}


def user_can_access(project: Project, user_id: uuid.UUID) -> bool:
    """Whether the user with `user_id` may see `project` (for assignees)."""
    user = db.session.get(User, user_id)
    return user is not None and can_access(user, project)
