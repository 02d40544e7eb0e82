"""Log formats: JSON lines in production, readable plain lines in a trial (``LOG_FORMAT``).

Every record gets the fields of the work in progress (``context.Scope``): ``request_id``,
``route``, ``user_id`` (a number, never a name), ``job``; the request line of
``sunshine.request`` adds ``method``, ``path``, ``status`` and ``duration_ms``. Nothing else of
the request is written: no query string, no body, no header, so neither a phone, an ID number
nor a name reaches the log from here (tests/test_observe_logs.py). Messages of the code itself
mask what they mention (``SMS to 138****8000``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from django.utils.functional import SimpleLazyObject, empty

from sunshine.observe import context

# Fields a caller may pass with ``extra=`` that the JSON line keeps (anything else is dropped:
# an ``extra`` is not a way to log a payload).
EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "db_queries", "task", "task_id", "outcome")


def user_id_of(request: Any) -> int | None:
    """The signed-in user's id if authentication already ran for this request; never triggers
    the session or token look-up itself (a log line costs no query)."""
    if request is None:
        return None
    user = getattr(request, "_cached_user", None)  # AuthenticationMiddleware's lazy user, once read
    if user is None:
        user = request.__dict__.get("user")  # the API's token auth assigns it directly
        if isinstance(user, SimpleLazyObject):
            wrapped = user._wrapped
            user = None if wrapped is empty else wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    pk = getattr(user, "pk", None)
    return pk if isinstance(pk, int) else None


class ContextFilter(logging.Filter):
    """Adds the scope's fields to every record (attach it to the handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scope = context.current()
        if scope is None:
            record.request_id = getattr(record, "request_id", None)
            record.route = getattr(record, "route", None)
            record.user_id = getattr(record, "user_id", None)
            record.job = getattr(record, "job", None)
            return True
        record.request_id = scope.request_id or None
        record.route = getattr(record, "route", None) or scope.route or None
        if getattr(record, "user_id", None) is None:
            record.user_id = user_id_of(scope.request)
        record.job = scope.job or None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message and the scope."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "route", "user_id", "job"):
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """``2026-12-04 09:30:01 INFO sunshine.request [3f2a…] GET /workbench/ 200 (12 ms)``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(scope)s %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.scope = f" [{rid[:8]}]" if rid else ""
        return super().format(record)


def logging_config(fmt: str, level: str) -> dict[str, Any]:
    """The ``LOGGING`` setting for ``fmt`` (``json`` or ``plain``)."""
    if fmt not in {"json", "plain"}:
        raise ValueError(f"LOG_FORMAT must be json or plain, got {fmt!r}")
    formatter = {"()": f"{__name__}.{'JsonFormatter' if fmt == 'json' else 'PlainFormatter'}"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": f"{__name__}.ContextFilter"}},
        "formatters": {"default": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default", "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # Django's own request lines duplicate sunshine.request's (4xx/5xx warnings): keep
            # its errors (tracebacks) only.
            "django.request": {"level": "ERROR"},
        },
    }
