"""The request id and what a log line may say about the request being served.

One id per HTTP request (taken from a well-formed ``X-Request-ID`` sent by nginx, else made
here), answered in the ``X-Request-ID`` header, written on every log line of the request, stored
with every job the request enqueues (``sunshine/jobs/backend.py``) and set again while a worker
runs that job, so one search for the id finds the request and everything it caused.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

# nginx's $request_id is 32 hex digits; accept any short token of safe characters, nothing else
# (a header is client input: it must not smuggle text into log lines).
_VALID = re.compile(r"[A-Za-z0-9._-]{8,64}")


@dataclass
class Scope:
    """What is known about the work in progress: a request or a job."""

    request_id: str
    route: str = ""
    # the request being served (its user is read lazily, only if authentication already ran)
    request: Any = None
    job: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_scope: ContextVar[Scope | None] = ContextVar("sunshine_scope", default=None)


def new_request_id(offered: str | None = None) -> str:
    if offered and _VALID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def current() -> Scope | None:
    return _scope.get()


def request_id() -> str | None:
    scope = _scope.get()
    return scope.request_id if scope else None


def enter(scope: Scope) -> Token[Scope | None]:
    return _scope.set(scope)


def leave(token: Token[Scope | None]) -> None:
    _scope.reset(token)
