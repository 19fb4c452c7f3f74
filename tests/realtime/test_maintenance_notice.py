"""Maintenance on the API socket `/ws/{session_id}`: every client is told, whatever channels it
subscribed to — when it is switched on or off while connected, and right after
`authenticated` when it connects while it is on (its writes are refused meanwhile)."""

from __future__ import annotations

import pytest

from app.services import system


@pytest.fixture
def maintenance(app):
    def switch(on: bool, message: str | None = None) -> None:
        with app.app_context():
            system.set_maintenance(on, message, by="test")

    yield switch
    with app.app_context():
        system.set_maintenance(False, by="test")


def _is_maintenance(message: dict) -> bool:
    return message["data"].get("event") == "system.maintenance"


def test_switching_is_told_to_a_client_that_subscribed_to_nothing(connect, developer,
                                                                  maintenance):
    client = connect(developer)
    maintenance(True, "Back at 18:00")
    on = client.expect("notification", where=_is_maintenance)
    assert on["data"]["enabled"] is True and on["data"]["level"] == "warning"
    assert on["data"]["title"] == "System Maintenance"
    assert on["data"]["message"] == "Back at 18:00"
    maintenance(False)
    off = client.expect("notification", where=_is_maintenance)
    assert off["data"]["enabled"] is False and off["data"]["title"] == "Maintenance Finished"


def test_a_client_connecting_during_maintenance_is_told_after_authenticating(
        connect, developer, maintenance):
    maintenance(True, "Upgrading the database")
    client = connect(developer)                   # asserts `authenticated` came first
    notice = client.expect("notification")
    assert _is_maintenance(notice) and notice["data"]["enabled"] is True
    assert notice["data"]["message"] == "Upgrading the database"
    assert notice["data"]["since"]


def test_no_notice_on_connect_when_maintenance_is_off(connect, developer):
    client = connect(developer)
    client.send(type="ping", timestamp=1)
    assert client.recv()["type"] == "pong"        # the next message after `authenticated`
