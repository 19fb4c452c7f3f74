"""The per-request shortcuts of authentication keep every rule: a token verified once per
process is still refused once expired, revoked, tampered with or of the wrong type, and a user
row kept per process is never used after the user changed (disabled, role, deleted), in this
process or another one (app.security, app.services.versions)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask_jwt_extended import create_access_token, create_refresh_token

from app import create_app
from app.extensions import db
from app.models.user import User
from tests.live import wait_for


def get(client, headers):
    return client.get("/api/tasks/", headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_verified_token_is_refused_once_it_expires(client, app, developer):
    with app.app_context():
        token = create_access_token(identity=str(developer.id),
                                    expires_delta=timedelta(seconds=2))
    assert get(client, bearer(token)).status_code == 200  # verified and kept
    wait_for(lambda: get(client, bearer(token)).status_code == 401, 10,
             message="the kept token to expire")
    resp = get(client, bearer(token))
    assert resp.json["error"]["code"] == "AUTH_TOKEN_INVALID"
    assert "expired" in resp.json["error"]["message"]


def test_a_tampered_or_refresh_token_is_refused(client, app, developer):
    with app.app_context():
        token = create_access_token(identity=str(developer.id))
        refresh = create_refresh_token(identity=str(developer.id))
    assert get(client, bearer(token)).status_code == 200
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    assert get(client, bearer(forged)).status_code == 401
    wrong = get(client, bearer(refresh))
    assert wrong.status_code == 401
    assert "refresh" in wrong.json["error"]["message"]


def test_role_change_and_deletion_apply_on_the_next_request(client, app, developer, auth):
    headers = auth(developer)
    assert get(client, headers).status_code == 200
    body = {"title": "x", "project_id": "00000000-0000-0000-0000-000000000000"}
    assert client.post("/api/tasks/", json=body, headers=headers).status_code == 404
    with app.app_context():
        db.session.get(User, developer.id).role = "viewer"
        db.session.commit()
    resp = client.post("/api/tasks/", json=body, headers=headers)
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "AUTH_INSUFFICIENT_PERMISSIONS"
    with app.app_context():
        db.session.delete(db.session.get(User, developer.id))
        db.session.commit()
    assert get(client, headers).status_code == 401


def test_a_user_disabled_through_another_process_is_refused_here(app, app_config, client,
                                                                 developer, auth):
    other = create_app(dict(app_config))  # its own per-process copies, same Redis and DB
    headers = auth(developer)
    assert get(client, headers).status_code == 200
    assert get(other.test_client(), headers).status_code == 200
    with other.app_context():
        from app.services.users import set_disabled

        set_disabled(db.session.get(User, developer.id), True)
    resp = get(client, headers)
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "AUTH_ACCOUNT_DISABLED"


def test_the_user_row_is_read_once_then_kept_until_it_changes(client, app, developer, auth):
    selects: list[str] = []

    def listen(_conn, _cursor, statement, *_args):
        if statement.lstrip().startswith("SELECT") and "FROM users" in statement:
            selects.append(statement)

    headers = auth(developer)
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        for _ in range(3):
            assert get(client, headers).status_code == 200
        assert len(selects) == 1, selects
        with app.app_context():
            db.session.get(User, developer.id).full_name = "Renamed"
            db.session.commit()
        selects.clear()
        assert get(client, headers).status_code == 200
        assert len(selects) == 1  # changed: read again
        assert get(client, headers).status_code == 200
        assert len(selects) == 1
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)


def test_kept_rows_do_not_survive_redis_losing_its_data(app, app_config, client, developer,
                                                        auth):
    """Versions start again from 0 when Redis loses its data (a restart without persistence);
    a row kept under the old numbering must not match the new one."""
    from app.extensions import get_redis

    other = create_app(dict(app_config))
    headers = auth(developer)
    with app.app_context():
        get_redis().flushdb()  # every version at 0
    assert get(client, headers).status_code == 200  # kept here at version 0
    with other.app_context():
        from app.services.users import set_disabled

        set_disabled(db.session.get(User, developer.id), True)  # version 1
    with app.app_context():
        get_redis().flushdb()  # ... and Redis forgets: version 0 again
    resp = get(client, headers)
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "AUTH_ACCOUNT_DISABLED"
