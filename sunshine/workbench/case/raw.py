"""Rows of the application page read in one raw statement each, made into model instances with
the ORM's own converters of each column (what the ORM would give for those columns, without
compiling its query on every first view). Tests compare each read with the ORM's query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, models, router

# (model, attribute names, table alias in the statement): one instance per part of a row
Part = tuple[type[models.Model], Sequence[str], str]
# (statement, alias of the connection) → converters by column: built once
_CONVERTERS: dict[tuple[str, str], list[tuple[int, list[Any], Any]]] = {}


def _converters(conn: Any, sql: str, parts: Sequence[Part]) -> list[tuple[int, list[Any], Any]]:
    key = (sql, conn.alias)
    found = _CONVERTERS.get(key)
    if found is None:
        found = []
        columns = []
        for model, names, alias in parts:
            fields = {f.attname: f for f in model._meta.concrete_fields}
            columns += [fields[n].get_col(alias) for n in names]
        for i, col in enumerate(columns):
            convs = conn.ops.get_db_converters(col) + col.get_db_converters(conn)
            if convs:
                found.append((i, convs, col))
        _CONVERTERS[key] = found
    return found


def read(sql: str, params: Sequence[Any], parts: Sequence[Part]) -> list[list[models.Model | None]]:
    """The rows of ``sql`` (its columns: each part's names in order), each as one instance per part
    (None for a part whose first column, its primary key, is NULL: an outer join that found none).
    Instances have the listed fields; any other is deferred."""
    conn = connections[router.db_for_read(parts[0][0])]
    converters = _converters(conn, sql, parts)
    with conn.cursor() as cursor:
        cursor.execute(sql, list(params))
        rows = cursor.fetchall()
    out = []
    for row in rows:
        values = list(row)
        for i, convs, col in converters:
            for convert in convs:
                values[i] = convert(values[i], col, conn)
        objs: list[models.Model | None] = []
        start = 0
        for model, names, _alias in parts:
            chunk = values[start : start + len(names)]
            start += len(names)
            objs.append(None if chunk[0] is None else model.from_db(conn.alias, list(names), chunk))
        out.append(objs)
    return out
