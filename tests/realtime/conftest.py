"""Realtime fixtures: a live threaded server per test, authenticated socket clients, sessions,
and an output producer that stores and publishes lines exactly as the engine does."""

from __future__ import annotations

import uuid

import pytest

from tests.live import wait_for
from tests.realtime.wsclient import WS


@pytest.fixture
def server(live_server, app):
    """The live server's URL; at the end, waits until every socket of the test is gone
    (so that nothing writes after the tables are emptied)."""
    yield live_server
    from app.realtime.hub import get_hub

    hub = get_hub(app)
    wait_for(lambda: not hub.subscribers(), 10, message="sockets of the test to close")


@pytest.fixture
def token(app):
    def make(user, **kwargs) -> str:
        with app.app_context():
            from flask_jwt_extended import create_access_token

            return create_access_token(identity=str(user.id), **kwargs)

    return make


@pytest.fixture
def new_session(app):
    """`new_session(user, project=None, settings=None)`: a session id (str)."""

    def make(user, project=None, settings=None) -> str:
        with app.app_context():
            from app.extensions import db
            from app.models.user import User
            from app.services import sessions

            owner = db.session.get(User, user.id)
            created = sessions.create_session(owner, project.id if project else None, settings)
            return str(created.id)

    return make


@pytest.fixture
def connect(server, token, new_session):
    """`connect(user, session_id=None, auth=True)`: a socket client (authenticated unless
    auth=False), closed after the test."""
    opened: list[WS] = []

    def open_(user, session_id: str | None = None, auth: bool = True, url: str | None = None
              ) -> WS:
        client = WS(url or server, session_id or new_session(user))
        opened.append(client)
        if auth:
            client.send(type="authenticate", token=token(user))
            message = client.recv()
            assert message["type"] == "authenticated", message
        return client

    yield open_
    for client in opened:
        client.close()


def new_id() -> str:
    return str(uuid.uuid4())
