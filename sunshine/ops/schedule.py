"""Periodic jobs of operations (autodiscovered by ``sunshine.jobs``; cron in Asia/Shanghai)."""

from __future__ import annotations

from sunshine.jobs.schedule import Periodic

JOBS = [
    # every 5 minutes: the office's figures of /metrics (open applications, overdue stages)
    Periodic(name="ops.office_figures", task="sunshine.ops.tasks.refresh_office_figures", cron="*/5 * * * *"),
    # 03:10 on the 2nd of each month: anonymise applications closed past retention.
    Periodic(name="ops.anonymise", task="sunshine.ops.tasks.anonymise_past_retention", cron="10 3 2 * *"),
]
