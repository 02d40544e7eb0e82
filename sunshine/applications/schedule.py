"""Periodic jobs of the case engine (autodiscovered by ``sunshine.jobs``; cron in Asia/Shanghai)."""

from __future__ import annotations

from sunshine.jobs.schedule import Periodic

JOBS = [
    # 00:20: fingerprint yesterday's events (the published audit digest).
    Periodic(
        name="applications.audit_digest",
        task="sunshine.applications.tasks.publish_yesterdays_audit_digest",
        cron="20 0 * * *",
    ),
]
