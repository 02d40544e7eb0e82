"""Periodic jobs of the evaluation app (autodiscovered by ``sunshine.jobs``; cron in Asia/Shanghai)."""

from __future__ import annotations

from sunshine.jobs.schedule import Periodic

JOBS = [
    # 01:30 on the 1st: freeze last month (and last quarter when one just ended), after the
    # follow-up and supervision jobs of the night before.
    Periodic(
        name="evaluation.freeze_last_periods", task="sunshine.evaluation.tasks.freeze_last_periods", cron="30 1 1 * *"
    ),
]
