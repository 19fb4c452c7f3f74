"""Fixtures for the task tests: API clients per user."""

from __future__ import annotations

import pytest

from tests.tasks.helpers import Api


@pytest.fixture
def api_for(client, auth):
    """`api_for(user)`: a JSON client authenticated as `user`."""

    def make(user) -> Api:
        return Api(client, auth(user))

    return make
