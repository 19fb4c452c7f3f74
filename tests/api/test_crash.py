"""A crash is a 500 envelope with the request id, logged with its traceback, never shown."""

from __future__ import annotations

import logging

from flask import Blueprint

from app import create_app
from app.security import public


def test_unhandled_error_is_logged_not_shown(app_config, caplog):
    fresh = create_app(dict(app_config))
    probe = Blueprint("crash_probe", __name__)

    @probe.get("/api/_probe/crash")
    @public
    def crash():
        raise RuntimeError("secret internals: password=hunter2")

    fresh.register_blueprint(probe)
    with caplog.at_level(logging.ERROR):
        resp = fresh.test_client().get("/api/_probe/crash", headers={"X-Request-ID": "req-500"})
    assert resp.status_code == 500
    body = resp.get_data(as_text=True)
    assert resp.json["error"]["code"] == "INTERNAL_ERROR"
    assert "req-500" in resp.json["error"]["message"]
    assert resp.json["meta"]["request_id"] == "req-500"
    assert "hunter2" not in body and "Traceback" not in body
    record = next(r for r in caplog.records if "req-500" in r.getMessage())
    assert record.exc_info and "hunter2" in str(record.exc_info[1])
