"""Statements of the execution engine's hot path, built once per shape.

Why: building a SQLAlchemy statement (and its cache key) costs about five times as much as
running a prebuilt one (bench/dispatch.py profile: ~0.1 ms against ~0.02 ms per UPDATE on
SQLite), and a run writes a handful of rows twice. The values are bound parameters, so one
statement serves every run; a statement's *shape* (which columns it sets, which conditions it
has) is the cache key.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.engine import Connection

from app.extensions import db

# A condition: (column, "eq") binds `w_<column>`; (column, "null") / (column, "notnull").
Condition = tuple[str, str]


@functools.lru_cache(maxsize=256)
def _update(table_name: str, columns: tuple[str, ...], conditions: tuple[Condition, ...],
            returning: tuple[str, ...]):
    table: Table = db.metadata.tables[table_name]
    stmt = update(table).values({name: bindparam(f"v_{name}", type_=table.c[name].type)
                                 for name in columns})
    for name, op in conditions:
        column = table.c[name]
        stmt = stmt.where(column == bindparam(f"w_{name}", type_=column.type) if op == "eq"
                          else column.is_(None) if op == "null" else column.is_not(None))
    if returning:
        stmt = stmt.returning(*(table.c[name] for name in returning))
    return stmt


def update_row(conn: Connection, table: Table, values: dict[str, Any],
               where: dict[str, Any], *, not_null: tuple[str, ...] = (),
               returning: tuple[str, ...] = ()):
    """UPDATE `table` SET `values` WHERE each `where` column equals its value (None: IS NULL)
    and each `not_null` column IS NOT NULL [RETURNING `returning`], prebuilt per shape."""
    columns = tuple(values)
    conditions = tuple((name, "null" if value is None else "eq") for name, value in
                       where.items()) + tuple((name, "notnull") for name in not_null)
    params = {f"v_{name}": value for name, value in values.items()}
    params.update({f"w_{name}": value for name, value in where.items() if value is not None})
    return conn.execute(_update(table.name, columns, conditions, returning), params)


@functools.lru_cache(maxsize=64)
def _select_by_id(table_name: str, columns: tuple[str, ...], for_update: bool):
    table: Table = db.metadata.tables[table_name]
    selected = [table.c[name] for name in columns] if columns else [table]
    stmt = select(*selected).where(table.c.id == bindparam("w_id", type_=table.c.id.type))
    return stmt.with_for_update() if for_update else stmt


def select_by_id(conn: Connection, table: Table, row_id: Any, columns: tuple[str, ...] = (),
                 for_update: bool = False):
    """SELECT `columns` (all when empty) of the row with id `row_id`, prebuilt per shape."""
    return conn.execute(_select_by_id(table.name, columns, for_update), {"w_id": row_id})
