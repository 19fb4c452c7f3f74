"""Cost analytics from what real runs of the Claude stand-in reported (`total_cost_usd`,
`usage`): per project and period, per day, per user who started the runs, per task (API,
analytics page, task page). Runs that reported nothing (shell, a crash without a result line)
add nothing; a failed run that reported a cost counts."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest

from app.errors import utcnow
from app.extensions import db
from app.models.execution import TaskExecution
from tests import factories
from tests.jobs.fixtures import execute, make_task, wait_final

pytestmark = pytest.mark.slow


def _run(client, headers, task) -> dict:
    resp = execute(client, headers, task.id)
    assert resp.status_code == 200, resp.get_json()
    return wait_final(client, headers, resp.get_json()["data"]["execution_id"])


def _costs(client, headers, project, period: str) -> dict:
    resp = client.get(f"/api/projects/{project.id}/analytics?period={period}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]["costs"]


def test_spend_adds_up_per_project_day_user_and_task(ctx, client, auth, developer, make_user,
                                                     workers, page_client):
    workers(1)
    member = make_user(role="developer", full_name="Mia Member")
    project = factories.project(developer, settings={"members": [str(member.id)]})
    dev, mem = auth(developer), auth(member)
    cheap = make_task(project, developer, "[cost:0.25] small", executor="claude", title="Cheap")
    dear = make_task(project, developer, "[cost:0.75] big", executor="claude", title="Dear")
    broken = make_task(project, developer, "[scenario:error] [cost:0.125]", executor="claude",
                       title="Broken")
    crash = make_task(project, developer, "[scenario:no_result]", executor="claude",
                      title="Crash")
    shell = make_task(project, developer, "echo free", title="Shell")

    first = _run(client, dev, cheap)
    assert _run(client, dev, cheap)["status"] == "completed"
    assert _run(client, mem, dear)["status"] == "completed"
    assert _run(client, mem, broken)["status"] == "failed"  # reported a cost all the same
    assert _run(client, dev, crash)["status"] == "failed"  # no result line: no cost
    assert _run(client, dev, shell)["status"] == "completed"
    # One of the cheap runs happened ten days ago (inside 30 days, outside 7).
    ten_days_ago = utcnow() - timedelta(days=10)
    db.session.query(TaskExecution).filter_by(id=uuid.UUID(first["id"])).update(
        {TaskExecution.started_at: ten_days_ago})
    db.session.commit()

    week = _costs(client, dev, project, "7d")
    assert week["currency"] == "USD"
    assert week["total"] == {"cost_usd": pytest.approx(1.125), "runs": 3,
                             "input_tokens": 3 * 92, "output_tokens": 3 * 43,
                             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    assert len(week["per_day"]["days"]) == 7
    assert week["per_day"]["days"][-1] == utcnow().date().isoformat()
    assert week["per_day"]["cost_usd"] == [0, 0, 0, 0, 0, 0, pytest.approx(1.125)]
    assert week["per_day"]["runs"] == [0, 0, 0, 0, 0, 0, 3]
    assert [(u["user_name"], u["runs"], u["cost_usd"]) for u in week["by_user"]] == [
        ("Mia Member", 2, pytest.approx(0.875)), (developer.username, 1, pytest.approx(0.25))]
    assert [(t["title"], t["runs"], t["cost_usd"]) for t in week["by_task"]] == [
        ("Dear", 1, pytest.approx(0.75)), ("Cheap", 1, pytest.approx(0.25)),
        ("Broken", 1, pytest.approx(0.125))]
    assert week["budget"]["state"] == "none" and week["budget"]["monthly_budget_usd"] is None

    month = _costs(client, dev, project, "30d")
    assert month["total"]["cost_usd"] == pytest.approx(1.375) and month["total"]["runs"] == 4
    day = ten_days_ago.date().isoformat()
    assert month["per_day"]["cost_usd"][month["per_day"]["days"].index(day)] == \
        pytest.approx(0.25)
    assert [(t["title"], t["runs"]) for t in month["by_task"]][:2] == [("Dear", 1),
                                                                      ("Cheap", 2)]

    # A token count that is not a number counts as nothing (never an error).
    db.session.query(TaskExecution).filter_by(task_id=dear.id).update(
        {TaskExecution.usage: {"input_tokens": "lots", "output_tokens": 43}})
    db.session.commit()
    assert _costs(client, dev, project, "7d")["total"]["input_tokens"] == 2 * 92

    # The analytics page: the figures, the per-day chart's data and the per-person table.
    page = page_client(developer).get(f"/projects/{project.id}/analytics?period=30d")
    assert page.status_code == 200
    section = page.data.split(b'id="analytics-costs"', 1)[1].split(b"</section>", 1)[0]
    assert b'id="cost-total">$1.38<' in section and b'id="cost-runs">4<' in section
    chart = json.loads(re.search(rb"id=\"chart-cost\"[^>]*data-chart='([^']+)'", section)
                       .group(1).decode().replace("&#34;", '"'))
    assert chart["labels"] == month["per_day"]["days"] and chart["decimals"] is True
    assert chart["series"][0]["data"] == month["per_day"]["cost_usd"]
    assert b"Mia Member" in section and b"No monthly budget" in section

    # The task page: the task's own runs (both cheap ones, whatever their day).
    task_page = page_client(developer).get(f"/tasks/{cheap.id}")
    cost = task_page.data.split(f'id="task-{cheap.id}-cost"'.encode(), 1)[1].split(
        b"</dl>", 1)[0]
    assert b"$0.5000" in cost and b"over 2 runs" in cost and b"184 in" in cost
    shell_page = page_client(developer).get(f"/tasks/{shell.id}")
    assert f'id="task-{shell.id}-cost"'.encode() not in shell_page.data


def test_a_budget_shows_on_the_analytics_page(ctx, developer, page_client):
    project = factories.project(developer, resource_limits={"monthly_budget_usd": 40})
    page = page_client(developer).get(f"/projects/{project.id}/analytics")
    budget = page.data.split(b'id="cost-budget"', 1)[1].split(b"</p>", 1)[0]
    assert b"$0.00</strong> of a $40.00 budget (0.0 %)" in budget
