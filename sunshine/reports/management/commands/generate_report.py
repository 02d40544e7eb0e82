"""``manage.py generate_report --period YYYY-MM-DD``: the half-month report starting that day.

Prints the paths of its .xlsx and .pdf, one per line. An existing report is printed as it is;
``--reason`` makes a new version (the old one stays readable).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sunshine.errors import ValidationFailed
from sunshine.reports.models import ReportStatus
from sunshine.reports.services import file_path, generate_half_month


class Command(BaseCommand):
    help = "Generate the half-monthly report of the period starting on --period (the 1st or the 16th)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="first day of the half-month, YYYY-MM-DD")
        parser.add_argument("--reason", default="", help="regenerate: make a new version for this reason")
        parser.add_argument("--no-email", action="store_true", help="do not e-mail the leaders")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            start = date.fromisoformat(options["period"])
        except ValueError:
            raise CommandError("--period must be a date YYYY-MM-DD (the 1st or the 16th)") from None
        try:
            report, _created = generate_half_month(start, reason=options["reason"], email=not options["no_email"])
        except ValidationFailed as exc:
            raise CommandError("; ".join(m for msgs in exc.fields.values() for m in msgs)) from None
        if report.status != ReportStatus.DONE:
            raise CommandError(f"report {report.pk} failed: {report.error}")
        for fmt in ("xlsx", "pdf"):
            self.stdout.write(str(file_path(report, fmt)))
