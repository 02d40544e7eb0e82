"""``manage.py backup --output FILE``: a consistent copy of the whole database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sunshine.applications.models import Application, Event
from sunshine.ops.backup import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database (SQLite online backup, or pg_dump custom format on PostgreSQL)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--output", default="", help="file to write (default var/backups/<time stamp>)")

    def handle(self, *args: Any, output: str, **options: Any) -> None:
        from django.conf import settings

        path = Path(output) if output else settings.VAR_DIR / "backups" / timezone.now().strftime("%Y%m%d-%H%M%S.dump")
        try:
            backup(path)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{path} ({path.stat().st_size} bytes): {Application.objects.count()} applications, "
            f"{Event.objects.count()} events"
        )
