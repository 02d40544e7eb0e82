"""Periodic jobs of supervision (autodiscovered by the scheduler; cron in Asia/Shanghai)."""

from __future__ import annotations

from sunshine.jobs.schedule import Periodic

JOBS = [
    # Every minute: rungs fire at their stored moment (08:30 of their day), not a day late.
    Periodic(name="sweep_deadlines", task="sunshine.supervision.tasks.sweep_deadlines", cron="* * * * *"),
    # Monday 08:00: each leader's digest of the projects they supervise.
    Periodic(name="supervision_digest", task="sunshine.supervision.tasks.send_supervision_digests", cron="0 8 * * 1"),
]
