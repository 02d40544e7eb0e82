"""The single scheduler: APScheduler cron triggers enqueue the periodic tasks, only while this
process holds the database lease. ``manage.py run_scheduler`` runs it; see docs/deploy-processes.md."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime
from typing import Any

from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from sunshine.jobs import lease
from sunshine.jobs.models import PeriodicRun
from sunshine.jobs.schedule import TIME_ZONE, Periodic, discover

logger = logging.getLogger("sunshine.jobs.scheduler")

LEASE_NAME = "scheduler"


def new_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    """The lease logic and the firing of one periodic job, apart from APScheduler's threads so
    tests can drive two instances by hand."""

    def __init__(self, holder: str | None = None, jobs: list[Periodic] | None = None, lease_seconds: float = 30):
        self.holder = holder or new_holder_id()
        self.jobs = discover() if jobs is None else jobs
        self.lease_seconds = lease_seconds
        self.active = False

    def renew(self) -> bool:
        """Acquire or renew the lease; returns whether this instance schedules now."""
        was = self.active
        try:
            self.active = lease.hold(LEASE_NAME, self.holder, self.lease_seconds)
        except Exception:
            logger.exception("scheduler %s could not renew its lease", self.holder)
            self.active = False
        if self.active != was:
            logger.info("scheduler %s %s the lease", self.holder, "holds" if self.active else "lost")
        return self.active

    def fire(self, job: Periodic, slot: datetime | None = None) -> bool:
        """Enqueue ``job`` for the cron ``slot`` if this instance holds the lease and nobody enqueued
        that slot yet. Returns whether it enqueued."""
        slot = (slot or timezone.now()).replace(second=0, microsecond=0)
        if not lease.holds(LEASE_NAME, self.holder):
            self.active = False
            return False
        try:
            with transaction.atomic():
                run = PeriodicRun.objects.create(
                    name=job.name, slot=slot, holder=self.holder, enqueued_at=timezone.now()
                )
                result = import_string(job.task).enqueue()
                run.task_result_id = str(result.id)
                run.save(update_fields=["task_result_id"])
        except IntegrityError:
            return False
        logger.info("scheduler %s enqueued %s for %s", self.holder, job.name, slot.isoformat())
        return True

    def build(self, scheduler: Any) -> Any:
        """Add the lease renewal and every job's cron trigger to an APScheduler scheduler."""
        scheduler.add_job(
            self._renew_now,
            "interval",
            seconds=max(1.0, self.lease_seconds / 3),
            id="lease",
            next_run_time=timezone.now(),
        )
        for job in self.jobs:
            scheduler.add_job(
                self._fire_now,
                job.trigger(),
                args=[job],
                id=job.name,
                name=job.name,
                misfire_grace_time=60,
                coalesce=True,
                max_instances=1,
            )
        return scheduler

    def _renew_now(self) -> None:
        close_old_connections()  # APScheduler's thread outlives connections, like a request would
        self.renew()

    def _fire_now(self, job: Periodic) -> None:
        close_old_connections()
        try:
            self.fire(job)
        except Exception:
            logger.exception("scheduler %s could not enqueue %s", self.holder, job.name)

    def run_forever(self) -> None:
        from apscheduler.schedulers.blocking import BlockingScheduler

        blocking = self.build(BlockingScheduler(timezone=TIME_ZONE))
        try:
            blocking.start()
        finally:
            lease.release(LEASE_NAME, self.holder)
