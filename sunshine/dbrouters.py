"""Reads that may go to a read replica, and the router that sends them there.

With ``DATABASE_REPLICA_URL`` set (``settings.SUNSHINE_READ_REPLICA`` names the alias), two kinds
of work read from the replica:

- the public portal's safe requests (GET/HEAD under ``settings.SUNSHINE_REPLICA_PATHS``: fee
  catalogue, contractors, statistics, open data, the public API), marked by
  ``ReplicaReadsMiddleware``;
- report generation (``replica_reads()`` around the computation in ``sunshine.reports``).

Everything else reads from the primary. Whatever the flag, a write goes to the primary, and so
does every read inside a transaction of the primary (a read-then-write must see the rows it
locks), and every read of the tables that carry session, sign-in and job state, which must never
lag. A replica a second behind is harmless for the marked pages: they show published,
aggregated or reference data. Without a replica the router routes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

_replica_reads: ContextVar[bool] = ContextVar("sunshine_replica_reads", default=False)

# Tables whose state must be current: sessions, sign-in lockouts and tokens, the job queue, the
# database cache (one-time codes, throttles).
PRIMARY_ONLY_APPS = frozenset(
    {"sessions", "axes", "accounts", "auth", "django_tasks_db", "jobs", "otp_totp", "django_cache"}
)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Within this block, reads outside a transaction may go to the read replica (when one is set)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def reading_from_replica() -> bool:
    return _replica_reads.get()


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        alias = settings.SUNSHINE_READ_REPLICA
        if not alias or not _replica_reads.get():
            return DEFAULT_DB_ALIAS
        if model._meta.app_label in PRIMARY_ONLY_APPS:
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        # Explicit: without it Django writes an object back to the database it was read from.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The replica holds the primary's rows: an object read from either may refer to the other.
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        # A replica receives the schema from the primary's WAL; never migrate it directly.
        return False if db in {"replica", settings.SUNSHINE_READ_REPLICA} else None


class ReplicaReadsMiddleware:
    """Marks the portal's safe public requests (``settings.SUNSHINE_REPLICA_PATHS``) as replica reads."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.SUNSHINE_READ_REPLICA
            and request.method in ("GET", "HEAD")
            and request.path.startswith(tuple(settings.SUNSHINE_REPLICA_PATHS))
        ):
            with replica_reads():
                return self.get_response(request)
        return self.get_response(request)
