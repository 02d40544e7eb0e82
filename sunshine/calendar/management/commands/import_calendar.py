"""``manage.py import_calendar notice.csv --year 2027 --source "国办发明电〔2026〕N号" --reason "..."``"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sunshine.calendar import services
from sunshine.calendar.models import YearStatus


class Command(BaseCommand):
    help = (
        "Import a year's holiday notice from a CSV (header date,kind,name; kind holiday/休 or "
        "workday/班), replacing that year's days, then re-project open deadlines."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv_path")
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--source", required=True, help="the notice's title and number")
        parser.add_argument("--reason", required=True, help="logged on every application whose deadline moves")
        parser.add_argument("--status", default=YearStatus.OFFICIAL, choices=YearStatus.values)
        parser.add_argument("--user", default="", help="username recorded as the actor (optional)")

    def handle(self, *args: Any, **opts: Any) -> None:
        actor = None
        if opts["user"]:
            actor = get_user_model().objects.filter(username=opts["user"]).first()
            if actor is None:
                raise CommandError(f"No user {opts['user']!r}.")
        try:
            data = Path(opts["csv_path"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {opts['csv_path']}: {exc.strerror or exc}") from exc
        try:
            days = services.parse_notice_csv(services.decode_upload(data))
            result = services.apply_notice(
                opts["year"],
                days,
                source=opts["source"],
                reason=opts["reason"],
                actor=actor,
                status=opts["status"],
            )
        except ValidationError as exc:
            raise CommandError("\n".join(str(m) for m in exc.messages)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{opts['year']}: {result.days} days imported as {result.year.status}; "
                f"{result.stages_moved} open deadlines moved."
            )
        )
