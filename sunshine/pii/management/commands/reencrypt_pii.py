"""Rewrite every encrypted column under the first key of SUNSHINE_PII_KEYS and recompute every
blind index: run after adding a new key (then the old key can be removed) or after changing
SUNSHINE_PII_INDEX_KEY. Plaintext left in a column (a row written before encryption) is
encrypted too. Idempotent; batches of 2,000 rows, one transaction per table."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from sunshine.pii.migrate import encrypt_table, encrypted_columns


class Command(BaseCommand):
    help = "Re-encrypt personal data under the current key and recompute the blind indexes."

    def handle(self, *args: Any, **options: Any) -> None:
        for table, columns in encrypted_columns():
            with transaction.atomic():
                rows = encrypt_table(connection, table, columns)
            self.stdout.write(f"{table}: {rows} rows ({', '.join(c for c, _i, _k in columns)})")
