"""Roles and permissions through one rule: admin > developer (read/write/execute) > viewer."""

from __future__ import annotations

from flask import Blueprint

from app.security import check_permissions, requires


def test_permissions_by_role(ctx, admin, developer, viewer):
    assert admin.permissions == ["read", "write", "execute", "admin"]
    assert developer.permissions == ["read", "write", "execute"]
    assert viewer.permissions == ["read"]


def test_viewer_refused_a_write_route(app, app_config, viewer, developer, auth):
    """A write route (on a fresh app with a probe route) refuses viewers with a 403."""
    from app import create_app
    from app.errors import envelope

    fresh = create_app(dict(app_config))
    probe = Blueprint("probe", __name__)

    @probe.post("/api/_probe/write")
    @requires("write")
    def probe_write():
        return envelope({"ok": True})

    fresh.register_blueprint(probe)
    client = fresh.test_client()
    denied = client.post("/api/_probe/write", headers=auth(viewer))
    assert denied.status_code == 403
    assert denied.json["error"]["code"] == "AUTH_INSUFFICIENT_PERMISSIONS"
    assert denied.json["error"]["details"]["required"] == ["write"]
    allowed = client.post("/api/_probe/write", headers=auth(developer))
    assert allowed.status_code == 200


def test_check_permissions_admin_has_all(ctx, admin, viewer):
    from app.errors import AppError

    check_permissions(admin, ("write", "execute", "admin"))
    try:
        check_permissions(viewer, ("execute",))
    except AppError as exc:
        assert exc.code == "AUTH_INSUFFICIENT_PERMISSIONS"
    else:
        raise AssertionError("viewer passed an execute check")
