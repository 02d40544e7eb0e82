"""Periodic jobs of reports, autodiscovered by the scheduler (``sunshine.jobs.schedule``)."""

from __future__ import annotations

from sunshine.jobs.schedule import Periodic

JOBS = [
    # The half-month that ended yesterday, shortly after midnight on the 1st and the 16th.
    Periodic(name="half_month_report", task="sunshine.reports.tasks.generate_due_report", cron="10 0 1,16 * *"),
]
