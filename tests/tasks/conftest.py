"""Fixtures for the task tests: API clients per user."""

from __future__ import annotations

import pytest

from tests.tasks.helpers import Api


@pytest.fixture
def api_for(ctx, client, auth):
    """`api_for(user)`: a JSON client authenticated as `user` (inside the app context, so
    tests can use factories and the database too)."""

    def make(user) -> Api:
        return Api(client, auth(user))

    return make
