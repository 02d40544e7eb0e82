"""Data-migration helpers: encrypt the personal data of a table (and fill its blind indexes),
or write it back as plaintext when the migration is reversed.

Raw SQL in batches by primary key, so they run the same on SQLite and PostgreSQL and never load
a model. Idempotent: a value already encrypted is decrypted and encrypted again under the first
key (which is also how ``manage.py reencrypt_pii`` rotates keys), its index recomputed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sunshine.pii import crypto

# (column, blind-index column or None, index kind or None)
Column = tuple[str, str | None, str | None]


def encrypted_columns() -> list[tuple[str, list[Column]]]:
    """Every table with encrypted fields, each with its columns and their blind indexes."""
    from django.apps import apps

    from sunshine.pii.fields import BlindIndexField, EncryptedCharField

    found = []
    for model in apps.get_models():
        fields = model._meta.concrete_fields
        indexes = {f.source: f for f in fields if isinstance(f, BlindIndexField)}
        columns: list[Column] = []
        for f in fields:
            if isinstance(f, EncryptedCharField) and f.column:
                ix = indexes.get(f.name)
                columns.append((f.column, ix.column if ix else None, ix.kind if ix else None))
        if columns and model._meta.pk is not None and model._meta.pk.column == "id":
            found.append((model._meta.db_table, columns))
    return found


def flush_deferred(connection: Any) -> None:
    """Run PostgreSQL's deferred constraint checks now: rows updated in a migration leave
    trigger events pending, and an ALTER TABLE later in the same transaction (the schema step
    of the same migration, or the one after it when migrating backwards) would be refused."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _rows(connection: Any, table: str, names: Sequence[str], batch: int) -> Iterator[list[tuple[Any, ...]]]:
    qn = connection.ops.quote_name
    last = None
    with connection.cursor() as cursor:
        while True:
            where = "" if last is None else f" WHERE {qn('id')} > %s"
            cursor.execute(
                f"SELECT {qn('id')}, {', '.join(qn(n) for n in names)} FROM {qn(table)}{where} "  # noqa: S608
                f"ORDER BY {qn('id')} LIMIT {int(batch)}",
                [] if last is None else [last],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][0]


def _update(connection: Any, table: str, names: Sequence[str], params: list[list[Any]]) -> None:
    if not params:
        return
    qn = connection.ops.quote_name
    sets = ", ".join(f"{qn(n)} = %s" for n in names)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {qn(table)} SET {sets} WHERE {qn('id')} = %s", params)  # noqa: S608


def encrypt_table(connection: Any, table: str, columns: Sequence[Column], batch: int = 2000) -> int:
    """Encrypt ``columns`` of every row of ``table`` and fill their index columns; returns the
    number of rows changed."""
    names = [c for c, _i, _k in columns]
    targets = [n for c, i, _k in columns for n in ((c, i) if i else (c,))]
    changed = 0
    for rows in _rows(connection, table, names, batch):
        params = []
        for row in rows:
            values: list[Any] = []
            for (_c, index, kind), stored in zip(columns, row[1:], strict=True):
                plain = crypto.decrypt(stored or "")
                values.append(crypto.encrypt(plain) if plain else stored)
                if index:
                    values.append(crypto.blind_index(kind or "id", plain))
            params.append([*values, row[0]])
        changed += len(params)
        _update(connection, table, targets, params)
    return changed


def decrypt_table(connection: Any, table: str, columns: Sequence[Column], batch: int = 2000) -> int:
    """The reverse: write the plaintext back and empty the index columns."""
    names = [c for c, _i, _k in columns]
    targets = [n for c, i, _k in columns for n in ((c, i) if i else (c,))]
    changed = 0
    for rows in _rows(connection, table, names, batch):
        params = []
        for row in rows:
            values: list[Any] = []
            for (_c, index, _k), stored in zip(columns, row[1:], strict=True):
                values.append(crypto.decrypt(stored) if stored else stored)
                if index:
                    values.append("")
            params.append([*values, row[0]])
        changed += len(params)
        _update(connection, table, targets, params)
    return changed
