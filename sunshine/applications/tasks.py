"""Background jobs of the case engine (django-tasks); the schedule is in ``schedule.py``."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from sunshine.applications.audit import publish_digest


@task()
def publish_yesterdays_audit_digest() -> str:
    digest = publish_digest(timezone.localdate() - timedelta(days=1))
    return f"{digest.day} {digest.digest}"
