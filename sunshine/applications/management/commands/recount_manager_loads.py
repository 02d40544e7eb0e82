"""Rebuild the customer managers' open-application counts that assignment reads (ManagerLoad),
after data was loaded or changed without the engine's services."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sunshine.applications.services import recount_manager_loads


class Command(BaseCommand):
    help = "Recount each customer manager's open applications (used to assign new ones to the least loaded)."

    def handle(self, *args: Any, **options: Any) -> None:
        n = recount_manager_loads()
        self.stdout.write(f"{n} customer manager(s) with open applications recounted.")
