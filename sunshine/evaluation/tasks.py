"""Background jobs of the evaluation app (django-tasks); the schedule is in ``schedule.py``."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from sunshine.evaluation.models import EvaluationSnapshot
from sunshine.evaluation.periods import period_containing
from sunshine.evaluation.services import freeze


def freeze_last_periods_now() -> list[str]:
    """Freeze last month (and last quarter on the first day of a quarter) unless already frozen;
    returns the periods frozen. Idempotent: a rerun the same day freezes nothing new."""
    yesterday = timezone.localdate() - timedelta(days=1)
    frozen = []
    kinds = ["month"] + (["quarter"] if yesterday.month in (3, 6, 9, 12) else [])
    for kind in kinds:
        period = period_containing(yesterday, kind)
        if not EvaluationSnapshot.objects.filter(period=period.code).exists():
            frozen.append(freeze(period, reason="automatic").period)
    return frozen


@task()
def freeze_last_periods() -> list[str]:
    return freeze_last_periods_now()
