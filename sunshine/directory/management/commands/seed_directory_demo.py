from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sunshine.directory.models import Contractor
from sunshine.directory.seed import seed_demo_contractors


class Command(BaseCommand):
    help = "Load the invented demo contractors (names start with 示例; idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        created = seed_demo_contractors(Contractor)
        self.stdout.write(f"Created {created} demo contractors.")
