"""Request models and how their failures reach the client (CONTRACT §8).

Bodies forbid unknown fields (a typo is an error, not silently ignored); queries ignore unknown
parameters (cache busters are harmless). Pydantic's error types map onto the reference's
precise `VALIDATION_*` codes; the first error goes in `details.field`/`details.issue`, all of
them in `details.errors`.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from app.errors import error_envelope

_CODE_BY_TYPE = {
    "missing": "VALIDATION_REQUIRED_FIELD",
    "string_too_long": "VALIDATION_VALUE_TOO_LONG",
    "too_long": "VALIDATION_VALUE_TOO_LONG",
    "string_too_short": "VALIDATION_VALUE_TOO_SHORT",
    "too_short": "VALIDATION_VALUE_TOO_SHORT",
    "string_pattern_mismatch": "VALIDATION_INVALID_FORMAT",
    "uuid_parsing": "VALIDATION_INVALID_FORMAT",
    "uuid_type": "VALIDATION_INVALID_FORMAT",
    "datetime_parsing": "VALIDATION_INVALID_FORMAT",
    "datetime_from_date_parsing": "VALIDATION_INVALID_FORMAT",
    "url_parsing": "VALIDATION_INVALID_FORMAT",
    "url_scheme": "VALIDATION_INVALID_FORMAT",
    "value_error": "VALIDATION_INVALID_FORMAT",
    "json_invalid": "VALIDATION_INVALID_FORMAT",
}


class _CachedSchema:
    """flask-openapi3 rebuilds a model's JSON schema on every request; build it once (STACK.md)."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        if args or kwargs:  # documentation builds: rare, and callers may change the result
            return super().model_json_schema(*args, **kwargs)  # type: ignore[misc]
        return _plain_schema(cls)


@functools.cache
def _plain_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The per-request lookup flask-openapi3 makes (read only), built once per model."""
    return BaseModel.model_json_schema.__func__(model)  # type: ignore[attr-defined]


class Body(_CachedSchema, BaseModel):
    """Base for JSON request bodies."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Query(_CachedSchema, BaseModel):
    """Base for query strings."""

    model_config = ConfigDict(extra="ignore")


class Path(_CachedSchema, BaseModel):
    """Base for path parameters."""


class Response(BaseModel):
    """Base for documented response data."""

    model_config = ConfigDict(extra="allow")


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def _clean_msg(msg: str | None) -> str:
    """Pydantic prefixes custom errors with "Value error, "; the client needs only the reason."""
    msg = msg or "Invalid value"
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def describe(exc: ValidationError) -> tuple[str, str, dict[str, Any]]:
    """(code, message, details) for a pydantic failure."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0] if errors else {"type": "value_error", "loc": (), "msg": "Invalid input"}
    field = _field(tuple(first.get("loc", ())))
    issue = _clean_msg(first.get("msg", "Invalid value"))
    if first.get("type") == "missing":
        issue = "Field is required"
    elif first.get("type") == "model_type" and field == "body":
        issue = "Request body must be a JSON object"
    elif first.get("type") == "extra_forbidden":
        issue = "Unknown field"
    code = _CODE_BY_TYPE.get(first.get("type", ""), "VALIDATION_ERROR")
    details = {
        "field": field,
        "issue": issue,
        "errors": [{"field": _field(tuple(e.get("loc", ()))), "issue": _clean_msg(e.get("msg")),
                    "type": e.get("type")} for e in errors],
    }
    return code, f"Invalid input data: {field}: {issue}", details


def validation_error_response(exc: ValidationError):
    """flask-openapi3's validation callback: must return a Response (STACK.md)."""
    code, message, details = describe(exc)
    return error_envelope(code, message, details, status=422)
