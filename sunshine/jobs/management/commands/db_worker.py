"""``manage.py db_worker``: django-tasks-db's worker, made to outlive a database outage.

django-tasks-db's own command exits with a traceback when the database cannot be reached (a
restart, a crash, a failover): under ``runall`` that stops the whole installation, under systemd
the unit restarts it after ``RestartSec``. This command (Django finds it first: ``sunshine.jobs`` is
listed before ``django_tasks_db`` in ``INSTALLED_APPS``) takes the same options, logs the outage,
drops the connection, waits (1 s, doubling up to 30 s) and goes on polling.

A task interrupted by the outage stays ``RUNNING`` in its row, like one whose worker was killed;
a message it was delivering is delivered again by the stall sweep with the same key
(``sunshine.notifications.tasks.requeue_stalled``). tests/test_faults_pg.py restarts PostgreSQL
under a running worker.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from django.db import InterfaceError, OperationalError, connections
from django_tasks_db.management.commands import db_worker as base

logger = logging.getLogger("sunshine.jobs.worker")

FIRST_PAUSE, MAX_PAUSE = 1.0, 30.0


class ResilientWorker(base.Worker):
    def run(self) -> None:
        pause, last_outage = FIRST_PAUSE, 0.0
        while True:
            try:
                super().run()
                return
            except (OperationalError, InterfaceError) as exc:
                if not self.running:  # asked to stop: do not wait for the database
                    raise
                now = time.monotonic()
                if now - last_outage > 2 * MAX_PAUSE:  # a new outage: start with a short pause
                    pause = FIRST_PAUSE
                last_outage = now
                logger.warning(
                    "database unavailable (%s); worker %s polls again in %.0f s",
                    str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__,
                    self.worker_id,
                    pause,
                )
                with contextlib.suppress(Exception):
                    connections.close_all()
                self.running_task = False
                self.startup_delay = False
                time.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE)


class Command(base.Command):
    help = "Run a database background worker that outlives a database outage (django-tasks-db's db_worker)"

    def handle(self, *args: Any, **options: Any) -> None:
        original = base.Worker
        setattr(base, "Worker", ResilientWorker)  # noqa: B010 (the base command builds base.Worker)
        try:
            super().handle(*args, **options)
        finally:
            setattr(base, "Worker", original)  # noqa: B010
