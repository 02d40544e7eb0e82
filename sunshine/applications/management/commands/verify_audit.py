"""Recompute the audit chains and daily digests: exit 0 when intact, 1 naming the first problem."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from sunshine.applications.audit import verify
from sunshine.applications.models import AuditDigest, Event


class Command(BaseCommand):
    help = "Verify the tamper-evident event log; exits 1 and names the first altered, inserted or deleted event."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--all", action="store_true", help="list every problem, not only the first")

    def handle(self, *args: Any, **options: Any) -> None:
        problems = verify(stop_at_first=not options["all"])
        if problems:
            for p in problems:
                self.stderr.write(f"BROKEN: {p.message}")
            sys.exit(1)
        self.stdout.write(
            f"Audit log intact: {Event.objects.count()} events, {AuditDigest.objects.count()} daily digests verified."
        )
