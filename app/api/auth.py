"""`/api/auth`: login, refresh, logout (CONTRACT §2)."""

from __future__ import annotations

from flask_jwt_extended import get_jwt
from pydantic import BaseModel, Field

from app.api.common import blueprint, endpoint
from app.api.validation import Body
from app.errors import envelope, error_envelope, iso
from app.request_hooks import maintenance_exempt, retry_after
from app.security import ANY_TOKEN, PUBLIC, REFRESH, current_user
from app.services import auth as auth_service
from app.services.login_throttle import LoginThrottled

bp = blueprint("api_auth", "/api/auth", "Auth", "Log in and out with JWTs")


class LoginBody(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserSummary(BaseModel):
    id: str
    username: str
    email: str | None
    full_name: str | None = None
    role: str


class LoginData(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserSummary


class RefreshData(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class LogoutData(BaseModel):
    message: str
    revoked_until: str


@endpoint(bp, "post", "/login", auth=PUBLIC, summary="Log in", data=LoginData,
          errors=[401, 403, 429])
def login(body: LoginBody):
    """Trade a username and password for an access token (1 h) and a refresh token (30 d).
    After 5 failed attempts on one account, further attempts wait a growing delay (429 with
    Retry-After, at most 5 minutes)."""
    try:
        return envelope(auth_service.login(body.username, body.password))
    except LoginThrottled as exc:
        return retry_after(error_envelope(exc.code, exc.message, exc.details, exc.status),
                           exc.retry_after)


@endpoint(bp, "post", "/refresh", auth=REFRESH, summary="Refresh the access token",
          data=RefreshData)
def refresh():
    """Send the refresh token as the Bearer token; get a new access token."""
    return envelope(auth_service.refresh(current_user(), get_jwt()))


@endpoint(bp, "post", "/logout", auth=ANY_TOKEN, summary="Log out", data=LogoutData)
@maintenance_exempt
def logout():
    """Revoke the presented token (access or refresh) and the other tokens of its login."""
    until = auth_service.revoke(get_jwt())
    return envelope({"message": "Logged out", "revoked_until": iso(until)})
