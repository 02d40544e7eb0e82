"""Run the scheduler: enqueue every app's periodic jobs (``sunshine/<app>/schedule.py``) at their
cron slots while this process holds the database lease. Run one or more; only one schedules."""

from __future__ import annotations

import contextlib
import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from sunshine.jobs.scheduler import Scheduler


class Command(BaseCommand):
    help = "Enqueue periodic jobs at their cron times (one active scheduler, kept single by a database lease)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--list", action="store_true", help="List the periodic jobs and exit.")

    def handle(self, *args: Any, list: bool = False, **options: Any) -> None:
        scheduler = Scheduler(lease_seconds=settings.SUNSHINE_SCHEDULER_LEASE_SECONDS)
        if list:
            for job in scheduler.jobs:
                self.stdout.write(f"{job.name:<32} {job.cron:<16} {job.task}")
            return
        self.stdout.write(f"Scheduler {scheduler.holder}: {len(scheduler.jobs)} periodic job(s).")
        self.stdout.flush()
        # APScheduler logs every run of every job at INFO (the lease renewal every few seconds);
        # keep its warnings and errors, and our own lines about the lease and what was enqueued.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)

        def stop(signum: int, frame: object) -> None:
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            scheduler.run_forever()
