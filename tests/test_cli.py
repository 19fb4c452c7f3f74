"""Operator CLI (CONTRACT §1): users create|list|disable|set-password, maintenance on|off."""

from __future__ import annotations

from app.extensions import db
from app.models import User
from app.services import system


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_users_create_list_disable_set_password(app, client):
    out = run(app, "users", "create", "alice", "--password", "s3cret-pass", "--email",
              "a@example.com", "--role", "viewer", "--tier", "premium")
    assert out.exit_code == 0, out.output
    assert "created alice (viewer, premium)" in out.output
    listing = run(app, "users", "list")
    assert "alice" in listing.output and "viewer" in listing.output

    login = {"username": "alice", "password": "s3cret-pass"}
    assert client.post("/api/auth/login", json=login).status_code == 200

    assert run(app, "users", "set-password", "alice", "--password", "another-pass").exit_code == 0
    assert client.post("/api/auth/login", json=login).status_code == 401
    login["password"] = "another-pass"
    assert client.post("/api/auth/login", json=login).status_code == 200

    assert run(app, "users", "disable", "alice").exit_code == 0
    assert "disabled" in run(app, "users", "list").output
    assert client.post("/api/auth/login", json=login).status_code == 403
    assert run(app, "users", "enable", "alice").exit_code == 0
    assert client.post("/api/auth/login", json=login).status_code == 200


def test_create_refuses_duplicates_and_short_passwords(app):
    assert run(app, "users", "create", "bob", "--password", "long-enough").exit_code == 0
    dup = run(app, "users", "create", "BOB", "--password", "long-enough")
    assert dup.exit_code != 0 and "already exists" in dup.output
    short = run(app, "users", "create", "carol", "--password", "short")
    assert short.exit_code != 0 and "8 characters" in short.output


def test_unknown_user_is_a_clear_error(app):
    out = run(app, "users", "disable", "nobody")
    assert out.exit_code != 0 and "no user named 'nobody'" in out.output


def test_ensure_admin_prints_a_generated_password_once(app, monkeypatch):
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    first = run(app, "users", "ensure-admin")
    assert first.exit_code == 0
    assert first.output.startswith("Admin login: admin / ")
    password = first.output.splitlines()[0].split(" / ")[1]
    assert "generated password, shown only this once" in first.output
    with app.app_context():
        admin = db.session.query(User).filter_by(username="admin").one()
        assert admin.role == "admin" and admin.check_password(password)
    second = run(app, "users", "ensure-admin")
    assert "password unchanged" in second.output and password not in second.output


def test_admin_password_from_environment_is_never_echoed(app, monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", "from-the-env-123")
    out = run(app, "users", "ensure-admin")
    assert out.exit_code == 0
    assert "from-the-env-123" not in out.output
    assert "Admin login: admin (created with the password from ADMIN_PASSWORD)" in out.output
    with app.app_context():
        admin = db.session.query(User).filter_by(username="admin").one()
        assert admin.check_password("from-the-env-123")
    again = run(app, "users", "ensure-admin")
    assert "from-the-env-123" not in again.output and "exists" in again.output


def test_init_echoes_no_given_password(app, monkeypatch):
    """`flask init` (what `make run` calls) says the admin exists, never the password given."""
    monkeypatch.setenv("ADMIN_PASSWORD", "from-the-env-456")
    with app.app_context():  # the `flask` command pushes one; the test runner does not
        out = run(app, "init")
    assert out.exit_code == 0, out.output
    assert "from-the-env-456" not in out.output and "Admin login: admin" in out.output


def test_maintenance_on_off(app, client, developer, auth):
    assert run(app, "maintenance", "on", "--message", "back soon").exit_code == 0
    with app.app_context():
        state = system.maintenance_state(fresh=True)
    assert state["enabled"] is True and state["message"] == "back soon"
    system._cache.clear()
    resp = client.put("/api/users/preferences", headers=auth(developer), json={"theme": "dark"})
    assert resp.status_code == 503 and resp.json["error"]["message"] == "back soon"
    assert run(app, "maintenance", "off").exit_code == 0
    system._cache.clear()
    resp = client.put("/api/users/preferences", headers=auth(developer), json={"theme": "dark"})
    assert resp.status_code == 200
