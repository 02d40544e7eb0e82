"""Rendered parts of staff pages kept per version (the application page's body, the work queue's
list), as the public look-up keeps its answers (``sunshine/applications/progress.py``).

A caller names everything the part shows in its key: the application's audit head (every change
of an application is an event that moves it, in the same transaction: stages, pauses, documents,
supervision, reassignment), or a fingerprint of the audit heads of every application a list
counts; the staff member and their role; the day; the working-day calendar's version; the
language. A new version is a new key, so a change shows at once. What a key cannot name (a staff
member's renamed display name, a new customer manager in a choice list) is bounded by the age
of an entry: one is never served after ``caching.SECONDS`` (30 s), the contract of every
per-process cache of this project (``sunshine/caching.py``).

The CSRF token differs per request: parts are rendered with ``PLACEHOLDER`` as the token and
``serve()`` puts the request's own in. At most ``settings.SUNSHINE_PAGE_CACHE_SIZE`` parts are
kept per process (oldest out; 0 turns keeping off). docs/bench.md says what it saves.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils.safestring import SafeString, mark_safe

from sunshine import caching

# Rendered where {% csrf_token %} puts the token (letters only: HTML escaping keeps it as it is).
PLACEHOLDER = "keptcsrftokenplaceholderq9x7w2"

_parts: OrderedDict[Hashable, tuple[float, str]] = OrderedDict()
_lock = threading.Lock()


def part(key: Hashable, build: Callable[[], str]) -> str:
    """The part kept under ``key`` (younger than ``caching.SECONDS``), else ``build()``'s, kept."""
    size = settings.SUNSHINE_PAGE_CACHE_SIZE
    now = time.monotonic()
    with _lock:
        hit = _parts.get(key)
        if hit is not None and now - hit[0] < caching.SECONDS:
            _parts.move_to_end(key)
            return hit[1]
    value = build()
    if size > 0:
        with _lock:
            _parts[key] = (now, value)
            _parts.move_to_end(key)
            while len(_parts) > size:
                _parts.popitem(last=False)
    return value


def serve(request: HttpRequest, html: str) -> SafeString:
    """A kept part with this request's CSRF token in place of ``PLACEHOLDER``."""
    if PLACEHOLDER in html:
        html = html.replace(PLACEHOLDER, get_token(request))
    return mark_safe(html)  # noqa: S308 (rendered by our templates, escaped there)


@caching.register
def forget() -> None:
    """Forget every kept part of this process (tests)."""
    with _lock:
        _parts.clear()
