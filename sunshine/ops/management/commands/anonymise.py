"""``manage.py anonymise``: anonymise the personal data of applications closed past retention."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from sunshine.ops.retention import anonymise


class Command(BaseCommand):
    help = "Anonymise customers' personal data of applications closed more than SUNSHINE_RETENTION_DAYS ago."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=None, help="override the retention in days")

    def handle(self, *args: Any, days: int | None, **options: Any) -> None:
        done = anonymise(days)
        self.stdout.write(
            f"Retention {days if days is not None else settings.SUNSHINE_RETENTION_DAYS} days: "
            f"{done.applications} applications and {done.customers} customers anonymised, {done.files} files deleted."
        )
