"""Administrators' actions on background jobs."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from sunshine.accounts.models import User
from sunshine.errors import Conflict, NotFound
from sunshine.jobs.models import TaskRetry


def retry_task(result_id: str, actor: User | None) -> str:
    """Enqueue a failed task again with the same arguments (a retried task starts again at
    attempt 1). Returns the new task id. Tasks are idempotent, so a retry of work that partly
    happened is safe; a task retried once more raises ``Conflict``."""
    try:
        failed = DBTaskResult.objects.filter(pk=uuid.UUID(str(result_id))).first()
    except ValueError:  # not a UUID
        failed = None
    if failed is None:
        raise NotFound(_("No such job."), "job_not_found")
    if failed.status != TaskResultStatus.FAILED:
        raise Conflict(_("Only a failed job can be retried."), "job_not_failed")
    try:
        task = import_string(failed.task_path)
    except ImportError:
        raise Conflict(_("This job's task no longer exists."), "job_task_missing") from None
    kwargs = {k: v for k, v in failed.args_kwargs.get("kwargs", {}).items() if k != "attempt"}
    try:
        with transaction.atomic():
            record = TaskRetry.objects.create(original_id=str(failed.pk), new_id="", actor=actor, at=timezone.now())
            result = task.using(queue_name=failed.queue_name, priority=failed.priority).enqueue(
                *failed.args_kwargs.get("args", []), **kwargs
            )
            record.new_id = str(result.id)
            record.save(update_fields=["new_id"])
    except IntegrityError:
        raise Conflict(_("This job was already retried."), "job_already_retried") from None
    return str(result.id)
