"""Per-project Claude agent settings (`settings.agent`) and a task's overrides (`metadata.claude`):
API validation (a 422 on each bad field, nothing stored), the OpenAPI document, the flags the
CLI stand-in really receives from a real worker (project + task, field by field, the MCP config
file the run reads), and the forms (inline errors on every field)."""

from __future__ import annotations

import json
import os
import re
import uuid

import pytest

from app.extensions import db
from app.models.project import Project
from app.models.task import Task
from app.services import agent_settings
from tests import factories
from tests.jobs.fixtures import execute, make_task, wait_final
from tests.live import wait_for

MCP = {"mcpServers": {
    "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "."],
              "env": {"LOG_LEVEL": "info"}},
    "tracker": {"type": "http", "url": "https://mcp.example.test/mcp",
                "headers": {"Authorization": "Bearer secret-token"}}}}
FULL = {"model": "opus", "permission_mode": "acceptEdits",
        "allowed_tools": ["Read", "Bash(git log:*)"], "disallowed_tools": ["WebFetch"],
        "mcp_config": MCP, "strict_mcp_config": True,
        "append_system_prompt": "-Answer in English.", "max_turns": 7, "max_budget_usd": 2.5}

BAD = [  # (agent settings, the field the 422 names)
    ({"model": "-o evil"}, "model"),
    ({"model": ""}, "model"),
    ({"model": 5}, "model"),
    ({"permission_mode": "yolo"}, "permission_mode"),
    ({"allowed_tools": "Read"}, "allowed_tools"),
    ({"allowed_tools": ["Read", "Bash(a,b)"]}, "allowed_tools.1"),
    ({"allowed_tools": ["x"] * 101}, "allowed_tools"),
    ({"disallowed_tools": [""]}, "disallowed_tools.0"),
    ({"disallowed_tools": [3]}, "disallowed_tools.0"),
    ({"mcp_config": "servers.json"}, "mcp_config"),
    ({"mcp_config": {}}, "mcp_config.mcpServers"),
    ({"mcp_config": {"mcpServers": {"x": {"type": "http"}}}}, "mcp_config.mcpServers.x"),
    ({"mcp_config": {"mcpServers": {"x": {"command": "a", "url": "https://a.test"}}}},
     "mcp_config.mcpServers.x"),
    ({"mcp_config": {"mcpServers": {"x": {"type": "sse", "url": "file:///etc/passwd"}}}},
     "mcp_config.mcpServers.x.url"),
    ({"mcp_config": {"mcpServers": {"x": {"args": ["a"]}}}}, "mcp_config.mcpServers.x"),
    ({"mcp_config": {"mcpServers": {"x": {"command": None}}}},
     "mcp_config.mcpServers.x.command"),
    ({"mcp_config": {"mcpServers": {"x": {"command": "a", "env": {"LD_PRELOAD": "/x.so"}}}}},
     "mcp_config.mcpServers.x.env"),
    ({"mcp_config": {"mcpServers": {"bad name": {"command": "a"}}}},
     "mcp_config.mcpServers.bad name"),
    ({"mcp_config": {"mcpServers": {}, "other": 1}}, "mcp_config.other"),
    ({"strict_mcp_config": "yes"}, "strict_mcp_config"),
    ({"strict_mcp_config": 1}, "strict_mcp_config"),
    ({"append_system_prompt": ""}, "append_system_prompt"),
    ({"append_system_prompt": "x" * 10_001}, "append_system_prompt"),
    ({"append_system_prompt": "a\u0000b"}, "append_system_prompt"),
    ({"max_turns": 0}, "max_turns"),
    ({"max_turns": 1001}, "max_turns"),
    ({"max_turns": "5"}, "max_turns"),
    ({"max_turns": True}, "max_turns"),
    ({"max_budget_usd": 0}, "max_budget_usd"),
    ({"max_budget_usd": -1}, "max_budget_usd"),
    ({"max_budget_usd": "2"}, "max_budget_usd"),
    ({"max_budget_usd": 10_001}, "max_budget_usd"),
    ({"unknown_flag": 1}, "unknown_flag"),
]


# ---------------------------------------------------------------- API

def test_project_agent_settings_are_stored_merged_and_removed(api_for, developer):
    api = api_for(developer)
    data = api.ok("post", "/api/projects/", {"name": "Agent", "settings": {
        "theme": "dark", "agent": FULL}}, expect=201)
    agent = data["settings"]["agent"]
    assert data["settings"]["theme"] == "dark"
    assert {k: agent[k] for k in FULL if k != "mcp_config"} == {
        k: v for k, v in FULL.items() if k != "mcp_config"}
    assert agent["mcp_config"]["mcpServers"]["files"]["command"] == "npx"
    assert agent["mcp_config"]["mcpServers"]["files"]["type"] == "stdio"  # the default, stated
    pid = data["id"]
    # Other settings merge key by key: the agent stays.
    data = api.ok("put", f"/api/projects/{pid}", {"settings": {"theme": "light"}})
    assert data["settings"]["agent"]["model"] == "opus"
    # `agent` is replaced whole.
    data = api.ok("put", f"/api/projects/{pid}", {"settings": {"agent": {"max_turns": 3}}})
    assert data["settings"]["agent"] == {"max_turns": 3}
    assert api.ok("get", f"/api/projects/{pid}")["settings"]["agent"] == {"max_turns": 3}
    data = api.ok("put", f"/api/projects/{pid}", {"settings": {"agent": None}})
    assert "agent" not in data["settings"] and data["settings"]["theme"] == "light"


@pytest.mark.parametrize("agent,field", BAD, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD)])
def test_each_bad_agent_field_is_a_422_on_that_field(api_for, developer, agent, field):
    api = api_for(developer)
    before = db.session.query(Project).count()
    code, error_code, error = api.error("post", "/api/projects/", {
        "name": "Bad agent", "settings": {"agent": agent}})
    assert code == 422 and error_code.startswith("VALIDATION_"), error
    assert error["details"]["field"] == f"settings.agent.{field}", error
    assert db.session.query(Project).count() == before
    # The same on update, and nothing changes.
    project = factories.project(developer, settings={"agent": {"model": "sonnet"}})
    code, _, error = api.error("put", f"/api/projects/{project.id}",
                               {"settings": {"agent": agent}})
    assert code == 422 and error["details"]["field"] == f"settings.agent.{field}", error
    db.session.expire_all()
    assert db.session.get(Project, project.id).settings["agent"] == {"model": "sonnet"}


def test_the_service_refuses_what_the_api_refuses(ctx, developer):
    """Pages and the worker use the same rules as the API (one model) -- except that the
    service still reads tools as one comma-separated string, as older task metadata holds."""
    for agent, field in BAD:
        if agent == {"allowed_tools": "Read"}:
            assert agent_settings.validate(agent) == {"allowed_tools": ["Read"]}
            continue
        with pytest.raises(Exception) as caught:
            agent_settings.validate(agent, "settings.agent")
        assert caught.value.details["field"] == f"settings.agent.{field}", (agent, field)


def test_task_claude_overrides_are_checked_when_the_task_is_saved(api_for, developer):
    api = api_for(developer)
    project = factories.project(developer)
    code, _, error = api.error("post", "/api/tasks/", {
        "title": "T", "project_id": str(project.id),
        "metadata": {"claude": {"max_turns": 0}, "environment": {"A": "1"}}})
    assert code == 422 and error["details"]["field"] == "metadata.claude.max_turns", error
    assert db.session.query(Task).count() == 0
    task = api.ok("post", "/api/tasks/", {"title": "T", "project_id": str(project.id),
                                          "metadata": {"claude": {"model": "haiku",
                                                                  "max_turns": None}}},
                  expect=201)
    code, _, error = api.error("put", f"/api/tasks/{task['id']}", {
        "metadata": {"claude": {"permission_mode": "sometimes"}}})
    assert code == 422 and error["details"]["field"] == "metadata.claude.permission_mode"
    assert api.ok("get", f"/api/tasks/{task['id']}")["metadata"]["claude"]["model"] == "haiku"


def test_openapi_documents_the_agent_settings(client):
    doc = client.get("/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    agent = schemas["AgentSettings"]
    assert set(agent["properties"]) == set(agent_settings.FIELDS)
    assert agent["additionalProperties"] is False
    assert agent["properties"]["max_turns"]["anyOf"][0]["maximum"] == 1000
    settings = json.dumps(schemas["ProjectSettings"])
    assert "#/components/schemas/AgentSettings" in settings
    assert "#/components/schemas/AgentSettings" in json.dumps(schemas["TaskMetadata"])
    assert "override_budget" in schemas["ExecuteOptions"]["properties"]
    create = json.dumps(schemas["ProjectCreateBody"])
    assert "monthly_budget_usd" in create and "ProjectSettings" in create
    for name in ("McpConfig", "McpServer"):
        assert name in schemas


# ---------------------------------------------------------------- the CLI's flags

def _argv_seen(data: dict) -> dict:
    return json.loads(next(line["content"] for line in data["output"]
                           if line.get("kind") == "text"))


def _flags(seen: dict) -> list[str]:
    argv = seen["argv"]
    assert argv[:5] == ["-p", "--output-format=stream-json", "--verbose",
                        "--input-format=stream-json", "--permission-prompt-tool=stdio"]
    assert argv[-1] == "--"  # the prompt goes on stdin (app.jobs.executors.claude)
    return argv[5:-1]


@pytest.mark.slow
def test_project_settings_and_task_overrides_reach_the_cli(ctx, client, auth, developer,
                                                            workers):
    workers(1)
    project = factories.project(developer, settings={"agent": FULL})
    inherits = make_task(project, developer, "[scenario:args] as the project says",
                         executor="claude")
    overrides = make_task(project, developer, "[scenario:args] my way", executor="claude",
                          metadata={"claude": {"model": "haiku", "max_turns": 2,
                                               "strict_mcp_config": False,
                                               "disallowed_tools": None,
                                               "append_system_prompt": "--be brief"}})
    runs = {}
    for task in (inherits, overrides):
        resp = execute(client, auth(developer), task.id)
        assert resp.status_code == 200, resp.get_json()
        runs[task.id] = wait_final(client, auth(developer), resp.get_json()["data"][
            "execution_id"])
        assert runs[task.id]["status"] == "completed", runs[task.id]["error"]

    seen = _argv_seen(runs[inherits.id])
    flags = _flags(seen)
    mcp_file = next(f.split("=", 1)[1] for f in flags if f.startswith("--mcp-config="))
    assert flags == ["--model=opus", "--max-turns=7", "--permission-mode=acceptEdits",
                     "--allowedTools=Read,Bash(git log:*)", "--disallowedTools=WebFetch",
                     f"--mcp-config={mcp_file}", "--strict-mcp-config",
                     "--append-system-prompt=-Answer in English.", "--max-budget-usd=2.5"]
    # The run (as its own account) read the config the project set, and it is gone after.
    assert seen["mcp_config"] == agent_settings.validate(FULL)["mcp_config"]
    assert mcp_file == str(agent_settings.run_file(runs[inherits.id]["id"]))
    assert not os.path.exists(mcp_file)

    flags = _flags(_argv_seen(runs[overrides.id]))
    assert "--model=haiku" in flags and "--max-turns=2" in flags
    assert "--strict-mcp-config" not in flags  # the task said false
    assert "--disallowedTools=WebFetch" in flags  # null keeps the project's value
    assert "--append-system-prompt=--be brief" in flags  # one argument, never an option
    assert "--permission-mode=acceptEdits" in flags and "--max-budget-usd=2.5" in flags


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="runs switch accounts only when the worker is root")
def test_the_mcp_config_file_is_readable_by_its_run_alone(ctx, client, auth, developer,
                                                          workers):
    """While project A's run holds its MCP config (with a secret header), the file belongs to
    A's run account with mode 0600, and a run of project B cannot read it."""
    workers(2)
    a = factories.project(developer, settings={"agent": {"mcp_config": MCP}})
    b = factories.project(developer)
    slow = make_task(a, developer, "[scenario:slow]", executor="claude")
    resp = execute(client, auth(developer), slow.id)
    eid = resp.get_json()["data"]["execution_id"]
    path = agent_settings.run_file(eid)
    stat = wait_for(lambda: path.exists() and path.stat(), 20, 0.05, "the MCP config file")
    assert stat.st_mode & 0o777 == 0o600 and stat.st_uid not in (0, os.geteuid())
    assert json.loads(path.read_text())["mcpServers"]["tracker"]["headers"]
    thief = make_task(b, developer, f"cat {path}")
    other = wait_final(client, auth(developer), execute(client, auth(developer), thief.id)
                       .get_json()["data"]["execution_id"])
    assert other["status"] == "failed" and "secret-token" not in json.dumps(other["output"])
    assert "Permission denied" in "".join(line["content"] for line in other["output"])
    client.post(f"/api/tasks/{slow.id}/cancel", json={}, headers=auth(developer))
    assert wait_final(client, auth(developer), eid)["status"] == "cancelled"
    assert not path.exists()


# ---------------------------------------------------------------- forms

def _field_errors(html: bytes) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in re.findall(
        rb'class="error field-error" id="([^"]+)-error" role="alert">([^<]+)<', html)}


def test_project_form_claude_agent_section(ctx, page_client, developer):
    project = factories.project(developer, settings={"agent": {"model": "sonnet"}})
    client = page_client(developer)
    page = client.get(f"/projects/{project.id}/edit")
    assert b"Claude agent" in page.data and b'id="project-agent"' in page.data
    assert re.search(rb'name="agent_model"[^>]*value="sonnet"', page.data)

    bad = {"name": project.name, "agent_present": "1", "agent_model": "-x",
           "agent_permission_mode": "yolo", "agent_max_turns": "many",
           "agent_max_budget_usd": "0", "agent_allowed_tools": "Read\nBash(a,b)",
           "agent_disallowed_tools": "Web Fetch", "agent_append_system_prompt": "ok",
           "agent_mcp_config": '{"mcpServers": {"x": {"type": "http"}}}',
           "agent_strict_mcp_config": "maybe"}
    resp = client.hx_post(f"/projects/{project.id}", bad)
    assert resp.status_code == 422
    errors = _field_errors(resp.data)
    for name in ("model", "permission-mode", "max-turns", "max-budget", "allowed-tools",
                 "disallowed-tools", "mcp-config"):
        assert f"project-agent-{name}" in errors, (name, errors)
    assert "whole number" in errors["project-agent-max-turns"]
    assert "needs url" in errors["project-agent-mcp-config"]
    assert b'value="many"' in resp.data  # what was typed is shown again
    db.session.expire_all()
    assert db.session.get(Project, project.id).settings["agent"] == {"model": "sonnet"}

    good = {"name": project.name, "agent_present": "1", "budget_present": "1",
            "monthly_budget_usd": "25", "agent_model": "opus",
            "agent_permission_mode": "plan", "agent_max_turns": "9",
            "agent_max_budget_usd": "1.25", "agent_allowed_tools": "Read, Bash(git log:*)",
            "agent_mcp_config": json.dumps(MCP), "agent_strict_mcp_config": "true",
            "agent_append_system_prompt": "Be brief.\r\nNever push."}
    resp = client.hx_post(f"/projects/{project.id}", good)
    assert resp.status_code == 204, _field_errors(resp.data)
    db.session.expire_all()
    stored = db.session.get(Project, project.id)
    assert stored.resource_limits["monthly_budget_usd"] == 25.0
    agent = stored.settings["agent"]
    assert agent["allowed_tools"] == ["Read", "Bash(git log:*)"] and agent["max_turns"] == 9
    assert agent["append_system_prompt"] == "Be brief.\nNever push."
    assert agent["strict_mcp_config"] is True and agent["permission_mode"] == "plan"
    detail = client.get(f"/projects/{project.id}").data.decode()
    assert re.search(r'id="project-agent-summary">opus · plan · 9 turns · 2 MCP servers<',
                     detail)
    assert re.search(r'id="project-budget">\$25\.00 for Claude runs', detail)
    # Emptying every field removes the agent settings.
    resp = client.hx_post(f"/projects/{project.id}", {"name": project.name,
                                                      "agent_present": "1"})
    assert resp.status_code == 204
    db.session.expire_all()
    assert "agent" not in db.session.get(Project, project.id).settings


def test_task_form_claude_overrides(ctx, page_client, developer):
    project = factories.project(developer, settings={"agent": {"model": "opus",
                                                               "max_turns": 4}})
    client = page_client(developer)
    page = client.get(f"/projects/{project.id}/tasks/new")
    assert b"project: opus" in page.data and b"project: 4" in page.data  # what is inherited
    form = {"title": "Override", "executor": "claude", "claude_present": "1",
            "claude_model": "x y", "claude_max_budget_usd": "lots", "claude_max_turns": "0"}
    resp = client.hx_post(f"/projects/{project.id}/tasks", form)
    assert resp.status_code == 422
    errors = _field_errors(resp.data)
    assert {"task-claude-fields-model", "task-claude-fields-max-budget",
            "task-claude-fields-max-turns"} <= set(errors), errors
    assert db.session.query(Task).count() == 0
    form.update(claude_model="haiku", claude_max_budget_usd="0.75", claude_max_turns="",
                claude_allowed_tools="Read\nBash(ls:*)", metadata_json='{"environment": '
                                                                  '{"A": "1"}}')
    resp = client.hx_post(f"/projects/{project.id}/tasks", form)
    assert resp.status_code == 204, _field_errors(resp.data)
    task_id = uuid.UUID(resp.headers["HX-Redirect"].rsplit("/", 1)[1])
    meta = db.session.get(Task, task_id).meta
    assert meta == {"environment": {"A": "1"}, "claude": {
        "model": "haiku", "max_budget_usd": 0.75, "allowed_tools": ["Read", "Bash(ls:*)"]}}
    edit = client.get(f"/tasks/{task_id}/edit")
    assert re.search(rb'name="claude_model"[^>]*value="haiku"', edit.data)
    assert b"&#34;claude&#34;" not in edit.data  # not repeated in the metadata JSON
