"""``manage.py db_worker``: django-tasks-db's worker, made to outlive a database outage.

django-tasks-db's own command exits with a traceback when the database cannot be reached (a
restart, a crash, a failover): under ``runall`` that stops the whole installation, under systemd
the unit restarts it after ``RestartSec``. This command (Django finds it first: ``sunshine.jobs`` is
listed before ``django_tasks_db`` in ``INSTALLED_APPS``) takes the same options, logs the outage,
drops the connection, waits (1 s, doubling up to 30 s) and goes on polling.

Whenever no task is ready, the worker runs one round of each poll named by
``settings.SUNSHINE_WORKER_POLLS`` (the reactions of the outbox, due messages) before it sleeps,
and goes on without sleeping while a poll finds work (``sunshine.jobs.polls``).

A task interrupted by the outage stays ``RUNNING`` in its row, like one whose worker was killed;
a message it was delivering is delivered again after the stall time with the same key
(``sunshine.notifications.tasks``). tests/test_faults_pg.py restarts PostgreSQL under a running
worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from typing import Any

from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker as base
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from sunshine.jobs.polls import poll_all

logger = logging.getLogger("sunshine.jobs.worker")

FIRST_PAUSE, MAX_PAUSE = 1.0, 30.0


class ResilientWorker(base.Worker):
    def _loop(self) -> None:
        """django-tasks-db's loop, with the polls where it would sleep."""
        if self.startup_delay and self.interval:
            time.sleep(random.random())
        while self.running:
            close_old_connections()
            tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
            if not self.process_all_queues:
                tasks = tasks.filter(queue_name__in=self.queue_names)
            if self.excluded_queue_names:
                tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
            retrieved = True
            with exclusive_transaction(tasks.db):
                try:
                    task_result = tasks.get_locked()
                    if task_result is not None:
                        task_result.claim(self.worker_id)
                except OperationalError as e:
                    if not is_locked_database_exception(e):
                        raise
                    task_result, retrieved = None, False
            if task_result is not None:
                self.run_task(task_result)
            else:
                self.running_task = True  # a signal lets the poll's transaction finish
                try:
                    polled = poll_all()
                finally:
                    self.running_task = False
                if polled:
                    continue
            if self.batch and retrieved and task_result is None:
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                return
            close_old_connections()
            if self.running and not task_result:
                time.sleep(self.interval)

    def run(self) -> None:
        pause, last_outage = FIRST_PAUSE, 0.0
        while True:
            try:
                self._loop()
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

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=int(os.environ.get("WORKER_METRICS_PORT") or 0),
            help="Serve this worker's Prometheus figures on this port (WORKER_METRICS_PORT; 0: off)",
        )
        parser.add_argument(
            "--metrics-addr",
            default=os.environ.get("WORKER_METRICS_ADDR", "127.0.0.1"),
            help="Address of the figures' port (WORKER_METRICS_ADDR; default loopback)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port, addr = options.pop("metrics_port"), options.pop("metrics_addr")
        # With --reload the worker runs in a child process: serve from there, not from the parent.
        if port and (not options.get("reload") or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true"):
            from sunshine.observe import metrics

            metrics.serve(port, addr)
            logger.info("worker figures at http://%s:%s/metrics", addr, port)
        original = base.Worker
        setattr(base, "Worker", ResilientWorker)  # noqa: B010 (the base command builds base.Worker)
        try:
            super().handle(*args, **options)
        finally:
            setattr(base, "Worker", original)  # noqa: B010
