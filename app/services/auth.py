"""Logging in and out: credentials to tokens, refresh, revocation (CONTRACT §2).

One login is one `lid` claim shared by its access token, its refresh token and every access token
refreshed from it, so logging out with any of them ends the whole login. Attempts go through the
per-account back-off (`login_throttle`) whichever surface they come from.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from sqlalchemy import func, select

from app.errors import AppError, utcnow
from app.extensions import db, get_redis
from app.models.user import User
from app.security import LOGIN_CLAIM, revoked_key, revoked_login_key
from app.services import login_throttle

# A hash to verify against when the username is unknown, so both paths cost the same time.
_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    if "hash" not in _DUMMY:
        probe = User(username="-")
        probe.set_password("not-a-real-password")
        _DUMMY["hash"] = probe.password_hash
    return _DUMMY["hash"]


def authenticate_credentials(username: str, password: str) -> User:
    """The user with these credentials; 401 for wrong ones, 403 for a disabled account, 429
    (`LoginThrottled`) while the account name is in its back-off after repeated failures."""
    login_throttle.begin_attempt(username)
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        User(username="-", password_hash=_dummy_hash()).check_password(password)
        raise AppError("AUTH_INVALID_CREDENTIALS")
    if not user.check_password(password):
        raise AppError("AUTH_INVALID_CREDENTIALS")
    login_throttle.succeeded(username)
    if user.is_disabled:
        raise AppError("AUTH_ACCOUNT_DISABLED")
    return user


def check_own_password(user: User, password: str) -> None:
    """A signed-in user proving they know their current password (before changing it): counted
    by the same back-off as logins, so a stolen session cannot guess it quickly."""
    login_throttle.begin_attempt(user.username)
    if not user.check_password(password):
        raise AppError("AUTH_INVALID_CREDENTIALS", "The current password is wrong",
                       {"field": "current_password", "issue": "wrong password"})
    login_throttle.succeeded(user.username)


def issue_tokens(user: User) -> dict[str, Any]:
    """Access (1 h) and refresh (30 d) tokens for `user`, one new login; records the login
    time."""
    user.last_login_at = utcnow()
    db.session.commit()
    login = {LOGIN_CLAIM: uuid.uuid4().hex}
    return {
        "access_token": create_access_token(identity=str(user.id), additional_claims=login),
        "refresh_token": create_refresh_token(identity=str(user.id), additional_claims=login),
        "token_type": "bearer",
        "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
        "user": public_user(user),
    }


def login(username: str, password: str) -> dict[str, Any]:
    return issue_tokens(authenticate_credentials(username, password))


def refresh(user: User, claims: dict[str, Any]) -> dict[str, Any]:
    """A new access token for the (already verified, enabled) holder of the refresh token
    `claims`, in the same login."""
    return {
        "access_token": access_token_for_login(user, claims),
        "token_type": "bearer",
        "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
    }


def access_token_for_login(user: User, claims: dict[str, Any]) -> str:
    """A new access token in the login of the (refresh) token `claims`."""
    login_id = claims.get(LOGIN_CLAIM)
    return create_access_token(identity=str(user.id),
                               additional_claims={LOGIN_CLAIM: login_id} if login_id else None)


def revoke(claims: dict[str, Any]) -> datetime:
    """Put a token's id on the revocation list until the token would have expired anyway, and
    its login's id until the login's last possible token (a refresh token) would have: logging
    out with the access token also ends the refresh token, and the other way round."""
    now = utcnow()
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    pipe = get_redis().pipeline()
    pipe.set(revoked_key(claims["jti"]), 1, ex=_seconds_until(expires, now))
    if claims.get(LOGIN_CLAIM):
        cfg = current_app.config
        # The latest any token of this login can expire: an access token refreshed at the
        # last moment of a refresh token issued now.
        until = max(expires, now + cfg.get("JWT_REFRESH_TOKEN_EXPIRES", timedelta(days=30))) \
            + cfg.get("JWT_ACCESS_TOKEN_EXPIRES", timedelta(hours=1))
        pipe.set(revoked_login_key(claims[LOGIN_CLAIM]), 1, ex=_seconds_until(until, now))
    try:
        pipe.execute()
    except redis.RedisError as exc:
        raise AppError("SYSTEM_OVERLOADED", "Could not log out: the revocation list is not "
                       "answering; try again shortly") from exc
    return expires


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(int((moment - now).total_seconds()) + 1, 1)


def revoke_encoded(token: str) -> None:
    """Revoke a token given as a string (the pages' refresh cookie at logout)."""
    try:
        claims = decode_token(token, allow_expired=True)
    except Exception:  # noqa: BLE001 - an unreadable token cannot be used anyway
        return
    revoke(claims)


def public_user(user: User) -> dict[str, Any]:
    return {"id": str(user.id), "username": user.username, "email": user.email,
            "full_name": user.full_name, "role": user.role}
