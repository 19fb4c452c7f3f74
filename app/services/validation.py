"""Field rules shared by projects and tasks, written once so the API and the pages agree.

Rules (also in the README):
- title / project name: 1-200 characters after trimming; descriptions at most 10,000.
- priority: an integer 0-10, higher is more urgent (default 0); progress 0-100.
- durations: `HH:MM:SS` (minutes and seconds 00-59, hours unbounded).
- tags: 1-50 characters of [a-z0-9_.-] after lower-casing and trimming; at most 20 per task;
  duplicates are dropped, order kept.
- metadata / settings: a JSON object of at most 10 KB serialized (UTF-8).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from app.errors import ValidationFailed
from app.services.durations import parse_duration

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
COMMAND_MAX = 10_000
PRIORITY_MIN, PRIORITY_MAX = 0, 10
TAG_MAX_LENGTH = 50
TAGS_MAX = 20
JSON_MAX_BYTES = 10 * 1024
_TAG = re.compile(r"^[a-z0-9_.-]{1,50}$")


def text(field: str, value: Any, *, max_length: int, min_length: int = 0,
         strip: bool = True) -> str | None:
    """A string of bounded length (None allowed when `min_length` is 0)."""
    if value is None:
        if min_length:
            raise ValidationFailed(field, "Field is required", code="VALIDATION_REQUIRED_FIELD")
        return None
    if not isinstance(value, str):
        raise ValidationFailed(field, "must be a string")
    if "\x00" in value:  # PostgreSQL text cannot hold it; a 422, not a database error
        raise ValidationFailed(field, "must not contain NUL characters",
                               code="VALIDATION_INVALID_FORMAT")
    if strip:
        value = value.strip()
    if len(value) < min_length:
        raise ValidationFailed(field, f"at least {min_length} character(s)",
                               code="VALIDATION_VALUE_TOO_SHORT")
    if len(value) > max_length:
        raise ValidationFailed(field, f"at most {max_length} characters",
                               code="VALIDATION_VALUE_TOO_LONG")
    return value


def integer(field: str, value: Any, low: int, high: int) -> int:
    """An integer in [low, high]; booleans are not integers here."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(field, "must be an integer")
    if not low <= value <= high:
        raise ValidationFailed(field, f"must be between {low} and {high}")
    return value


def duration(field: str, value: Any) -> int | None:
    """`HH:MM:SS` (or None) to whole seconds."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(field, "must be a duration HH:MM:SS",
                               code="VALIDATION_INVALID_FORMAT")
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValidationFailed(field, str(exc), code="VALIDATION_INVALID_FORMAT") from None


def tag(value: Any, field: str = "tags") -> str:
    """One tag, normalized (trimmed, lower-cased) and checked."""
    if not isinstance(value, str):
        raise ValidationFailed(field, "tags must be strings")
    norm = value.strip().lower()
    if not norm:
        raise ValidationFailed(field, "tags must not be empty", code="VALIDATION_VALUE_TOO_SHORT")
    if len(norm) > TAG_MAX_LENGTH:
        raise ValidationFailed(field, f"tag {value!r} is longer than {TAG_MAX_LENGTH} characters",
                               code="VALIDATION_VALUE_TOO_LONG")
    if not _TAG.match(norm):
        raise ValidationFailed(field, f"tag {value!r} may only use a-z, 0-9, '_', '.', '-'",
                               code="VALIDATION_INVALID_FORMAT")
    return norm


def tags(value: Any, field: str = "tags", limit: int = TAGS_MAX) -> list[str]:
    """A list of tags, normalized, de-duplicated (order kept), at most `limit`."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValidationFailed(field, "must be a list of tags")
    cleaned = list(dict.fromkeys(tag(v, field) for v in value))
    if len(cleaned) > limit:
        raise ValidationFailed(field, f"at most {limit} tags", code="VALIDATION_VALUE_TOO_LONG")
    return cleaned


def json_object(field: str, value: Any, max_bytes: int = JSON_MAX_BYTES) -> dict[str, Any]:
    """A JSON object no larger than `max_bytes` serialized."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(field, "must be a JSON object")
    try:
        serialized = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        raise ValidationFailed(field, "must be JSON-serializable") from None
    size = len(serialized.encode())
    if "\\u0000" in serialized:  # PostgreSQL JSONB rejects it
        raise ValidationFailed(field, "must not contain NUL characters",
                               code="VALIDATION_INVALID_FORMAT")
    if size > max_bytes:
        raise ValidationFailed(field, f"at most {max_bytes // 1024} KB serialized (got {size} "
                                      "bytes)", code="VALIDATION_VALUE_TOO_LONG")
    return value


def uuid_value(field: str, value: Any) -> uuid.UUID | None:
    """A UUID (object or string) or None."""
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed(field, "must be a UUID", code="VALIDATION_INVALID_FORMAT") from None


def parse_id(value: Any, not_found_code: str) -> uuid.UUID:
    """An id from a URL: anything that is not a UUID is simply an unknown id (404)."""
    from app.errors import AppError

    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise AppError(not_found_code) from None
