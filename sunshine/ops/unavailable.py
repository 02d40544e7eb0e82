"""The database is briefly unavailable (restarted, failed over, out of connections): answer ``503``
with ``Retry-After`` instead of a ``500``, so a client retries the same request (with the same
``Idempotency-Key``) instead of giving up or reporting a bug.

- API (``/api/``): the contract's error body ``{"code": "unavailable", "message": ...}``.
- Pages: a short page in the user's language (Chinese by default) that needs no database.

Django drops the broken persistent connection at the end of the request (it saw the error) and
checks a reused one before the next request (``CONN_HEALTH_CHECKS``), so the retry reconnects.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template.loader import render_to_string
from django.views import defaults

from sunshine.api.errors import default_message, error_response

logger = logging.getLogger("sunshine.ops")

# Seconds a client should wait before retrying (a PostgreSQL restart takes a few seconds).
RETRY_AFTER_SECONDS = 3

# OperationalError: cannot connect, the server closed the connection, a restart or crash
# terminated the session; InterfaceError: the connection object was already closed.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


def is_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, UNAVAILABLE_ERRORS)


def unavailable_response(request: HttpRequest, exc: BaseException | None = None) -> HttpResponse:
    logger.warning("database unavailable for %s %s: %s", request.method, request.path, str(exc).strip()[:300])
    if request.path.startswith("/api/"):
        code, message = default_message(503)
        return error_response(503, code, message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    # Rendered without the request: the context processors and the user would query the database.
    html = render_to_string("ops/unavailable.html", {"SUNSHINE_HOTLINE": settings.SUNSHINE_HOTLINE})
    response = HttpResponse(html, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Turns a database outage raised by a view into ``503`` (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_unavailable(exception):
            return unavailable_response(request, exception)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: an outage raised outside a view (in a middleware: the session, the user,
    the sign-in lockout) is still a ``503``; anything else is Django's ``500``."""
    exc = sys.exc_info()[1]
    if is_unavailable(exc):
        return unavailable_response(request, exc)
    response = defaults.server_error(request)
    return response if isinstance(response, HttpResponse) else HttpResponseServerError()
