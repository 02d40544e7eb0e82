"""Set-based raw writes for the engine's hot paths (a transition, an intake, recording events).

The ORM spends more Python building an UPDATE or a bulk INSERT than the database spends running
it (docs/engine.md, "Hot paths"). These two functions write model objects planned in memory with
one statement each, whatever their number:

- ``update_rows``: ``UPDATE t SET … FROM (VALUES (…), (…)) v WHERE t.id = v.id``;
- ``insert_rows``: ``INSERT INTO t (…) VALUES (…), (…) RETURNING id``, setting the objects' keys.

Values go through each field's ``get_db_prep_save`` (JSON, dates, encrypted fields), so the rows
are those the ORM writes; ``tests/test_fast_writes.py`` walks applications through both paths on
SQLite and PostgreSQL and compares every row and the audit chains. ``SUNSHINE_FAST_WRITES = False``
turns the ORM path back on.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Field, Model


def enabled() -> bool:
    return bool(getattr(settings, "SUNSHINE_FAST_WRITES", True))


@cache
def _fields(model: type[Model], names: tuple[str, ...]) -> tuple[Field, ...]:  # type: ignore[type-arg]
    return tuple(model._meta.get_field(n) for n in names)  # type: ignore[misc]


def _pg_type(field: Field) -> str:  # type: ignore[type-arg]
    target = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
    db_type = target.rel_db_type(connection) if field.is_relation else field.db_type(connection)
    return str(db_type).replace(" AUTO_INCREMENT", "")


@cache
def _update_sql(model: type[Model], names: tuple[str, ...], vendor: str) -> tuple[str, str]:
    """(one VALUES row, the statement with ``{values}`` to fill) of ``update_rows``."""
    qn = connection.ops.quote_name
    fields = _fields(model, names)
    pk = model._meta.pk
    assert pk is not None
    table = qn(model._meta.db_table)
    if vendor == "postgresql":
        # VALUES gives its columns no type: each parameter is cast to its column's.
        row = "(" + ", ".join(f"%s::{_pg_type(f)}" for f in (pk, *fields)) + ")"
        alias = "v(" + ", ".join(qn(str(f.column)) for f in (pk, *fields)) + ")"
        cols = [f"v.{qn(str(f.column))}" for f in (pk, *fields)]
    else:  # SQLite names the columns of VALUES column1, column2, …
        row = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
        alias = "v"
        cols = [f"v.column{i}" for i in range(1, len(fields) + 2)]
    sets = ", ".join(f"{qn(str(f.column))} = {col}" for f, col in zip(fields, cols[1:], strict=True))
    return row, (
        f"UPDATE {table} SET {sets} FROM (VALUES {{values}}) AS {alias}"  # noqa: S608
        f" WHERE {table}.{qn(str(pk.column))} = {cols[0]}"
    )


def update_rows(model: type[Model], objs: Sequence[Model], names: Sequence[str]) -> None:
    """Write the fields ``names`` of ``objs`` (rows that exist) in one statement."""
    if not objs:
        return
    fields = _fields(model, tuple(names))
    sql_row, tail = _update_sql(model, tuple(names), connection.vendor)
    sql = tail.replace("{values}", ", ".join([sql_row] * len(objs)))
    params: list[Any] = []
    for obj in objs:
        params.append(obj.pk)
        params.extend(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def insert_rows(model: type[Model], objs: Sequence[Model]) -> None:
    """Insert ``objs`` (every concrete field but the key) in one statement; sets their keys."""
    if not objs:
        return
    qn = connection.ops.quote_name
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    pk = opts.pk
    assert pk is not None
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(str(f.column)) for f in fields)})"  # noqa: S608
        f" VALUES {', '.join([row] * len(objs))} RETURNING {qn(str(pk.column))}"
    )
    params: list[Any] = []
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="insert_rows")  # type: ignore[attr-defined]  # parents' keys
        params.extend(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [r[0] for r in cursor.fetchall()]
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = connection.alias
