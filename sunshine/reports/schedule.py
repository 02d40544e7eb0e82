"""Periodic jobs of reports, autodiscovered by the scheduler (``sunshine.jobs.schedule``)."""

from __future__ import annotations

from dataclasses import dataclass

try:
    from sunshine.jobs.schedule import Periodic
except ImportError:  # the jobs app has not landed yet: the same shape, so this file reads alike

    @dataclass(frozen=True)
    class Periodic:  # type: ignore[no-redef]
        name: str
        task: str
        cron: str


JOBS = [
    # The half-month that ended yesterday, shortly after midnight on the 1st and the 16th.
    Periodic(name="half_month_report", task="sunshine.reports.tasks.generate_due_report", cron="10 0 1,16 * *"),
]
