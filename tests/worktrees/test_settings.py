"""settings.git through the API and the project form: checked (dangerous transports refused),
merged key by key, documented in OpenAPI with the diff and worktree endpoints."""

from __future__ import annotations

import pytest

from tests import factories


def put_settings(client, headers, project_id, settings):
    return client.put(f"/api/projects/{project_id}", json={"settings": settings},
                      headers=headers)


@pytest.mark.parametrize(("value", "field"), [
    ({"repository_url": "ext::sh -c 'touch /tmp/pwned'"}, "settings.git.repository_url"),
    ({"repository_url": "fd::17"}, "settings.git.repository_url"),
    ({"repository_url": "ssh://-oProxyCommand=touch%20x/repo"}, "settings.git.repository_url"),
    ({"repository_url": "-u/tmp/x@host:repo"}, "settings.git.repository_url"),
    ({"repository_url": "/srv/plain/path"}, "settings.git.repository_url"),
    ({"repository_url": "https://example.com/a b.git"}, "settings.git.repository_url"),
    ({"base_branch": "main..evil"}, "settings.git.base_branch"),
    ({"base_branch": "-f"}, "settings.git.base_branch"),
    ({"base_branch": "feature/"}, "settings.git.base_branch"),
    ({"enabled": "yes"}, "settings.git.enabled"),
    ({"hooks": True}, "settings.git.hooks"),
])
def test_bad_git_settings_are_422_on_their_field(client, auth, developer, project_of, value,
                                                 field):
    project = project_of(developer, settings={"git": {"enabled": True, "base_branch": "main"}})
    resp = put_settings(client, auth(developer), project.id, {"git": value})
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["details"]["field"] == field
    stored = client.get(f"/api/projects/{project.id}", headers=auth(developer)).get_json()
    assert stored["data"]["settings"]["git"] == {"enabled": True, "base_branch": "main"}


def test_the_service_refuses_what_the_api_refuses(ctx, developer):
    from app.errors import ValidationFailed
    from app.services.projects import create_project

    with pytest.raises(ValidationFailed) as refused:
        create_project(developer, "P", settings={"git": {"repository_url": "ext::sh -c x"}})
    assert refused.value.details["field"] == "settings.git.repository_url"
    assert "ext::" in refused.value.details["issue"]


def test_git_settings_merge_key_by_key_and_null_resets(client, auth, developer, project_of):
    project = project_of(developer)
    headers = auth(developer)
    url = "https://github.com/owner/repo.git"
    resp = put_settings(client, headers, project.id, {"git": {"enabled": True,
                                                             "repository_url": url}})
    assert resp.status_code == 200, resp.get_json()
    resp = put_settings(client, headers, project.id, {"git": {"base_branch": "release/2.0"}})
    assert resp.get_json()["data"]["settings"]["git"] == {
        "enabled": True, "repository_url": url, "base_branch": "release/2.0"}
    resp = put_settings(client, headers, project.id, {"git": {"repository_url": None}})
    assert resp.get_json()["data"]["settings"]["git"] == {"enabled": True,
                                                          "base_branch": "release/2.0"}
    for accepted in ("git@github.com:owner/repo.git", "ssh://git@host:2222/srv/repo.git",
                     "file:///srv/git/repo.git"):
        resp = put_settings(client, headers, project.id, {"git": {"repository_url": accepted}})
        assert resp.status_code == 200, (accepted, resp.get_json())
    resp = put_settings(client, headers, project.id, {"git": None})
    assert "git" not in resp.get_json()["data"]["settings"]


def test_project_form_sets_git_settings_and_shows_errors_inline(page_client, developer,
                                                                 project_of, app):
    project = project_of(developer, settings={"note": "kept"})
    client = page_client(developer)
    form = {"name": project.name, "status": "active", "members_present": "1",
            "settings_json": '{"note": "kept"}', "git_present": "1", "git_enabled": "on",
            "git_repository_url": "ext::sh -c id", "git_base_branch": "main"}
    refused = client.hx_post(f"/projects/{project.id}", form)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="project-git-url-error"' in page and "ext::" in page
    form["git_repository_url"] = "https://github.com/owner/repo.git"
    saved = client.hx_post(f"/projects/{project.id}", form)
    assert saved.status_code == 204, saved.get_data(as_text=True)[:500]
    with app.app_context():
        from app.extensions import db
        from app.models.project import Project

        settings = db.session.get(Project, project.id).settings
    assert settings["git"] == {"enabled": True, "base_branch": "main",
                               "repository_url": "https://github.com/owner/repo.git"}
    assert settings["note"] == "kept"
    edit = client.get(f"/projects/{project.id}/edit").get_data(as_text=True)
    assert 'name="git_enabled" id="project-git-enabled" checked' in edit
    assert 'value="https://github.com/owner/repo.git"' in edit
    assert '"git"' not in edit  # its own fields, not the JSON textarea


def test_task_page_has_the_panel_only_with_worktrees_on(page_client, developer, project_of,
                                                       app):
    with app.app_context():
        on = factories.project(developer, settings={"git": {"enabled": True}})
        off = factories.project(developer)
        task_on = factories.task(on, developer, executor="shell", command="true")
        task_off = factories.task(off, developer, executor="shell", command="true")
    client = page_client(developer)
    page = client.get(f"/tasks/{task_on.id}").get_data(as_text=True)
    assert f'id="task-{task_on.id}-worktree"' in page
    assert f'hx-get="/tasks/{task_on.id}/worktree"' in page
    assert "worktree" not in client.get(f"/tasks/{task_off.id}").get_data(as_text=True)
    panel = client.hx_get(f"/tasks/{task_on.id}/worktree").get_data(as_text=True)
    assert "not a git repository" in panel  # the workspace has no repository: said clearly


def test_openapi_documents_git_settings_and_the_worktree_endpoints(client):
    doc = client.get("/openapi.json").get_json()
    paths = doc["paths"]
    assert "get" in paths["/api/tasks/{task_id}/diff"]
    for action in ("commit", "discard", "merge"):
        operation = paths[f"/api/tasks/{{task_id}}/worktree/{action}"]["post"]
        assert "409" in operation["responses"]
    schemas = doc["components"]["schemas"]
    git = schemas["GitSettingsBody"]
    assert git["additionalProperties"] is False
    assert set(git["properties"]) == {"enabled", "repository_url", "base_branch"}
    assert "ext" not in git["properties"]["repository_url"]["pattern"]
    assert "DiffData" in schemas and "files" in schemas["DiffData"]["properties"]
