"""`endpoint()`: one decorator that declares a route, its access rule and its documented schemas."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel

from app.api.schemas import ErrorEnvelope, envelope_of
from app.security import ANY_TOKEN, PUBLIC, REFRESH, public, requires, token_rule

BEARER = [{"bearerAuth": []}]


def blueprint(name: str, prefix: str, tag: str, description: str = "") -> APIBlueprint:
    return APIBlueprint(name, __name__, url_prefix=prefix,
                        abp_tags=[Tag(name=tag, description=description)])


def endpoint(bp: APIBlueprint, method: str, rule: str, *, auth: str | Iterable[str],
             summary: str, data: type[BaseModel] | None = None, status: int = 200,
             errors: Iterable[int] = (), description: str | None = None,
             data_statuses: Iterable[int] = ()) -> Callable:
    """Register `func` on `bp`, enforcing `auth` before validation and documenting it.

    `auth` is PUBLIC, REFRESH, ANY_TOKEN, or one or more permissions ("read", "write",
    "execute", "admin"). `data_statuses` are other statuses whose body is the same data
    envelope (e.g. a health report answered with 503), not an error.
    """

    def register(func: Callable) -> Callable:
        if auth == PUBLIC:
            public(func)
        elif auth in (REFRESH, ANY_TOKEN):
            token_rule(auth)(func)
        else:
            requires(*([auth] if isinstance(auth, str) else list(auth)))(func)
        codes = {422, 429, 500, *errors}
        if auth != PUBLIC:
            codes |= {401, 403}
        responses: dict[Any, Any] = {status: envelope_of(data)}
        responses.update({code: ErrorEnvelope for code in sorted(codes)})
        responses.update({code: envelope_of(data) for code in data_statuses})
        options = {"summary": summary, "responses": responses,
                   "security": [] if auth == PUBLIC else BEARER}
        if description or func.__doc__:
            options["description"] = description or func.__doc__
        return getattr(bp, method)(rule, **options)(func)

    return register
