"""Freeze the customer-manager evaluation of a period: ``manage.py evaluate --period 2026-10``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sunshine.evaluation.periods import BadPeriod, parse_period
from sunshine.evaluation.selectors import snapshot_results
from sunshine.evaluation.services import EvaluationError, freeze


class Command(BaseCommand):
    help = "Freeze a period's customer-manager evaluation (YYYY-MM or YYYY-Qn) as a new snapshot version."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--period", required=True, help="YYYY-MM or YYYY-Qn, e.g. 2026-10 or 2026-Q4")
        parser.add_argument("--reason", default="", help="why this period is frozen (again)")

    def handle(self, *args: Any, period: str, reason: str, **options: Any) -> None:
        try:
            p = parse_period(period)
        except BadPeriod:
            raise CommandError(f"--period must be YYYY-MM or YYYY-Qn, got {period!r}") from None
        try:
            snapshot = freeze(p, reason=reason)
        except EvaluationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{snapshot.period} v{snapshot.version} frozen ({p.starts_on} – {p.ends_on})")
        for row in snapshot_results(snapshot):
            score = "-" if row["score"] is None else f"{row['score']}"
            flags = " VETO" if row["veto"] else ""
            flags += " WARNING" if row["warning"] else ""
            self.stdout.write(f"  {row['area'] or '-'}  #{row['rank'] or '-'}  {row['username']}  {score}{flags}")
