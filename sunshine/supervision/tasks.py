"""Background tasks of supervision (django-tasks); the scheduler enqueues them (schedule.py)."""

from __future__ import annotations

from django_tasks import task


@task()
def sweep_deadlines() -> int:
    """One sweep: fire every due rung once; returns how many fired."""
    from sunshine.supervision.services import sweep

    return len(sweep())


@task()
def send_supervision_digests() -> int:
    """The weekly digest of supervised projects to each supervising leader (once per week)."""
    from sunshine.supervision.services import send_digests

    return sum(send_digests().values())
