"""The pages socket (`/ws/pages`) over a real socket on a live server, without a browser: what
fragments it pushes for each topic, gap-free output from `after_seq`, and who it refuses."""

from __future__ import annotations

import re
import time

import pytest
import simple_websocket

from app.extensions import db
from app.models.user import User
from tests import factories
from tests.live import wait_for
from tests.realtime.producer import Producer

SEQ = re.compile(r'class="ln[^"]*"[^>]*data-seq="(\d+)"')


class PageSocket:
    """A pages socket with a logged-in user's cookies; collects every message (HTML)."""

    def __init__(self, base: str, query: str, cookies: str = "", origin: str | None = None):
        headers = {"Cookie": cookies} if cookies else {}
        if origin:
            headers["Origin"] = origin
        url = base.replace("http://", "ws://") + "/ws/pages?" + query
        self.ws = simple_websocket.Client.connect(url, headers=headers)
        self.seen: list[str] = []
        self.closed = False

    def wait(self, predicate, timeout: float = 10.0) -> str:
        """The first message (new or already seen) matching `predicate`."""
        for text in self.seen:
            if predicate(text):
                return text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                text = self.ws.receive(timeout=0.1)
            except simple_websocket.ConnectionClosed:
                self.closed = True
                break
            if text is not None:
                self.seen.append(text)
                if predicate(text):
                    return text
        raise AssertionError(f"no matching message in {timeout}s; seen: {self.seen[-5:]}")

    def seqs(self) -> list[int]:
        return [int(s) for text in self.seen for s in SEQ.findall(text)]

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.closed:
            try:
                text = self.ws.receive(timeout=0.05)
            except simple_websocket.ConnectionClosed:
                self.closed = True
                return
            if text is not None:
                self.seen.append(text)

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass


def login(app, user):
    """A test client logged in as `user` through the login form."""
    client = app.test_client()
    client.post("/login", data={"username": user.username, "password": user.password})
    return client


@pytest.fixture
def sockets(live_server, app):
    opened: list[PageSocket] = []

    def open_(query: str, user=None, origin: str | None = None, client=None) -> PageSocket:
        cookies = ""
        if user is not None or client is not None:
            client = client or login(app, user)
            names = ("access_token_cookie", "refresh_token_cookie", "csrf_access_token")
            cookies = "; ".join(f"{n}={client.get_cookie(n).value}" for n in names
                                if client.get_cookie(n) is not None)
        sock = PageSocket(live_server, query, cookies, origin)
        opened.append(sock)
        return sock

    yield open_
    for sock in opened:
        sock.close()
    from app.realtime.hub import get_hub

    hub = get_hub(app)
    wait_for(lambda: not hub.subscribers(), 10, message="page sockets to close")


@pytest.fixture
def running(app, developer):
    with app.app_context():
        project = factories.project(developer)
        owner = db.session.get(User, developer.id)
        task = factories.task(project, owner, executor="shell", command="make")
        run_id = factories.execution(task, owner)
    return project, task, run_id


def test_output_joins_storage_and_live_lines_exactly_once(app, sockets, developer, running):
    _project, task, run_id = running
    producer = Producer(app, "execution", run_id)
    producer.write(30, batch=10)                       # stored and published before anyone came
    sock = sockets(f"topics=execution:{run_id},task:{task.id}&after_seq=10", developer)
    sock.wait(lambda t: 'data-seq="30"' in t)
    producer.write(25, batch=5)                        # live, after the socket caught up
    sock.wait(lambda t: 'data-seq="55"' in t)
    assert sock.seqs() == list(range(11, 56))          # 11..55: none missing, none twice
    assert 'hx-swap-oob="beforeend:#out-' + str(run_id) + '-log"' in sock.seen[-1]
    assert f'id="out-{run_id}-seq" data-seq="55"' in sock.seen[-1]
    producer.finish("completed", 0)
    sock.wait(lambda t: f'id="run-{run_id}-header"' in t and 'data-status="completed"' in t)


def test_a_late_page_gets_earlier_and_later_lines_once(app, sockets, developer, running):
    """While lines keep arriving: a page that rendered up to seq N and opens its socket then."""
    _project, _task, run_id = running
    producer = Producer(app, "execution", run_id)
    producer.write(40, batch=8)
    sock = sockets(f"topics=execution:{run_id}&after_seq=25", developer)
    producer.write(40, batch=8)
    sock.wait(lambda t: 'data-seq="80"' in t)
    assert sock.seqs() == list(range(26, 81))


def test_output_is_escaped_in_pushed_lines(app, sockets, developer, running):
    _project, _task, run_id = running
    sock = sockets(f"topics=execution:{run_id}&after_seq=0", developer)
    with app.app_context():
        factories.output_lines("execution", run_id, [
            "<script>window.x=1</script>\n", '<img src=x onerror="window.x=2">\n'])
        from app.services import events

        events.publish_output("execution", run_id, [
            {"seq": 1, "stream": "stdout", "kind": "line",
             "content": "<script>window.x=1</script>\n"},
            {"seq": 2, "stream": "stderr", "kind": "line",
             "content": '<img src=x onerror="window.x=2">\n'}])
    text = sock.wait(lambda t: 'data-seq="2"' in t)
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;window.x=1&lt;/script&gt;" in text


def test_board_card_moves_with_an_oob_delete_and_append(app, sockets, developer):
    with app.app_context():
        project = factories.project(developer)
        task = factories.task(project, db.session.get(User, developer.id))
    sock = sockets(f"topics=project:{project.id}", developer)
    wait_for(lambda: _registered(app), 5, message="the socket to register")
    with app.app_context():
        from app.services.tasks import update_task

        update_task(task.id, db.session.get(User, developer.id), {"status": "completed"})
    push = sock.wait(lambda t: f"task-{task.id}-card" in t)
    assert f'<article id="task-{task.id}-card" hx-swap-oob="delete"></article>' in push
    assert 'hx-swap-oob="beforeend:#board-col-completed-cards"' in push
    assert 'data-status="completed"' in push
    assert re.search(r'id="board-col-completed-count"[^>]*>1<', push)
    assert re.search(r'id="board-col-pending-count"[^>]*>0<', push)


def test_task_page_gets_badge_and_buttons_for_its_user(app, sockets, developer, viewer):
    with app.app_context():
        project = factories.project(developer, settings={"members": [str(viewer.id)]})
        task = factories.task(project, db.session.get(User, developer.id), executor="shell",
                              command="true")
    dev = sockets(f"topics=task:{task.id}", developer)
    view = sockets(f"topics=task:{task.id}", viewer)
    wait_for(lambda: _registered(app, 2), 5, message="both sockets to register")
    with app.app_context():
        from app.services.tasks import update_task

        update_task(task.id, db.session.get(User, developer.id), {"status": "cancelled"})
    pushes = [sock.wait(lambda t: f'id="task-{task.id}-status"' in t and ">cancelled<" in t)
              for sock in (dev, view)]
    assert all(f'id="task-{task.id}-actions"' in push for push in pushes)
    assert f'id="task-{task.id}-retry"' in pushes[0]          # the developer may retry
    assert f'id="task-{task.id}-retry"' not in pushes[1]      # the viewer gets no buttons


def test_refusals(app, sockets, developer, make_user, running):
    project, _task, run_id = running
    anonymous = sockets(f"topics=project:{project.id}")
    assert "log in again" in anonymous.wait(lambda t: "toast" in t)
    wait_for(lambda: (anonymous.drain(0.1), anonymous.closed)[1], 5,
             message="the anonymous socket to close")
    foreign = sockets(f"topics=project:{project.id}", developer, origin="http://evil.example")
    assert "only serves pages of this site" in foreign.wait(lambda t: "toast" in t)
    other = sockets(f"topics=project:{project.id},execution:{run_id},queues",
                    make_user(role="developer"))
    assert "access" in other.wait(lambda t: "Not shown live" in t).lower()
    other.drain(0.3)
    assert not other.closed                            # the topics it may see still work


def test_notifications_and_queue_pause_arrive(app, sockets, admin):
    sock = sockets("topics=queues,system", admin)
    wait_for(lambda: _registered(app), 5, message="the socket to register")
    with app.app_context():
        from app.services import events, queue_control

        events.publish(events.make_event("notification", {
            "level": "info", "title": "Hello <b>", "message": "just you",
            "actions": [{"label": "Bad", "url": "javascript:alert(1)"},
                        {"label": "Good", "url": "/queues"}]}, user_id=admin.id))
        queue_control.pause("low", "maintenance window", db.session.get(User, admin.id))
    toast = sock.wait(lambda t: "just you" in t)
    assert "Hello &lt;b&gt;" in toast and "javascript:" not in toast and 'href="/queues"' in toast
    figures = sock.wait(lambda t: 'id="queues-figures"' in t and 'data-paused="1"' in t)
    assert 'id="queue-low-row" data-paused="1"' in figures
    assert 'id="queue-low-resume"' in sock.wait(lambda t: 'id="queues-controls"' in t)


def test_logout_and_a_disabled_account_end_the_socket(app, sockets, developer, make_user,
                                                      monkeypatch):
    monkeypatch.setitem(app.config, "WS_PAGES_RECHECK", 0.2)
    client = login(app, developer)
    sock = sockets("topics=system", client=client)
    wait_for(lambda: _registered(app), 5, message="the socket to register")
    token = client.get_cookie("csrf_access_token").value
    client.post("/logout", data={"csrf_token": token})
    assert "logged out" in sock.wait(lambda t: "Live updates stopped" in t)
    wait_for(lambda: (sock.drain(0.1), sock.closed)[1], 5, message="the socket to close")

    other = make_user(role="developer")
    second = sockets("topics=system", other)
    wait_for(lambda: _registered(app), 5, message="the second socket to register")
    with app.app_context():
        from app.services import users

        users.set_disabled(db.session.get(User, other.id), True)
    assert "disabled" in second.wait(lambda t: "Live updates stopped" in t)


def test_connection_cap_per_user(app, sockets, developer, monkeypatch):
    monkeypatch.setitem(app.config, "WS_MAX_CONNECTIONS_PER_USER", 1)
    first = sockets("topics=system", developer)
    wait_for(lambda: _registered(app), 5, message="the first socket to register")
    second = sockets("topics=system", developer)
    assert "More than 1 live pages" in second.wait(lambda t: "toast" in t)
    wait_for(lambda: (second.drain(0.1), second.closed)[1], 5, message="the refusal to close")
    first.drain(0.2)
    assert not first.closed


def test_task_page_and_dashboard_are_refreshed(app, sockets, developer, start_worker):
    with app.app_context():
        project = factories.project(developer)
        task = factories.task(project, db.session.get(User, developer.id), executor="shell",
                              command="echo hi")
    page = sockets(f"topics=task:{task.id}", developer)
    board = sockets("topics=dashboard", developer)
    wait_for(lambda: _registered(app, 2), 5, message="both sockets to register")
    start_worker(queues="normal")
    with app.app_context():
        from app.services import executions

        run_id = executions.execute(task.id, db.session.get(User, developer.id))["execution_id"]
    runs = page.wait(lambda t: f'id="task-{task.id}-executions"' in t
                     and f'href="/executions/{run_id}"' in t and "status-completed" in t, 20)
    assert "#1 output" in runs
    counts = board.wait(lambda t: 'id="dashboard-counts"' in t and re.search(
        r'id="dashboard-count-completed">\s*<span class="count-n">1<', t), 20)
    assert 'id="dashboard-activity"' in counts


def _registered(app, count: int = 1) -> bool:
    from app.realtime.hub import get_hub

    return len([s for s in get_hub(app).subscribers() if s.user_id]) >= count
