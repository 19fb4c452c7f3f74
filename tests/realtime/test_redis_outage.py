"""Redis going away under a running hub: clients are told, the hub reconnects, output written
meanwhile is caught up from storage (still exactly once, in order), and one system alert is
raised. Uses its own Redis server (stopped and restarted for real) and its own app instance."""

from __future__ import annotations

import pytest

from app import create_app
from app.embedded_redis import EmbeddedRedis
from tests.live import ThreadedServer, wait_for
from tests.realtime import producer as prod

pytestmark = pytest.mark.slow


@pytest.fixture
def private(app_config, tmp_path):
    """(app, server URL, redis) on a Redis of this test only."""
    redis_server = EmbeddedRedis(tmp_path / "r")
    url = redis_server.start()
    other = create_app(dict(app_config, REDIS_URL=url))
    web = ThreadedServer(other).start()
    yield other, web.url, redis_server
    from app.realtime.hub import get_hub

    hub = get_hub(other)
    wait_for(lambda: not hub.subscribers(), 10, message="sockets to close")
    hub.stop()
    web.stop()
    redis_server.stop()


def test_clients_are_told_and_caught_up_after_a_redis_outage(private, connect, developer):
    other, url, redis_server = private
    with other.app_context():
        from app.extensions import db
        from app.models.user import User

        command = prod.command_run(db.session.get(User, developer.id))
    p = prod.Producer(other, "command", command)
    ws = connect(developer, url=url)
    ws.send(type="subscribe", channel="system")
    ws.expect("subscribed")
    ws.send(type="subscribe", channel="command_output", command_id=str(command))
    ws.expect("subscribed")
    p.write(10, batch=5)
    seqs = [ws.expect("command_output")["data"]["seq"] for _ in range(10)]

    redis_server.stop()
    down = ws.expect("notification", where=lambda m: m["data"].get("event") == "realtime.down")
    assert down["data"]["level"] == "warning"
    p.write(10, batch=5)  # stored; publishing fails while Redis is away
    redis_server.start()
    up_seen = []
    while True:
        message = ws.recv(15)
        if message["type"] == "command_output":
            seqs.append(message["data"]["seq"])
        elif message["type"] == "notification":
            up_seen.append(message["data"].get("event"))
            if message["data"].get("event") == "realtime.restored":
                break
    assert seqs == list(range(1, 21))
    alert = ws.expect("notification", where=lambda m: m["data"].get("event") == "system.alert")
    assert alert["data"]["alert"] == "redis_recovered"
    p.write(5)
    p.finish()
    while (message := ws.recv(10))["type"] != "command_completed":
        if message["type"] == "command_output":
            seqs.append(message["data"]["seq"])
    assert seqs == list(range(1, 26))
