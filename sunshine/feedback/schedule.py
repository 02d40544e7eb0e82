"""Periodic jobs of the feedback app (autodiscovered by ``sunshine.jobs``; cron in Asia/Shanghai)."""

from __future__ import annotations

from sunshine.jobs.schedule import Periodic

JOBS = [
    # 02:30 on the 1st of each month: contractor concentration over last month.
    Periodic(
        name="feedback.concentration_monitor",
        task="sunshine.feedback.tasks.run_concentration_monitor",
        cron="30 2 1 * *",
    ),
    # 08:15 on weekdays: remind the auditors of cases past their time limit (once each).
    Periodic(
        name="feedback.overdue_cases",
        task="sunshine.feedback.tasks.remind_overdue_cases",
        cron="15 8 * * 1-5",
    ),
]
