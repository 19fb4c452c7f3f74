"""The "Claude agent" fields of the project form (`settings.agent`) and the task form's
overrides (`metadata.claude`): form strings to typed values, values back to strings, and every
field's error next to the field (no routes here).

The rules are `app.services.agent_settings`'s (the API's model); this module only types the
strings. Conversion errors of all fields are gathered before anything is sent, and the
service's errors name every bad field (`details.errors`), so one submit shows them all.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.datastructures import MultiDict

from app.errors import AppError, ValidationFailed
from app.pages.page_forms import errors_of, json_object
from app.services.agent_settings import FIELDS, PERMISSION_MODES, split_tools, validate

TOOL_FIELDS = ("allowed_tools", "disallowed_tools")
PROJECT = {"input": "agent_", "field": "settings.agent"}
TASK = {"input": "claude_", "field": "metadata.claude"}


def from_form(form: MultiDict, kind: dict[str, str]) -> dict[str, Any]:
    """The fields typed into the form (empty ones left out), or one 422 naming every bad
    field: those whose text is not even of the right type, and what the service's rules
    (`agent_settings.validate`) find in the others."""
    out: dict[str, Any] = {}
    problems: list[dict[str, str]] = []
    for name in FIELDS:
        raw = (form.get(kind["input"] + name) or "").strip()
        if not raw:
            continue
        field = f"{kind['field']}.{name}"
        try:
            out[name] = _typed(name, raw, field)
        except ValidationFailed as exc:
            problems.append({"field": field, "issue": str(exc.details["issue"])})
    try:
        validate(out, kind["field"])
    except ValidationFailed as exc:
        problems.extend((exc.details or {}).get("errors") or [exc.details])
    if problems:
        raise ValidationFailed(problems[0]["field"], problems[0]["issue"], errors=problems)
    return out


def _typed(name: str, raw: str, field: str) -> Any:
    if name in TOOL_FIELDS:
        return split_tools(raw)
    if name == "mcp_config":
        return json_object(field, raw)
    if name == "strict_mcp_config":
        return raw == "true"
    if name == "max_turns":
        try:
            return int(raw)
        except ValueError:
            raise ValidationFailed(field, "must be a whole number") from None
    if name == "max_budget_usd":
        try:
            return float(raw)
        except ValueError:
            raise ValidationFailed(field, "must be a number of US dollars") from None
    if name == "append_system_prompt":
        return raw.replace("\r\n", "\n")
    return raw


def values(settings: dict[str, Any] | None) -> dict[str, str]:
    """Stored agent settings as the form's strings (tools one per line)."""
    settings = settings or {}
    shown: dict[str, str] = {}
    for name in FIELDS:
        value = settings.get(name)
        if value is None:
            shown[name] = ""
        elif name in TOOL_FIELDS:
            shown[name] = "\n".join(value)
        elif name == "mcp_config":
            shown[name] = json.dumps(value, indent=2)
        elif name == "strict_mcp_config":
            shown[name] = "true" if value else "false"
        else:
            shown[name] = str(value)
    return shown


def form_values(form: MultiDict, kind: dict[str, str]) -> dict[str, str]:
    """What was typed, to show the form again after an error."""
    return {name: form.get(kind["input"] + name, "") for name in FIELDS}


def field_errors(exc: AppError, kind: dict[str, str]) -> dict[str, str]:
    """{field: message} for every field the error names: the agent's fields under their own
    key (`settings.agent.max_turns`), deeper paths (a tool's index, an MCP server's field) on
    their field with the path in the message."""
    errors = errors_of(exc)
    prefix = kind["field"] + "."
    for item in (exc.details or {}).get("errors") or []:
        field = str(item.get("field", ""))
        if not field.startswith(prefix):
            continue
        name, _, rest = field[len(prefix):].partition(".")
        key = prefix + name
        errors.setdefault(key, f"{rest}: {item.get('issue')}" if rest else str(item.get("issue")))
    first = str((exc.details or {}).get("field") or "")
    if first.startswith(prefix) and first.count(".") > prefix.count("."):
        name, _, rest = first[len(prefix):].partition(".")
        errors.setdefault(prefix + name, f"{rest}: {(exc.details or {}).get('issue')}")
    return errors


def choices() -> dict[str, Any]:
    """What the form's selects offer."""
    return {"permission_modes": PERMISSION_MODES}
