"""A database lease: at most one holder at a time, across processes and machines.

``hold(name, holder, seconds)`` acquires or renews with one conditional UPDATE (holder is me, or
the lease expired) and returns whether ``holder`` now holds it; the first call creates the row.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from sunshine.jobs.models import Lease


def hold(name: str, holder: str, seconds: float) -> bool:
    now = timezone.now()
    expires = now + timedelta(seconds=seconds)
    taken_over = Lease.objects.filter(name=name).filter(~Q(holder=holder), expires_at__lte=now)
    with transaction.atomic():
        if taken_over.update(holder=holder, expires_at=expires, acquired_at=now) == 1:
            return True
        if Lease.objects.filter(name=name, holder=holder).update(expires_at=expires) == 1:
            return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=holder, expires_at=expires, acquired_at=now)
        return True
    except IntegrityError:
        return False  # someone else holds it (or created it just now)


def holds(name: str, holder: str) -> bool:
    """Whether ``holder`` holds an unexpired lease now (read-only)."""
    return Lease.objects.filter(name=name, holder=holder, expires_at__gt=timezone.now()).exists()


def release(name: str, holder: str) -> None:
    """Give the lease up at a clean shutdown so another scheduler need not wait for expiry."""
    Lease.objects.filter(name=name, holder=holder).update(expires_at=timezone.now())
