"""The socket route `/ws/{session_id}` (flask-sock; the JSON protocol lives in `connection`)."""

from __future__ import annotations

from flask import Blueprint, current_app

from app.extensions import sock

bp = Blueprint("realtime", __name__)


@sock.route("/ws/<session_id>", bp=bp)
def session_socket(ws, session_id: str) -> None:
    """One client for its whole life: authenticate within 10 s, then subscribe and listen."""
    from app.realtime.connection import ClientConnection

    ClientConnection(ws, session_id, current_app._get_current_object()).run()
