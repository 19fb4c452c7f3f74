"""A private PostgreSQL schema for one test run or benchmark, dropped when it ends.

Tests and benches share an operator's database (CI's `test`) with whatever else uses it. Each
run works in a schema of its own, chosen through `search_path` in the URL, so rows left by an
earlier run can neither break a test nor skew a figure, and nothing is left behind.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import sqlalchemy as sa


def schema_url(base: str, schema: str) -> str:
    """`base` with every connection's search_path set to `schema`."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def private_schema(base: str, prefix: str) -> Iterator[str]:
    """Yield a URL into a new empty schema of the PostgreSQL database at `base` (any other
    database URL is yielded unchanged); the schema and everything in it is dropped on exit."""
    if not base.startswith("postgresql"):
        yield base
        return
    schema = f"{prefix}_{secrets.token_hex(4)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield schema_url(base, schema)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
