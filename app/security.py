"""Who is calling and what they may do: one rule for every API route and every page.

Routes declare what they need with `@requires("write")` (or `@public`); `enforce_route_auth()`
runs before the route (and before request validation, so an anonymous caller gets a 401, not a
422). Tokens come from the `Authorization` header (scripts) or HttpOnly cookies with a CSRF
double-submit token (pages). Revoked token ids live in Redis until the token would expire.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from flask import Flask, current_app, g, request
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import (
    CSRFError,
    FreshTokenRequired,
    JWTDecodeError,
    NoAuthorizationError,
    RevokedTokenError,
    UserLookupError,
    WrongTokenError,
)
from jwt.exceptions import ExpiredSignatureError, InvalidTokenError

from app.errors import AppError
from app.extensions import db, get_redis, jwt
from app.models.user import User

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "__public__"
REFRESH = "__refresh__"
ANY_TOKEN = "__any_token__"


def requires(*permissions: str) -> Callable[[F], F]:
    """Mark a route as needing a logged-in, enabled user holding every one of `permissions`."""

    def mark(func: F) -> F:
        func._auth = tuple(permissions) or ("read",)  # type: ignore[attr-defined]
        return func

    return mark


def public(func: F) -> F:
    """Mark a route as open to anonymous callers (login, health)."""
    func._auth = PUBLIC  # type: ignore[attr-defined]
    return func


def token_rule(rule: str) -> Callable[[F], F]:
    """Mark a route as taking a refresh token (REFRESH) or either kind of token (ANY_TOKEN)."""

    def mark(func: F) -> F:
        func._auth = rule  # type: ignore[attr-defined]
        return func

    return mark


def revoked_key(jti: str) -> str:
    return f"auth:revoked:{jti}"


def is_revoked(jti: str) -> bool:
    try:
        return bool(get_redis().exists(revoked_key(jti)))
    except redis.RedisError as exc:
        # Fail closed: without the revocation list we cannot tell a logged-out token apart.
        raise AppError("SYSTEM_OVERLOADED", "Token revocation list unavailable") from exc


def current_user() -> User | None:
    """The authenticated user of this request, if any."""
    return getattr(g, "user", None)


def authenticate(refresh: bool = False, optional: bool = False, any_type: bool = False
                 ) -> User | None:
    """Verify the request's JWT, load its user and refuse disabled accounts. Sets `g.user`.

    `refresh` asks for a refresh token; `any_type` takes an access or a refresh token (logout).
    """
    try:
        found = verify_jwt_in_request(optional=optional, refresh=refresh,
                                      verify_type=not any_type)
    except NoAuthorizationError as exc:
        raise AppError("AUTH_TOKEN_MISSING") from exc
    except CSRFError as exc:
        raise AppError("AUTH_TOKEN_INVALID", f"CSRF check failed: {exc}") from exc
    except ExpiredSignatureError as exc:
        raise AppError("AUTH_TOKEN_INVALID", "Token has expired") from exc
    except RevokedTokenError as exc:
        raise AppError("AUTH_TOKEN_INVALID", "Token has been revoked") from exc
    except WrongTokenError as exc:
        raise AppError("AUTH_TOKEN_INVALID", str(exc)) from exc
    except (JWTDecodeError, InvalidTokenError, UserLookupError, FreshTokenRequired) as exc:
        raise AppError("AUTH_TOKEN_INVALID") from exc
    if found is None:
        return None
    user = _load_user(get_jwt()["sub"])
    if user is None:
        raise AppError("AUTH_TOKEN_INVALID", "Token user no longer exists")
    if user.is_disabled:
        raise AppError("AUTH_ACCOUNT_DISABLED")
    g.user = user
    return user


def _load_user(subject: str) -> User | None:
    try:
        return db.session.get(User, uuid.UUID(subject))
    except (ValueError, TypeError):
        return None


def check_permissions(user: User, permissions: tuple[str, ...]) -> None:
    missing = [p for p in permissions if not user.has_permission(p)]
    if missing:
        raise AppError("AUTH_INSUFFICIENT_PERMISSIONS",
                       f"This action needs the '{missing[0]}' permission",
                       {"required": list(permissions), "role": user.role})


def enforce_route_auth() -> None:
    """Before every request: apply the route's declared rule. API routes without one refuse."""
    view = current_app.view_functions.get(request.endpoint or "")
    rule = getattr(view, "_auth", None)
    if rule is None:
        if request.path.startswith("/api") and view is not None:
            raise AppError("AUTH_INSUFFICIENT_PERMISSIONS", "Route has no access rule")
        return
    if rule == PUBLIC:
        return
    if rule in (REFRESH, ANY_TOKEN):
        authenticate(refresh=rule == REFRESH, any_type=rule == ANY_TOKEN)
        return
    user = authenticate()
    check_permissions(user, rule)


def init_jwt(app: Flask) -> None:
    """Claims and the revocation check of flask-jwt-extended."""

    @jwt.additional_claims_loader
    def _claims(identity: str) -> dict[str, Any]:
        user = _load_user(identity)
        return {"role": user.role, "tier": user.tier} if user else {}

    @jwt.token_in_blocklist_loader
    def _revoked(_header: dict, payload: dict) -> bool:
        return is_revoked(payload["jti"])
