from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sunshine.metrics.services import refresh


class Command(BaseCommand):
    help = (
        "Bring the public statistics up to date: fold the events added since the last run into the "
        "aggregate tables (--full rebuilds them from all applications)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="rebuild everything from scratch")

    def handle(self, *args: Any, **options: Any) -> None:
        result = refresh(full=options["full"])
        self.stdout.write(
            f"Statistics refreshed: {result.applications} applications, {result.days} days, "
            f"events up to #{result.last_event_id}."
        )
