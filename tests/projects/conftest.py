"""Fixtures for the project tests: API clients per user; real workers with the Claude
stand-in (tests/jobs/fixtures.py) and logged-in page clients (tests/pages/login_client.py)."""

from __future__ import annotations

import pytest

from tests.jobs.fixtures import engine_env, fake_claude, workers  # noqa: F401 - fixtures
from tests.pages.login_client import page_client  # noqa: F401 - fixture
from tests.tasks.helpers import Api


@pytest.fixture
def api_for(ctx, client, auth):
    """`api_for(user)`: a JSON client authenticated as `user` (inside the app context, so
    tests can use factories and the database too)."""

    def make(user) -> Api:
        return Api(client, auth(user))

    return make
