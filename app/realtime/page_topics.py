"""Who is on the other end of a pages socket, and what it may watch.

The socket authenticates like the pages do: the JWT in the HttpOnly cookie (refreshed from the
refresh cookie when the access token has expired), a disabled account refused, and a handshake
from another site's page refused (its Origin must be this host: cookies alone do not prove a
same-site page opened the socket). Topics come from the query string
(`?topics=project:<id>,task:<id>,execution:<id>,command:<id>,queues,dashboard,system,commands`;
the viewer's own notifications always come) and are checked with `app.services.access`, exactly
like the REST API: a topic the user may not see is refused with the API's message.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from flask import current_app, request
from flask_jwt_extended import decode_token
from sqlalchemy import select

from app.errors import AppError
from app.extensions import db
from app.models.project import Project
from app.models.user import User
from app.pages.auth import page_user
from app.realtime.streams import check_access
from app.security import claims_revoked, token_refusal
from app.services.access import get_project, get_task, visible_projects

MAX_TOPICS = 20
FLAGS = frozenset({"queues", "dashboard", "system", "commands", "user"})
_TOPIC = re.compile(r"^(project|task|execution|command):([0-9a-fA-F-]{32,36})$")


@dataclass
class Watch:
    """What one socket watches (after access checks)."""

    projects: set[str] = field(default_factory=set)
    tasks: set[str] = field(default_factory=set)
    runs: dict[str, str] = field(default_factory=dict)  # "execution:<id>" -> status
    flags: set[str] = field(default_factory=set)
    after_seq: int = 0
    refused: list[str] = field(default_factory=list)


def same_origin() -> bool:
    """A browser always sends Origin on a WebSocket handshake; it must be this site."""
    origin = request.headers.get("Origin")
    if not origin:
        return True  # not a browser (tests, tools): the cookie is still required
    return urlparse(origin).netloc == request.host


def cookie_tokens() -> tuple[list[dict[str, Any]], float]:
    """The claims of the page's access and refresh cookies and when the later one expires."""
    cfg = current_app.config
    tokens, expires = [], 0.0
    for name, allow_expired in ((cfg["JWT_ACCESS_COOKIE_NAME"], True),
                                (cfg["JWT_REFRESH_COOKIE_NAME"], False)):
        raw = request.cookies.get(name)
        if not raw:
            continue
        try:
            claims = decode_token(raw, allow_expired=allow_expired)
        except Exception:  # noqa: BLE001 - an unusable cookie just does not count
            claims = None
        if claims:
            tokens.append(claims)
            expires = max(expires, float(claims["exp"]))
    return tokens, expires


def authenticate() -> tuple[User | None, str | None]:
    """(user, None) or (None, why) for this handshake."""
    if not same_origin():
        return None, "This socket only serves pages of this site."
    user = page_user()
    if user is None:
        return None, "Your session has ended: log in again to get live updates."
    return user, None


def still_valid(user_id: str, tokens: list[dict[str, Any]], expires: float) -> str | None:
    """Why the socket must close now (logged out, expired, disabled, password changed), or
    None: the cookies' claims (`cookie_tokens`) checked by `app.security`'s rules."""
    if time.time() >= expires:
        return "Your session has expired: reload the page to log in again."
    if tokens and all(claims_revoked(claims) for claims in tokens):
        return "You have logged out: live updates stopped."
    user = db.session.get(User, uuid.UUID(user_id))
    refusal = next(filter(None, (token_refusal(claims, user) for claims in tokens)), None)
    if user is None or (refusal is not None and refusal.code == "AUTH_ACCOUNT_DISABLED"):
        return "Your account is disabled."
    if refusal is not None:
        return "Your password was changed: reload the page to log in again."
    return None


def parse(user: User, args: Any) -> Watch:
    """The topics of `args` this user may watch; refusals are kept to be told."""
    watch = Watch()
    raw = [t.strip() for t in (args.get("topics") or "").split(",") if t.strip()]
    for topic in raw[:MAX_TOPICS]:
        if topic in FLAGS:
            watch.flags.add(topic)
            continue
        match = _TOPIC.match(topic)
        if not match:
            watch.refused.append(f"Unknown topic {topic[:60]!r}")
            continue
        kind, raw_id = match.groups()
        try:
            _check(kind, uuid.UUID(raw_id), user, watch)
        except ValueError:
            watch.refused.append(f"Unknown topic {topic[:60]!r}")
        except AppError as exc:
            watch.refused.append(exc.message)
    seq = args.get("after_seq", "0")
    watch.after_seq = int(seq) if seq.isdigit() and len(seq) < 10 else 0
    return watch


def _check(kind: str, ident: uuid.UUID, user: User, watch: Watch) -> None:
    if kind == "project":
        watch.projects.add(str(get_project(ident, user).id))
    elif kind == "task":
        watch.tasks.add(str(get_task(ident, user).id))
    else:
        info = check_access(kind, ident, user)
        watch.runs[f"{kind}:{ident}"] = info["status"]


def visible_project_ids(user: User) -> set[str] | None:
    """Projects whose events count for this user's dashboard (None: all, for admins)."""
    if user.is_admin:
        return None
    return {str(i) for i in db.session.scalars(select(Project.id).where(visible_projects(user)))}
