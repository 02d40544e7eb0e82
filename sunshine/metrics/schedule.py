"""Periodic jobs of the metrics app (autodiscovered by ``sunshine.jobs``; cron in Asia/Shanghai)."""

from __future__ import annotations

from sunshine.jobs.schedule import Periodic

JOBS = [
    # Every 10 minutes: fold new events into the statistics (cheap: only changed days), and
    # take the day's snapshot of work open past its limit.
    Periodic(name="metrics.refresh_statistics", task="sunshine.metrics.tasks.refresh_statistics", cron="*/10 * * * *"),
    # 00:05 every day: a run just after midnight so yesterday's last changes and today's
    # first snapshot are in even on a quiet night.
    Periodic(
        name="metrics.refresh_statistics_nightly",
        task="sunshine.metrics.tasks.refresh_statistics",
        cron="5 0 * * *",
    ),
]
