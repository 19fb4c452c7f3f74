"""Logging in and out: credentials to tokens, refresh, revocation (CONTRACT §2)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from sqlalchemy import func, select

from app.errors import AppError, utcnow
from app.extensions import db, get_redis
from app.models.user import User
from app.security import revoked_key

# A hash to verify against when the username is unknown, so both paths cost the same time.
_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    if "hash" not in _DUMMY:
        probe = User(username="-")
        probe.set_password("not-a-real-password")
        _DUMMY["hash"] = probe.password_hash
    return _DUMMY["hash"]


def authenticate_credentials(username: str, password: str) -> User:
    """The user with these credentials; 401 for wrong ones, 403 for a disabled account."""
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        User(username="-", password_hash=_dummy_hash()).check_password(password)
        raise AppError("AUTH_INVALID_CREDENTIALS")
    if not user.check_password(password):
        raise AppError("AUTH_INVALID_CREDENTIALS")
    if user.is_disabled:
        raise AppError("AUTH_ACCOUNT_DISABLED")
    return user


def issue_tokens(user: User) -> dict[str, Any]:
    """Access (1 h) and refresh (30 d) tokens for `user`; records the login time."""
    user.last_login_at = utcnow()
    db.session.commit()
    return {
        "access_token": create_access_token(identity=str(user.id)),
        "refresh_token": create_refresh_token(identity=str(user.id)),
        "token_type": "bearer",
        "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
        "user": public_user(user),
    }


def login(username: str, password: str) -> dict[str, Any]:
    return issue_tokens(authenticate_credentials(username, password))


def refresh(user: User) -> dict[str, Any]:
    """A new access token for the (already verified, enabled) refresh-token holder."""
    return {
        "access_token": create_access_token(identity=str(user.id)),
        "token_type": "bearer",
        "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
    }


def revoke(claims: dict[str, Any]) -> datetime:
    """Put a token's id on the revocation list until the token would have expired anyway."""
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    ttl = max(int((expires - utcnow()).total_seconds()) + 1, 1)
    get_redis().set(revoked_key(claims["jti"]), 1, ex=ttl)
    return expires


def revoke_encoded(token: str) -> None:
    """Revoke a token given as a string (the pages' refresh cookie at logout)."""
    try:
        revoke(decode_token(token, allow_expired=True))
    except Exception:  # noqa: BLE001 - an unreadable token cannot be used anyway
        return


def public_user(user: User) -> dict[str, Any]:
    return {"id": str(user.id), "username": user.username, "email": user.email,
            "full_name": user.full_name, "role": user.role}
