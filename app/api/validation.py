"""Request models and how their failures reach the client (CONTRACT §8).

Bodies forbid unknown fields (a typo is an error, not silently ignored); queries ignore unknown
parameters (cache busters are harmless). Pydantic's error types map onto the reference's
precise `VALIDATION_*` codes; the first error goes in `details.field`/`details.issue`, all of
them in `details.errors`.

Limits every request model gets here, once, rather than per route:
- every integer field is bounded to a signed 64-bit value (documented as its
  minimum/maximum), so no number reaches the database that it cannot hold (an OverflowError
  was a 500); fields with their own bounds keep them;
- in JSON bodies, integers and booleans are strict: `"5"`, `5.0` or `true` for an integer and
  `0`/`1` for a boolean are refused, as the document says (queries stay lax: they are text);
- JSON text (bodies, through the app's JSON provider, and socket messages) is read by
  `loads_strict`: nested at most `MAX_JSON_DEPTH` levels and without lone surrogates
  (`"\\ud800"` is valid JSON but no valid Unicode: storing or echoing it failed).
"""

from __future__ import annotations

import functools
import json
import types
import typing
from datetime import datetime
from typing import Any

import annotated_types
from flask.json.provider import DefaultJSONProvider
from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict, ValidationError
from pydantic_core import PydanticCustomError

from app.errors import ValidationFailed, error_envelope

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
MAX_JSON_DEPTH = 64

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


def _int_field(annotation: Any) -> bool:
    if annotation is int:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = typing.get_args(annotation)
        return int in args and all(a in (int, type(None)) for a in args)
    return False


def _bool_field(annotation: Any) -> bool:
    return annotation is bool or (typing.get_origin(annotation) in (types.UnionType, typing.Union)
                                  and bool in typing.get_args(annotation))


class Bounded(BaseModel):
    """Every integer field within a signed 64-bit range (see the module docstring)."""

    strict_scalars: typing.ClassVar[bool] = False

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        changed = False
        for field in cls.model_fields.values():
            kinds = {type(m) for m in field.metadata}
            if _int_field(field.annotation):
                if not kinds & {annotated_types.Le, annotated_types.Lt}:
                    field.metadata.append(annotated_types.Le(INT64_MAX))
                    changed = True
                if not kinds & {annotated_types.Ge, annotated_types.Gt}:
                    field.metadata.append(annotated_types.Ge(INT64_MIN))
                    changed = True
            if cls.strict_scalars and Strict not in kinds:
                if _bool_field(field.annotation):
                    field.metadata.append(Strict())
                    changed = True
                elif _int_field(field.annotation):
                    field.metadata.append(BeforeValidator(_json_integer))
                    changed = True
        if changed:
            cls.model_rebuild(force=True)


def _json_integer(value: Any) -> Any:
    """A JSON Schema integer: a number with no fractional part (`5`, `5.0`); not `"5"`,
    not `true`, not `5.5`."""
    if isinstance(value, bool | str) or (isinstance(value, float) and not value.is_integer()):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return int(value) if isinstance(value, float) else value


def _iso_only(value: Any) -> Any:
    """Pydantic also takes Unix timestamps (`5`, `"0.5"`) for a datetime; the document promises
    ISO 8601 date-times, so numbers are refused rather than read as 1970."""
    if isinstance(value, int | float) or (isinstance(value, str)
                                          and value.strip().lstrip("+-").replace(".", "", 1)
                                          .isdigit()):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2025-07-30T12:00:00Z")
    return value


IsoDateTime = typing.Annotated[datetime, BeforeValidator(_iso_only)]


class _CachedSchema(Bounded):
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


class Body(_CachedSchema):
    """Base for JSON request bodies (and objects nested in them)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)
    strict_scalars: typing.ClassVar[bool] = True


class Query(_CachedSchema):
    """Base for query strings."""

    model_config = ConfigDict(extra="ignore")


class Path(_CachedSchema):
    """Base for path parameters."""


class Response(BaseModel):
    """Base for documented response data."""

    model_config = ConfigDict(extra="allow")


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "[key]")]
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


# ---------------------------------------------------------------- JSON text


def loads_strict(text: str | bytes, field: str = "body") -> Any:
    """`json.loads`, refusing what parses but must not go further: nesting deeper than
    MAX_JSON_DEPTH (a recursion error while parsing or validating) and lone surrogates
    (unencodable as UTF-8: the database and every response would fail on them).
    Raises ValidationFailed (a 422), which is not a ValueError, so Flask's `silent` JSON
    reading passes it on instead of treating the body as absent. Invalid JSON stays a
    ValueError for the caller to answer as before."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep(field) from None
    check_json_value(value, field)
    return value


def check_json_value(value: Any, field: str = "body") -> None:
    """Depth and lone-surrogate check of parsed JSON, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, field)
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep(field)
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key, field)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _check_text(text: str, field: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationFailed(field, f"contains a lone surrogate (\\u{ord(text[exc.start]):04x})"
                               f"; text must be valid Unicode", code="VALIDATION_INVALID_FORMAT",
                               position=exc.start) from None


def _too_deep(field: str) -> ValidationFailed:
    return ValidationFailed(field, f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
                            max_depth=MAX_JSON_DEPTH)


class StrictJSONProvider(DefaultJSONProvider):
    """The app's JSON provider: request bodies are read with `loads_strict`."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if kwargs:
            return super().loads(s, **kwargs)
        return loads_strict(s)
