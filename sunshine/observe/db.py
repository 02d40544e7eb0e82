"""A meter on every database query of every process: count and time per connection alias, and
the count per request (read by the request middleware through ``queries_so_far``).

Installed once per connection (``connection_created``) as a Django execute wrapper; its cost is
two clock reads and two metric updates per query, no allocation of the SQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.db.backends.signals import connection_created

from sunshine.observe import metrics

# Queries of the current request (a one-element list, so the wrapper mutates without a set()).
_request_queries: ContextVar[list[int] | None] = ContextVar("sunshine_request_queries", default=None)


class QueryMeter:
    def __init__(self, alias: str) -> None:
        self.count = metrics.DB_QUERIES.labels(alias)
        self.errors = metrics.DB_QUERY_ERRORS.labels(alias)
        self.duration = metrics.DB_DURATION.labels(alias)

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        except Exception:
            self.errors.inc()
            raise
        finally:
            self.duration.observe(time.perf_counter() - started)
            self.count.inc()
            counter = _request_queries.get()
            if counter is not None:
                counter[0] += 1


def _install(sender: Any, connection: Any, **kwargs: Any) -> None:
    if not any(isinstance(w, QueryMeter) for w in connection.execute_wrappers):
        connection.execute_wrappers.append(QueryMeter(connection.alias))


def connect() -> None:
    connection_created.connect(_install, dispatch_uid="sunshine.observe.db")


def start_request() -> list[int]:
    counter = [0]
    _request_queries.set(counter)
    return counter


def end_request() -> None:
    _request_queries.set(None)
