"""A project's `settings.git`: whether its tasks run in git worktrees, and from what.

    "git": {"enabled": true,                        # a worktree per task (default false)
            "repository_url": "https://host/r.git", # optional: cloned once into the workspace
            "base_branch": "main"}                  # optional: default the repo's current branch

The rules are stated once as JSON Schema (`SCHEMA`, which the OpenAPI document shows for
`settings.git`) and checked here with the same patterns, so a value the document calls valid is
accepted and nothing else is. URLs: `https://`, `ssh://`, scp-like `user@host:path` and
`file://` only: git's `<transport>::` forms (`ext::` runs a command), other schemes, a host
starting with `-` (an option to ssh) and blanks or control characters are refused. Branch
names: the common, unambiguous subset of git's refname rules (no `..`, no leading `-` or `.`,
no `@{`, `~^:?*[\\`, blanks or control characters). `.lock` endings and branches that do not
exist are for git to refuse when a run starts, with its own message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.errors import ValidationFailed

FIELD = "settings.git"
URL_MAX = 2000
BRANCH_MAX = 200
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_+-]*(?:\.[A-Za-z0-9_+-]+)*"
BRANCH_PATTERN = rf"^{_SEGMENT}(?:/{_SEGMENT})*$"
_PATH = r"[^\x00-\x20\x7f]*"
_HOST = r"[A-Za-z0-9\[][A-Za-z0-9.:\[\]-]*"
URL_PATTERN = (rf"^(?:https://{_HOST}(?::[0-9]{{1,5}})?(?:/{_PATH})?"
               rf"|ssh://(?:[A-Za-z0-9_][A-Za-z0-9._~-]*@)?{_HOST}(?::[0-9]{{1,5}})?/{_PATH}"
               rf"|[A-Za-z0-9_][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9.-]*:[^\x00-\x20\x7f-]{_PATH}"
               rf"|file:///{_PATH})$")
_BRANCH = re.compile(BRANCH_PATTERN)
_URL = re.compile(URL_PATTERN)
KEYS = ("enabled", "repository_url", "base_branch")

SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "description": "Git worktree per task (null removes the setting). `enabled`: runs happen "
                   "in worktrees/<task-id> on branch task/<short-id>; `repository_url`: "
                   "https://, ssh://, user@host:path or file:// URL cloned once into an empty "
                   "workspace (a workspace that is a git repository is used as is); "
                   "`base_branch`: default the repository's current branch.",
    "properties": {
        "enabled": {"type": "boolean"},
        "repository_url": {"type": ["string", "null"], "maxLength": URL_MAX,
                           "pattern": URL_PATTERN,
                           "examples": ["https://github.com/owner/repo.git"]},
        "base_branch": {"type": ["string", "null"], "maxLength": BRANCH_MAX,
                        "pattern": BRANCH_PATTERN, "examples": ["main"]},
    },
}


class GitSettingsBody(BaseModel):
    """`settings.git` in API bodies: the rules of `clean` as a model (the OpenAPI document
    shows the patterns; the messages are `clean`'s; the service checks again, for the pages'
    form too)."""

    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"description": SCHEMA["description"]})

    enabled: bool | None = Field(None, description="A worktree per task (default false)")
    repository_url: str | None = Field(None, max_length=URL_MAX, json_schema_extra={
        "pattern": URL_PATTERN, "examples": ["https://github.com/owner/repo.git"]})
    base_branch: str | None = Field(None, max_length=BRANCH_MAX, json_schema_extra={
        "pattern": BRANCH_PATTERN, "examples": ["main"]})

    @field_validator("repository_url", "base_branch")
    @classmethod
    def _shape(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            try:
                clean({info.field_name: value})
            except ValidationFailed as exc:
                raise ValueError(exc.details["issue"]) from None
        return value


@dataclass(frozen=True)
class GitSettings:
    """A project's git settings, read (never stored) in this shape."""

    enabled: bool = False
    repository_url: str | None = None
    base_branch: str | None = None


def of(settings: dict[str, Any] | None) -> GitSettings:
    """The git settings inside a project's `settings` (stored values were checked by `clean`;
    anything odd reads as disabled rather than failing a page)."""
    raw = (settings or {}).get("git")
    if not isinstance(raw, dict):
        return GitSettings()
    url, branch = raw.get("repository_url"), raw.get("base_branch")
    return GitSettings(enabled=raw.get("enabled") is True,
                       repository_url=url if isinstance(url, str) else None,
                       base_branch=branch if isinstance(branch, str) else None)


def clean(value: Any, current: Any = None) -> dict[str, Any] | None:
    """`settings.git` as given, merged key by key over `current` (a null key resets it to its
    default, a null object removes the setting); a 422 on the first wrong key."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationFailed(FIELD, "must be an object with enabled, repository_url, "
                                      "base_branch")
    merged = dict(current) if isinstance(current, dict) else {}
    for key, item in value.items():
        field = f"{FIELD}.{key}"
        if key not in KEYS:
            raise ValidationFailed(field, "Unknown field; one of " + ", ".join(KEYS))
        if item is None:
            merged.pop(key, None)
        elif key == "enabled":
            if not isinstance(item, bool):
                raise ValidationFailed(field, "must be true or false")
            merged[key] = item
        elif key == "repository_url":
            merged[key] = _checked(field, item, URL_MAX, _URL, "an https://, ssh://, "
                                   "user@host:path or file:// URL (other transports such as "
                                   "ext:: are refused)")
        else:
            merged[key] = _checked(field, item, BRANCH_MAX, _BRANCH, "a branch name such as "
                                   "main or release/2.0 (no '..', spaces or ~^:?*[\\)")
    return merged


def _checked(field: str, value: Any, limit: int, pattern: re.Pattern, what: str) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(field, "must be a string")
    if len(value) > limit:
        raise ValidationFailed(field, f"at most {limit} characters",
                               code="VALIDATION_VALUE_TOO_LONG")
    if not pattern.fullmatch(value):
        raise ValidationFailed(field, f"must be {what}", code="VALIDATION_INVALID_FORMAT")
    return value
