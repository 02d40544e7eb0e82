"""Run ready tasks of the database backend in this process: what ``db_worker --batch`` does, for
tests and for commands that want the queue drained now. Returns the number of tasks run.

The worker's polls (reactions, due messages: ``sunshine.jobs.polls``) are not run here; call
``polls.drain_all()`` for them."""

from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def run_ready(max_tasks: int = 1000, backend: str = "default") -> int:
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name=backend,
        startup_delay=False,
        max_tasks=None,
        worker_id="in-process",
        excluded_queue_names=[],
    )
    ran = 0
    while ran < max_tasks:
        result = DBTaskResult.objects.ready().filter(backend_name=backend).first()
        if result is None:
            return ran
        result.claim(worker.worker_id)
        worker.run_task(result)
        ran += 1
    return ran
