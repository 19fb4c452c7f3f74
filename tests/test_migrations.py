"""The schema comes only from migrations: empty database -> head -> base, and head == models."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import create_app
from app.private_schema import private_schema


@pytest.fixture
def empty_database_url(tmp_path):
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    with private_schema(base, "m") as url:
        yield url


def test_upgrade_to_head_then_downgrade_to_base(app_config, empty_database_url):
    from flask_migrate import downgrade, upgrade

    from app.extensions import db

    application = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with application.app_context():
        assert sa.inspect(db.engine).get_table_names() == []
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= tables
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_app_code_never_creates_tables():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "app"
    offenders = [str(p) for p in root.rglob("*.py") if "create_all(" in p.read_text()]
    assert offenders == []
