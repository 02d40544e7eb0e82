"""Health checks for load balancers, systemd and Prometheus (docs/deploy.md#health-checks).

- **Liveness** (``/healthz``): the process answers. Touches nothing: a database outage must not
  make a supervisor restart healthy web processes.
- **Readiness** (``/readyz``): this process can serve: the database answers ``SELECT 1``, no
  migration of the code is unapplied, and Redis answers ``PING`` when ``REDIS_URL`` is set.
  Otherwise ``503``, so a load balancer sends traffic elsewhere (a new release started before
  ``migrate`` is not ready).

The answer names each check and its state, nothing else: no host, no error text, no personal
data (the error goes to the log, once per change of state).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger("sunshine.ops.health")

# Seconds a Redis check may take (a blackholed cache must not hang the probe).
REDIS_TIMEOUT = 1.0
# While migrations are pending, they are looked for again at most this often (loading the
# migration graph takes a while); once all are applied, never again in this process.
MIGRATIONS_RECHECK_SECONDS = 5.0

_lock = threading.Lock()
_migrations_applied = False
_migrations_checked_at = 0.0
_migrations_last: bool | None = None
_redis_client: Any = None
_last_state: dict[str, str] = {}


def _database() -> bool:
    conn = connections[DEFAULT_DB_ALIAS]
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        _note("database", exc)
        # A broken persistent connection must not be reused by the next request of this thread.
        with contextlib.suppress(Exception):  # already broken
            conn.close()
        return False
    return True


def pending_migrations() -> list[str]:
    """``app.name`` of every migration of the code not applied to the database."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _backwards in plan]


def _migrations() -> bool:
    global _migrations_applied, _migrations_checked_at, _migrations_last
    if _migrations_applied:
        return True
    with _lock:
        now = time.monotonic()
        if _migrations_last is not None and now - _migrations_checked_at < MIGRATIONS_RECHECK_SECONDS:
            return _migrations_last
        try:
            pending = pending_migrations()
        except Exception as exc:
            _note("migrations", exc)
            pending = ["?"]
        _migrations_checked_at, _migrations_last = now, not pending
        if not pending:
            _migrations_applied = True
        elif _last_state.get("migrations") != "pending":
            logger.warning("%s migration(s) not applied, first %s: not ready", len(pending), pending[0])
            _last_state["migrations"] = "pending"
        return not pending


def _redis() -> bool:
    global _redis_client
    try:
        if _redis_client is None:
            import redis

            _redis_client = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
            )
        return bool(_redis_client.ping())
    except Exception as exc:
        _note("redis", exc)
        return False


def _note(check: str, exc: BaseException) -> None:
    if _last_state.get(check) != "down":
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        logger.warning("readiness: %s unavailable (%s)", check, first)
        _last_state[check] = "down"


def readiness() -> dict[str, str]:
    """Each check's state: ``ok``, ``unavailable``, ``pending`` or ``skipped``."""
    checks: dict[str, str] = {}
    db_ok = _database()
    checks["database"] = "ok" if db_ok else "unavailable"
    checks["migrations"] = ("ok" if _migrations() else "pending") if db_ok else "skipped"
    if settings.REDIS_URL:
        checks["redis"] = "ok" if _redis() else "unavailable"
    for name, state in checks.items():
        if state == "ok" and _last_state.get(name) not in (None, "ok"):
            logger.warning("readiness: %s is back", name)
        if state != "skipped":
            _last_state[name] = state if state != "unavailable" else "down"
    return checks


def reset() -> None:
    """Forget what this process learnt (tests)."""
    global _migrations_applied, _migrations_checked_at, _migrations_last, _redis_client
    _migrations_applied, _migrations_checked_at, _migrations_last, _redis_client = False, 0.0, None, None
    _last_state.clear()
