"""``manage.py drain_reactions``: run every pending reaction of the outbox now (docs/engine.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sunshine.applications.outbox import drain, pending


class Command(BaseCommand):
    help = (
        "Run the reactions of every pending outbox entry now, those waiting for a retry included; "
        "fails when some still fail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--due-only", action="store_true", help="leave entries waiting for their retry")
        parser.add_argument("--batch-size", type=int, default=None)

    def handle(self, *args: Any, due_only: bool, batch_size: int | None, **options: Any) -> None:
        result = drain(due_only=due_only, batch_size=batch_size)
        left = pending()
        self.stdout.write(f"Reactions run for {result.entries} change(s); {result.failed} failed; {left} pending.")
        if result.failed:
            for line in result.errors:
                self.stderr.write(line)
            raise CommandError(f"{result.failed} change(s) have failing reactions (see the jobs page).")
