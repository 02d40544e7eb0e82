"""``manage.py restore --input FILE``: restore a backup into an empty database, then verify the audit log."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sunshine.applications.audit import verify
from sunshine.applications.models import Application, Event
from sunshine.ops.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore a backup made by `manage.py backup` into the configured, empty database."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--input", required=True)

    def handle(self, *args: Any, input: str, **options: Any) -> None:
        try:
            restore(Path(input))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        problems = verify()
        counts = f"{Application.objects.count()} applications, {Event.objects.count()} events"
        if problems:
            self.stderr.write(f"Restored ({counts}) but the audit log does not verify: {problems[0].message}")
            sys.exit(1)
        self.stdout.write(f"Restored {counts}; audit log verified.")
