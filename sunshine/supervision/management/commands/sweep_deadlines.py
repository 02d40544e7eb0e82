"""Run one deadline sweep now (the scheduler runs the same code every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from sunshine.supervision.services import sweep


class Command(BaseCommand):
    help = "Fire every due rung of the escalation ladder once; print what fired."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--backfill", action="store_true", help="first store missing rung moments of open stages")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["backfill"]:
            from sunshine.supervision.moments import backfill

            self.stdout.write(f"backfilled {backfill()} rung moments")
        fired = sweep()
        for f in fired:
            at = timezone.localtime(f.due_at).strftime("%Y-%m-%d %H:%M")
            to = ",".join(f.recipients) or "-"
            self.stdout.write(f"{f.number} {f.stage}#{f.round} {f.rung} ({f.event}, due {at}) -> {to}")
        self.stdout.write(f"{len(fired)} rung(s) fired")
