"""Periodic jobs: each app lists its own in ``sunshine/<app>/schedule.py`` as ``JOBS = [Periodic(...)]``.

``Periodic(name, task, cron)``: ``task`` is the dotted path of a django-tasks task (called with no
arguments), ``cron`` a 5-field crontab in Asia/Shanghai time. The scheduler (``manage.py
run_scheduler``) enqueues each one at its slots; the worker runs it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from django.apps import apps

TIME_ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Periodic:
    name: str
    task: str
    cron: str

    def __post_init__(self) -> None:
        if len(self.cron.split()) != 5:
            raise ValueError(f"Periodic {self.name!r}: cron must have 5 fields, got {self.cron!r}")

    def trigger(self) -> Any:
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger.from_crontab(self.cron, timezone=TIME_ZONE)


def discover() -> list[Periodic]:
    """Every ``JOBS`` of every installed ``sunshine.*`` app, in app order; names must be unique."""
    found: list[Periodic] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("sunshine."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.schedule")
        except ModuleNotFoundError as e:
            if e.name != f"{config.name}.schedule":
                raise
            continue
        found.extend(getattr(module, "JOBS", []))
    names = [p.name for p in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"Periodic job names must be unique: {duplicates}")
    return found
