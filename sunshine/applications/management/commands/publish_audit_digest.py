"""Fingerprint a day's events (default: yesterday) and keep the digest; the scheduler runs it nightly."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from sunshine.applications.audit import publish_digest


class Command(BaseCommand):
    help = "Publish the audit digest of a day (YYYY-MM-DD, default yesterday)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--day", default="")

    def handle(self, *args: Any, day: str, **options: Any) -> None:
        d = date.fromisoformat(day) if day else timezone.localdate() - timedelta(days=1)
        digest = publish_digest(d)
        self.stdout.write(f"{digest.day} {digest.events} events {digest.digest}")
