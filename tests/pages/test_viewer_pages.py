"""The output viewer's handlers through the test client: tail, earlier ranges, download,
escaping, ANSI colours, Claude runs, access and buttons by role."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from tests import factories
from tests.pages import login_client

page_client = login_client.page_client  # the fixture shared by the page tests

SEQS = re.compile(rb'class="ln[^"]*"[^>]*data-seq="(\d+)"')


@pytest.fixture
def run_with_lines(app, developer, viewer):
    """A developer's shell task shared with a viewer, and a running execution of 1,200 lines."""
    with app.app_context():
        project = factories.project(developer, settings={"members": [str(viewer.id)]})
        owner = db.session.get(type(developer), developer.id)
        task = factories.task(project, owner, executor="shell", command="make",
                              status="running")
        run_id = factories.execution(task, owner)
        factories.output_lines("execution", run_id,
                               [f"line {i}\n" for i in range(1, 1201)])
    return task, run_id


def seqs(body: bytes) -> list[int]:
    return [int(s) for s in SEQS.findall(body)]


def test_page_shows_the_tail_and_a_socket_after_it(page_client, developer, run_with_lines):
    task, run_id = run_with_lines
    page = page_client(developer).get(f"/executions/{run_id}")
    assert page.status_code == 200
    assert seqs(page.data) == list(range(701, 1201))           # the last 500 lines, in order
    assert f"/executions/{run_id}/lines?before_seq=701".encode() in page.data
    assert (f'ws-connect="/ws/pages?topics=execution:{run_id},task:{task.id},system'
            f'&amp;after_seq=1200"').encode() in page.data
    assert f'id="task-{task.id}-status"'.encode() in page.data
    assert f'id="task-{task.id}-cancel"'.encode() in page.data  # running: cancel offered


def test_earlier_ranges_load_until_the_first_line(page_client, developer, run_with_lines):
    _task, run_id = run_with_lines
    client = page_client(developer)
    first = client.hx_get(f"/executions/{run_id}/lines?before_seq=701")
    assert seqs(first.data) == list(range(201, 701))
    assert b"before_seq=201" in first.data and b"<html" not in first.data
    last = client.hx_get(f"/executions/{run_id}/lines?before_seq=201")
    assert seqs(last.data) == list(range(1, 201))
    assert b"Load earlier" not in last.data                    # nothing before line 1
    assert client.hx_get(f"/executions/{run_id}/lines?before_seq=abc").status_code == 400


def test_download_streams_every_line_in_order(page_client, developer, run_with_lines):
    _task, run_id = run_with_lines
    resp = page_client(developer).get(f"/executions/{run_id}/output.txt")
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    assert "attachment" in resp.headers["Content-Disposition"]
    assert resp.data.decode().splitlines() == [f"line {i}" for i in range(1, 1201)]


def test_output_is_escaped_and_colours_become_classes(app, page_client, developer):
    with app.app_context():
        project = factories.project(developer)
        owner = db.session.get(type(developer), developer.id)
        task = factories.task(project, owner, executor="shell", command="x")
        run_id = factories.execution(task, owner, status="completed", exit_code=0)
        factories.output_lines("execution", run_id, [
            "<script>window.pwned = 1</script>\n",
            {"content": '<img src=x onerror="window.pwned = 2">\n', "stream": "stderr"},
            "\x1b[1;31mred bold\x1b[0m and \x1b[32mgreen\x1b[0m\n",
            "\x1b]0;title\x07done <b>not bold</b>\n",
            "\x1b[38;5;196mcube\x1b[0m \x1b[48;2;1;2;3mtrue\x1b[0m\n",
        ])
    body = page_client(developer).get(f"/executions/{run_id}").data.decode()
    assert "<script>window.pwned" not in body and "<img src=x" not in body
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=&#34;window.pwned = 2&#34;&gt;" in body
    assert re.search(r'class="ln ln-stderr" data-seq="2"', body)
    assert '<span class="ansi-red ansi-bold">red bold</span>' in body
    assert '<span class="ansi-green">green</span>' in body
    assert "done &lt;b&gt;not bold&lt;/b&gt;" in body and "\x1b" not in body
    assert '<span style="color:#ff0000">cube</span>' in body
    assert '<span style="background-color:#010203">true</span>' in body


def test_claude_run_is_shown_structured(app, page_client, developer):
    with app.app_context():
        project = factories.project(developer)
        owner = db.session.get(type(developer), developer.id)
        task = factories.task(project, owner)
        run_id = factories.execution(task, owner, status="completed", executor="claude",
                                     cost_usd=0.0123, num_turns=3, duration_ms=2345)
        factories.output_lines("execution", run_id, [
            {"kind": "system", "content": "[init] session s1 model m\n",
             "data": {"type": "system", "model": "m"}},
            {"kind": "text", "content": "I'll list the files.\n",
             "data": {"type": "text", "role": "assistant"}},
            {"kind": "tool_use", "content": 'Bash {"command": "ls"}\n',
             "data": {"type": "tool_use", "id": "toolu_01", "name": "Bash",
                      "input": {"command": "ls <dir>", "description": "List files"}}},
            {"kind": "tool_result", "content": "README.md\nsrc\n",
             "data": {"type": "tool_result", "tool_use_id": "toolu_01", "is_error": False}},
            {"kind": "result", "content": "Done.\n",
             "data": {"type": "result", "subtype": "success", "is_error": False,
                      "total_cost_usd": 0.0123, "num_turns": 3, "duration_ms": 2345}},
        ])
    body = page_client(developer).get(f"/executions/{run_id}").data.decode()
    assert '<details class="ln cl-tool" id="tool-toolu_01"' in body
    assert '<strong class="cl-tool-name">Bash</strong>' in body
    assert "&#34;command&#34;: &#34;ls &lt;dir&gt;&#34;" in body        # input, escaped
    assert 'class="ln cl-result" data-tool="toolu_01"' in body and "README.md\nsrc" in body
    assert "Assistant" in body and "I&#39;ll list the files." in body
    assert "$0.0123" in body and "2.3 s" in body                       # result figures


def test_viewer_of_the_project_sees_no_buttons(page_client, viewer, run_with_lines):
    task, run_id = run_with_lines
    page = page_client(viewer).get(f"/executions/{run_id}")
    assert page.status_code == 200
    assert f'id="task-{task.id}-cancel"'.encode() not in page.data
    assert f'id="task-{task.id}-execute"'.encode() not in page.data


def test_outsiders_are_refused(page_client, make_user, run_with_lines):
    _task, run_id = run_with_lines
    other = page_client(make_user(role="developer"))
    assert other.get(f"/executions/{run_id}").status_code == 403
    assert other.get(f"/executions/{run_id}/output.txt").status_code == 403
    assert other.get(f"/executions/{run_id}/lines?before_seq=5").status_code == 403
    assert other.get("/executions/00000000-0000-0000-0000-000000000000").status_code == 404


def test_command_page_cancel_and_access(app, page_client, developer, make_user):
    with app.app_context():
        owner = db.session.get(type(developer), developer.id)
        cmd_id = factories.command(owner, command_line="sleep 30 && echo '<b>'")
        factories.output_lines("command", cmd_id, ["waiting\n"])
    page = page_client(developer).get(f"/commands/{cmd_id}")
    assert page.status_code == 200
    assert f'id="run-{cmd_id}-cancel"'.encode() in page.data
    assert b"sleep 30 &amp;&amp; echo &#39;&lt;b&gt;&#39;" in page.data
    assert f"topics=command:{cmd_id},system&amp;after_seq=1".encode() in page.data
    assert page_client(make_user(role="developer")).get(f"/commands/{cmd_id}").status_code \
        == 404


def test_anonymous_visitors_go_to_login(client, run_with_lines):
    _task, run_id = run_with_lines
    resp = client.get(f"/executions/{run_id}")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_reads_are_bounded_by_the_run_counter(ctx, developer):
    """The tail read is a seq range from the run's counter (index-friendly on any planner
    statistics); lines stored past a lagging counter still show, gaps skip window by window."""
    from app.services.output_pages import before

    owner = db.session.get(type(developer), developer.id)
    project = factories.project(owner)
    task = factories.task(project, owner)
    run_id = factories.execution(task, owner, last_seq=1000)
    factories.output_lines("execution", run_id, [f"l{i}\n" for i in range(1, 1201)])
    page = before("execution", run_id, last_seq=1000)
    assert [ln["seq"] for ln in page["lines"]] == list(range(701, 1201))
    assert page["has_earlier"] and page["first_seq"] == 701
    assert [ln["seq"] for ln in before("execution", run_id, 301)["lines"]] == list(range(1, 301))
    gap = factories.execution(task, owner, status="completed")
    factories.output_lines("execution", gap, ["a\n", "b\n"], start=1)
    factories.output_lines("execution", gap, ["z\n"], start=2000)
    windows, cursor = [], 1500
    while True:
        page = before("execution", gap, cursor)
        windows.append([ln["seq"] for ln in page["lines"]])
        if not page["has_earlier"]:
            break
        cursor = page["first_seq"]
    assert windows == [[], [], [1, 2]]                    # 1000-1499, 500-999, then 1-2
