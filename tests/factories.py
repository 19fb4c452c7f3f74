"""Test data made through the services, so every row is what the app itself would write."""

from __future__ import annotations

import itertools

from app.extensions import db

_counter = itertools.count(1)
DEFAULT_PASSWORD = "correct-horse-battery"


def user(role: str = "developer", username: str | None = None, password: str = DEFAULT_PASSWORD,
         tier: str = "standard", **kwargs):
    """A user created like the CLI does; `.password` keeps the plain password for login tests."""
    from app.services.users import create_user

    name = username or f"{role}{next(_counter)}"
    created = create_user(name, password, role=role, tier=tier, **kwargs)
    db.session.refresh(created)
    created.password = password
    db.session.expunge(created)
    return created
