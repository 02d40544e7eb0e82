"""The task backend: django-tasks-db's database backend, which also stores the id of the
request that enqueued a job (``sunshine/observe/context.py``) next to its arguments, so the
worker's log lines of that job carry the request's id (``sunshine/jobs/telemetry.py``).

The id rides in ``args_kwargs["request_id"]``: django-tasks reads only ``args`` and ``kwargs``
from that column, so the task's call is unchanged and no column or query is added.
"""

from __future__ import annotations

from typing import Any

from django_tasks_db import DatabaseBackend as BaseBackend
from django_tasks_db.compat import normalize_json
from django_tasks_db.models import DBTaskResult

from sunshine.observe import context


class DatabaseBackend(BaseBackend):
    def _task_to_db_task(self, task: Any, args: Any, kwargs: Any) -> DBTaskResult[Any, Any]:
        request_id = context.request_id()
        if not request_id:
            return super()._task_to_db_task(task, args, kwargs)
        # The parent's row, with the id next to the arguments (django-tasks-db 0.13).
        return DBTaskResult.objects.create(
            id=self._get_id(),
            args_kwargs={"args": normalize_json(args), "kwargs": normalize_json(kwargs), "request_id": request_id},
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after,
            backend_name=self.alias,
        )
