"""A small JSON client for the API tests of projects and tasks."""

from __future__ import annotations

from typing import Any


class Api:
    """`api.get(url)` -> (status, body) with the user's bearer token."""

    def __init__(self, client, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def call(self, method: str, url: str, json: Any = None, **params: Any):
        resp = getattr(self.client, method)(url, json=json, headers=self.headers,
                                            query_string=params or None)
        body = resp.get_json()
        return resp.status_code, body

    def get(self, url: str, **params: Any):
        return self.call("get", url, **params)

    def post(self, url: str, json: Any = None):
        return self.call("post", url, json=json)

    def put(self, url: str, json: Any = None):
        return self.call("put", url, json=json)

    def delete(self, url: str):
        return self.call("delete", url)

    def ok(self, method: str, url: str, json: Any = None, expect: int = 200, **params: Any):
        """The call's `data`, asserting its status."""
        code, body = self.call(method, url, json=json, **params)
        assert code == expect, body
        return body["data"]

    def error(self, method: str, url: str, json: Any = None, **params: Any):
        """(status, error code, error body) of a failing call."""
        code, body = self.call(method, url, json=json, **params)
        assert body["data"] is None, body
        return code, body["error"]["code"], body["error"]


def ids(items: list[dict]) -> list[str]:
    return [item["id"] for item in items]
