"""Who is calling and what they may do: one rule for every API route and every page.

Routes declare what they need with `@requires("write")` (or `@public`); `enforce_route_auth()`
runs before the route (and before request validation, so an anonymous caller gets a 401, not a
422). Tokens come from the `Authorization` header (scripts) or HttpOnly cookies with a CSRF
double-submit token (pages). Revoked token ids live in Redis until the token would expire, and
so do the ids of logins that were logged out (claim `lid`, shared by the access and refresh
tokens of one login and the access tokens refreshed from it). Each request checks both and
reads its user's change version in one Redis round trip; the user's row then comes from this
process's copy while that version has not moved (`_load_user`), so a disabled account or a
changed role is seen on the very next request. A token also carries the user's `token_version`
(claim `tv`): a password change or a disable moves it, which refuses every token issued before
(`token_refusal`, the one rule the API, the pages and both sockets apply). Tokens without an
expiry are never accepted.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from flask import Flask, current_app, g, has_request_context, request
from flask_jwt_extended import decode_token, get_jwt, verify_jwt_in_request
from flask_jwt_extended.config import config as jwt_config
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
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from app.errors import AppError
from app.extensions import db, get_redis, jwt
from app.models.user import User
from app.services import versions

F = TypeVar("F", bound=Callable[..., Any])
TOKEN_VERSION_CLAIM = "tv"
LOGIN_CLAIM = "lid"
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


def revoked_login_key(login_id: str) -> str:
    return f"auth:revoked-login:{login_id}"


def _revocation_keys(jti: Any, login_id: Any) -> list[str]:
    """The two keys that say a token is revoked (its own id, its login's id)."""
    first = revoked_key(str(jti))
    return [first, revoked_login_key(str(login_id)) if login_id else first]


def is_revoked(jti: str | None, login_id: str | None = None) -> bool:
    """Whether the token `jti` (of login `login_id`, when it has one) was revoked."""
    try:
        return bool(get_redis().exists(*_revocation_keys(jti, login_id)))
    except redis.RedisError as exc:
        # Fail closed: without the revocation list we cannot tell a logged-out token apart.
        raise AppError("SYSTEM_OVERLOADED", "Token revocation list unavailable") from exc


def claims_revoked(claims: dict[str, Any]) -> bool:
    """`is_revoked` for decoded claims."""
    return is_revoked(claims.get("jti"), claims.get(LOGIN_CLAIM))


def token_refusal(claims: dict[str, Any], user: User | None) -> AppError | None:
    """Why a (verified, unrevoked) token no longer admits its user, or None: the user is gone,
    disabled, or changed their password (or was disabled) after the token was issued."""
    if user is None:
        return AppError("AUTH_TOKEN_INVALID", "Token user no longer exists")
    if user.is_disabled:
        return AppError("AUTH_ACCOUNT_DISABLED")
    if claims.get(TOKEN_VERSION_CLAIM, 0) != (user.token_version or 0):
        return AppError("AUTH_TOKEN_INVALID", "Token was issued before the password was changed "
                        "or the account was disabled; log in again")
    return None


def current_user() -> User | None:
    """The authenticated user of this request, if any."""
    return getattr(g, "user", None)


def authenticate(refresh: bool = False, optional: bool = False, any_type: bool = False
                 ) -> User | None:
    """Verify the request's JWT, load its user and refuse disabled accounts. Sets `g.user`.

    `refresh` asks for a refresh token; `any_type` takes an access or a refresh token (logout).
    """
    try:
        if not refresh and not any_type and (token := bearer_token()) is not None:
            found = _verify_bearer_access_token(token)
        else:
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
    if found is None:  # no token (optional) or a method flask-jwt-extended exempts (OPTIONS)
        if optional:
            return None
        raise AppError("AUTH_TOKEN_MISSING")
    claims = get_jwt()
    user = _load_user(claims["sub"])
    refusal = token_refusal(claims, user)
    if refusal is not None:
        raise refusal
    g.user = user
    return user


MAX_CACHED_TOKENS = 10_000


def bearer_token() -> str | None:
    """The token of a plain `Authorization: Bearer <token>` header, if that is what the request
    carries (anything else is left to flask-jwt-extended's own parsing)."""
    config = current_app.config
    if (config.get("JWT_HEADER_NAME", "Authorization") != "Authorization"
            or config.get("JWT_HEADER_TYPE", "Bearer") != "Bearer"):
        return None
    header = request.headers.get("Authorization")
    if not header or not header.startswith("Bearer ") or "," in header:
        return None
    token = header[7:].strip()
    return token if token and " " not in token else None


def decoded_token(token: str) -> dict[str, Any]:
    """`flask_jwt_extended.decode_token` (signature, expiry and every configured check), kept
    per process for tokens seen before: the same bytes under the same key always verify the
    same way, so only the expiry is checked again (revocation is checked on every request)."""
    tokens = current_app.extensions.setdefault("verified_tokens", {})
    claims = tokens.get(token)
    if claims is not None:
        leeway = current_app.config.get("JWT_DECODE_LEEWAY", 0)
        leeway = leeway.total_seconds() if hasattr(leeway, "total_seconds") else leeway
        if "exp" in claims and claims["exp"] + leeway <= time.time():
            tokens.pop(token, None)
            raise ExpiredSignatureError("Signature has expired")
        return claims
    claims = decode_token(token)
    if len(tokens) >= MAX_CACHED_TOKENS:
        tokens.clear()
    tokens[token] = claims
    return claims


def _verify_bearer_access_token(token: str) -> tuple[dict, dict]:
    """What `verify_jwt_in_request()` does for an access token in the Authorization header
    (the API's usual case), with the decoding kept per token (`decoded_token`); leaves the
    claims where `get_jwt()` reads them."""
    if "headers" not in current_app.config["JWT_TOKEN_LOCATION"]:
        raise NoAuthorizationError("Missing JWT in cookies")
    claims = dict(decoded_token(token))
    if claims.get("type") == "refresh":
        raise WrongTokenError("Only non-refresh tokens are allowed")
    if _check_token(claims["jti"], claims.get("sub"), claims.get(LOGIN_CLAIM)):
        raise RevokedTokenError({}, claims)
    g._jwt_extended_jwt_user = {"loaded_user": None}
    g._jwt_extended_jwt_header = {}
    g._jwt_extended_jwt = claims
    g._jwt_extended_jwt_location = "headers"
    return {}, claims


def _load_user(subject: str) -> User | None:
    """The token's user. Within a request whose revocation check also read the user's change
    version (`_check_token`), the row comes from this process's copy when that version is the
    one it was copied at (`app.services.versions`: any committed change to the user moves it),
    which saves a database query on most requests; otherwise from the database."""
    try:
        user_id = uuid.UUID(subject)
    except (ValueError, TypeError):
        return None
    version = g.pop("_user_version", None) if has_request_context() else None
    rows = current_app.extensions.setdefault("user_rows", {})
    if version is not None:
        cached = rows.get(user_id)
        if cached is not None and cached[0] == version:
            return _attached(user_id, cached[1])
    user = db.session.get(User, user_id)
    if version is not None and user is not None and user not in db.session.dirty:
        if len(rows) >= MAX_CACHED_USERS:
            rows.clear()
        rows[user_id] = (version, {key: getattr(user, key) for key in _USER_COLUMNS})
    return user


MAX_CACHED_USERS = 10_000
# Every column but the password hash (never copied; loaded from the database if read).
_USER_COLUMNS = tuple(a.key for a in User.__mapper__.column_attrs if a.key != "password_hash")
_NEW_USER = User.__mapper__.class_manager.new_instance


def _attached(user_id: uuid.UUID, values: dict[str, Any]) -> User:
    """A persistent User in this session built from copied values, with no query (the
    documented way to put cached rows back in a session)."""
    existing = db.session.identity_map.get(identity_key(User, user_id))
    if existing is not None:
        return existing
    user = _NEW_USER()
    state = user.__dict__  # column values as a query would have loaded them
    for key, value in values.items():
        state[key] = copy.deepcopy(value) if isinstance(value, dict | list) else value
    make_transient_to_detached(user)
    db.session.add(user)
    return user


_CHECK_TOKEN = versions.SIGNATURE_LUA + """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return {1, false} end
return {0, signature(3)}
"""


def _check_token(jti: str, subject: Any, login_id: Any = None) -> bool:
    """Whether the token (or its login) is revoked, in the round trip that also reads its
    user's change version (kept in `g` for `_load_user`; none while a change to the user is in
    flight)."""
    script = current_app.extensions.get("auth_check_script")
    if script is None:
        script = current_app.extensions["auth_check_script"] = get_redis().register_script(
            _CHECK_TOKEN)
    keys = [*_revocation_keys(jti, login_id),
            *versions.read_keys([versions.USERS, versions.user_scope(subject)])]
    try:
        revoked, version = script(keys=keys, args=[time.time()])
    except redis.RedisError as exc:
        raise AppError("SYSTEM_OVERLOADED", "Token revocation list unavailable") from exc
    if has_request_context():
        g._user_version = version.decode() if isinstance(version, bytes) else version
    return bool(revoked)


def check_permissions(user: User, permissions: tuple[str, ...]) -> None:
    missing = [p for p in permissions if not user.has_permission(p)]
    if missing:
        raise AppError("AUTH_INSUFFICIENT_PERMISSIONS",
                       f"This action needs the '{missing[0]}' permission",
                       {"required": list(permissions), "role": user.role})


def enforce_route_auth() -> None:
    """Before every request: apply the route's declared rule. API routes without one refuse.

    OPTIONS asks which methods a route has (browsers send it without credentials before a
    cross-origin call): it is answered without running the view, so it needs no token."""
    if request.method == "OPTIONS":
        return
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
    """Claims, the key check and the revocation check of flask-jwt-extended."""

    @jwt.additional_claims_loader
    def _claims(identity: str) -> dict[str, Any]:
        # Straight from the session (never this process's copy): a token issued right after a
        # password change in the same request must carry the new version.
        try:
            user = db.session.get(User, uuid.UUID(str(identity)))
        except ValueError:
            user = None
        if user is None:
            return {}
        return {"role": user.role, "tier": user.tier,
                TOKEN_VERSION_CLAIM: user.token_version or 0}

    @jwt.decode_key_loader
    def _key(_header: dict, unverified: dict) -> str:
        # Every decode (API, pages, sockets, rate limits) passes here before verifying: a
        # token without an expiry would be valid for ever, so none is accepted.
        if "exp" not in unverified:
            raise JWTDecodeError("Tokens without an expiry (exp) are not accepted")
        return jwt_config.decode_key

    @jwt.token_in_blocklist_loader
    def _revoked(_header: dict, payload: dict) -> bool:
        return _check_token(payload["jti"], payload.get("sub"), payload.get(LOGIN_CLAIM))
