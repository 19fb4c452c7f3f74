"""Login, refresh, logout, revocation, disabled accounts and role permissions (CONTRACT §2)."""

from __future__ import annotations

from app.extensions import db
from app.models.user import User


def login(client, user, password=None):
    return client.post("/api/auth/login",
                       json={"username": user.username, "password": password or user.password})


def test_login_returns_tokens_and_user(client, developer):
    resp = login(client, developer)
    assert resp.status_code == 200
    data = resp.json["data"]
    assert data["token_type"] == "bearer"
    assert data["expires_in"] == 3600
    assert data["access_token"] and data["refresh_token"]
    assert data["user"] == {"id": str(developer.id), "username": developer.username,
                            "email": None, "full_name": None, "role": "developer"}


def test_login_is_case_insensitive_on_username(client, developer):
    resp = client.post("/api/auth/login", json={"username": developer.username.upper(),
                                                "password": developer.password})
    assert resp.status_code == 200


def test_wrong_password_and_unknown_user_look_the_same(client, developer):
    wrong = login(client, developer, "not-the-password")
    unknown = client.post("/api/auth/login", json={"username": "nobody", "password": "x" * 9})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json["error"]["code"] == unknown.json["error"]["code"] == \
        "AUTH_INVALID_CREDENTIALS"


def test_login_validation_names_the_missing_field(client):
    resp = client.post("/api/auth/login", json={"username": "someone"})
    assert resp.status_code == 422
    err = resp.json["error"]
    assert err["code"] == "VALIDATION_REQUIRED_FIELD"
    assert err["details"]["field"] == "password"
    assert err["details"]["issue"] == "Field is required"


def test_login_rejects_unknown_fields(client):
    resp = client.post("/api/auth/login", json={"username": "a", "password": "b", "admin": True})
    assert resp.status_code == 422
    assert resp.json["error"]["details"]["field"] == "admin"


def test_malformed_json_is_a_validation_error(client):
    resp = client.post("/api/auth/login", data="{not json", content_type="application/json")
    assert resp.status_code == 422
    assert resp.json["error"]["details"]["field"] == "body"


def test_missing_and_invalid_tokens(client):
    missing = client.get("/api/users/profile")
    assert missing.status_code == 401
    assert missing.json["error"]["code"] == "AUTH_TOKEN_MISSING"
    invalid = client.get("/api/users/profile", headers={"Authorization": "Bearer abc.def.ghi"})
    assert invalid.status_code == 401
    assert invalid.json["error"]["code"] == "AUTH_TOKEN_INVALID"


def test_auth_is_checked_before_validation(client):
    resp = client.put("/api/users/preferences", json={"theme": "purple"})
    assert resp.status_code == 401


def test_expired_token_is_refused(client, app, developer):
    from datetime import timedelta

    from flask_jwt_extended import create_access_token

    with app.app_context():
        token = create_access_token(identity=str(developer.id),
                                    expires_delta=timedelta(seconds=-1))
    resp = client.get("/api/users/profile", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "AUTH_TOKEN_INVALID"
    assert "expired" in resp.json["error"]["message"]


def test_refresh_takes_the_refresh_token(client, developer):
    tokens = login(client, developer).json["data"]
    resp = client.post("/api/auth/refresh",
                       headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert resp.status_code == 200
    new_access = resp.json["data"]["access_token"]
    assert client.get("/api/users/profile",
                      headers={"Authorization": f"Bearer {new_access}"}).status_code == 200
    # An access token is not a refresh token.
    wrong = client.post("/api/auth/refresh",
                        headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert wrong.status_code == 401


def test_logout_revokes_the_presented_token(client, developer):
    tokens = login(client, developer).json["data"]
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/api/users/profile", headers=headers).status_code == 200
    out = client.post("/api/auth/logout", headers=headers)
    assert out.status_code == 200
    after = client.get("/api/users/profile", headers=headers)
    assert after.status_code == 401
    assert after.json["error"]["code"] == "AUTH_TOKEN_INVALID"
    assert "revoked" in after.json["error"]["message"]


def test_revoked_refresh_token_cannot_refresh(client, developer):
    tokens = login(client, developer).json["data"]
    refresh = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert client.post("/api/auth/logout", headers=refresh).status_code == 200
    assert client.post("/api/auth/refresh", headers=refresh).status_code == 401


def test_revocation_lives_in_redis(client, app, developer):
    from flask_jwt_extended import decode_token

    from app.extensions import get_redis

    tokens = login(client, developer).json["data"]
    client.post("/api/auth/logout", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    with app.app_context():
        jti = decode_token(tokens["access_token"])["jti"]
        ttl = get_redis().ttl(f"auth:revoked:{jti}")
    assert 3500 < ttl <= 3601


def test_disabled_user_cannot_log_in_or_use_old_token(client, app, developer, auth):
    headers = auth(developer)
    assert client.get("/api/users/profile", headers=headers).status_code == 200
    with app.app_context():
        from app.services.users import set_disabled

        set_disabled(db.session.get(User, developer.id), True)
    resp = client.get("/api/users/profile", headers=headers)
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "AUTH_ACCOUNT_DISABLED"
    again = login(client, developer)
    assert again.status_code == 403
    assert again.json["error"]["code"] == "AUTH_ACCOUNT_DISABLED"


def test_token_of_deleted_user_is_invalid(client, app, developer, auth):
    headers = auth(developer)
    with app.app_context():
        db.session.delete(db.session.get(User, developer.id))
        db.session.commit()
    assert client.get("/api/users/profile", headers=headers).status_code == 401


def test_every_api_route_declares_an_access_rule(app):
    """Fail closed: a route without a rule would be refused, so none may lack one."""
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api"):
            view = app.view_functions[rule.endpoint]
            if getattr(view, "_auth", None) is None:
                missing.append(rule.rule)
    assert missing == []


def test_password_is_hashed_with_argon2id(ctx, developer):
    stored = db.session.get(User, developer.id).password_hash
    assert stored.startswith("$argon2id$")
    assert developer.password not in stored
