"""Rendered staff pages kept per version (the application page, the work queue), as the public
look-up keeps its answers (``sunshine/applications/progress.py``).

A caller names everything the part shows in its key: the application's audit head (every change
of an application is an event that moves it, in the same transaction: stages, pauses, documents,
supervision, reassignment), or a fingerprint of the audit heads of every application a list
counts; the staff member and their role; the day; the working-day calendar's version; the
language; for a whole page its path. A new version is a new key, so a change shows at once. What
a key cannot name (a staff member's renamed display name, a new customer manager in a choice
list) is bounded by the age of an entry: one is never served after ``caching.SECONDS`` (30 s)
from the moment it was built, the contract of every per-process cache of this project
(``sunshine/caching.py``).

A part is kept in the process (at most ``settings.SUNSHINE_PAGE_CACHE_SIZE`` parts, oldest out;
0 turns keeping off) and in the shared cache (Redis in production; not the trial's database
cache), with the moment it was built: a version is rendered once for all the web processes,
not once per process, and no process serves it after 30 s from that moment.

What differs per request is put in when a part is served (``serve``, ``serve_page``): parts are
rendered with ``PLACEHOLDER`` as the CSRF token; a whole page (its frame too: header, navigation)
with ``INBOX`` as the inbox's unread count, which is counted for each request. A request with
messages to show (after a POST) gets its frame rendered afresh (``has_messages``).
docs/bench.md says what it saves.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.db import DatabaseCache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware import csrf
from django.utils.safestring import SafeString, mark_safe

from sunshine import caching
from sunshine.design.templatetags.ui import badge
from sunshine.notifications.models import ChannelKind

# Rendered where {% csrf_token %} puts the token (letters only: HTML escaping keeps it as it is).
PLACEHOLDER = "keptcsrftokenplaceholderq9x7w2"
# Rendered as the inbox's unread count in the navigation of a kept whole page.
INBOX = "keptinboxcountplaceholderm4v8k3"
_INBOX_BADGE = f' <span class="count">{INBOX}</span>'  # design/staff_nav.html, shown when > 0

_parts: OrderedDict[Hashable, tuple[float, str]] = OrderedDict()
_lock = threading.Lock()
_generation = [0]  # moved by forget(): the shared cache's entries of before are not read again


def _now() -> float:
    """Wall-clock seconds: an entry's age is compared across processes."""
    return time.time()


def _fresh(entry: Any, now: float) -> bool:
    return (
        isinstance(entry, tuple)
        and len(entry) == 2
        and isinstance(entry[0], float)
        and 0 <= now - entry[0] < caching.SECONDS
    )


def _shared() -> BaseCache | None:
    """The cache the web processes share, unless it is the database's (a query per miss would
    cost more than it saves)."""
    cache = caches["default"]
    return None if isinstance(cache, DatabaseCache) else cache


def _shared_key(key: Hashable) -> str:
    digest = hashlib.blake2b(repr((_generation[0], key)).encode(), digest_size=16).hexdigest()
    return f"sunshine:kept:{digest}"


def _remember(key: Hashable, entry: tuple[float, str]) -> None:
    with _lock:
        _parts[key] = entry
        _parts.move_to_end(key)
        while len(_parts) > settings.SUNSHINE_PAGE_CACHE_SIZE:
            _parts.popitem(last=False)


def lookup(key: Hashable) -> str | None:
    """The part kept under ``key`` (built less than ``caching.SECONDS`` ago), here or in the
    shared cache; None when there is none."""
    if settings.SUNSHINE_PAGE_CACHE_SIZE <= 0:
        return None
    now = _now()
    with _lock:
        hit = _parts.get(key)
        if hit is not None and _fresh(hit, now):
            _parts.move_to_end(key)
            return hit[1]
    shared = _shared()
    if shared is None:
        return None
    got = shared.get(_shared_key(key))
    if not _fresh(got, now):
        return None
    _remember(key, got)
    return str(got[1])


def part(key: Hashable, build: Callable[[], str]) -> str:
    """The part kept under ``key``, else ``build()``'s, kept (here and in the shared cache)."""
    value = lookup(key)
    if value is not None:
        return value
    now = _now()  # before building: the age counts from the reads the part is made of
    value = build()
    if settings.SUNSHINE_PAGE_CACHE_SIZE > 0:
        entry = (now, value)
        _remember(key, entry)
        shared = _shared()
        if shared is not None:
            shared.set(_shared_key(key), entry, timeout=math.ceil(caching.SECONDS))
    return value


# --- this request's CSRF token -------------------------------------------------------------------

_CHARS = csrf.CSRF_ALLOWED_CHARS
_INDEX = {c: i for i, c in enumerate(_CHARS)}
_UNBIASED = 256 - 256 % len(_CHARS)  # bytes at or above it are dropped: every index equally likely


def _mask(secret: str) -> str:
    """Django's ``csrf._mask_cipher_secret`` (a fresh random mask, then the secret shifted by it;
    ``csrf._unmask_cipher_token`` reads it back), its mask drawn from one ``os.urandom`` call
    instead of 32 ``SystemRandom.choice`` calls."""
    n = len(_CHARS)
    shifts: list[int] = []
    while len(shifts) < csrf.CSRF_SECRET_LENGTH:
        shifts.extend(b % n for b in os.urandom(2 * csrf.CSRF_SECRET_LENGTH) if b < _UNBIASED)
    shifts = shifts[: csrf.CSRF_SECRET_LENGTH]
    mask = "".join(_CHARS[m] for m in shifts)
    return mask + "".join(_CHARS[(_INDEX[c] + m) % n] for c, m in zip(secret, shifts, strict=True))


def get_token(request: HttpRequest) -> str:
    """``django.middleware.csrf.get_token``: the same token (this request's secret, masked afresh)
    and the same side effects (the cookie set or renewed by the middleware), masked cheaper."""
    if "CSRF_COOKIE" in request.META:
        secret = request.META["CSRF_COOKIE"]
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    else:
        secret = csrf._add_new_csrf_cookie(request)  # type: ignore[attr-defined]  # Django 5.2: the cookie to set
    return _mask(secret)


def serve(request: HttpRequest, html: str) -> SafeString:
    """A kept part with this request's CSRF token in place of ``PLACEHOLDER``."""
    if PLACEHOLDER in html:
        html = html.replace(PLACEHOLDER, get_token(request))
    return mark_safe(html)  # noqa: S308 (rendered by our templates, escaped there)


# --- whole pages ------------------------------------------------------------------------------------


def has_messages(request: HttpRequest) -> bool:
    """Messages wait to be shown (after a POST): the frame is rendered afresh around them. Counting
    them does not mark them shown."""
    return len(get_messages(request)) > 0


def frame_context(ctx: dict[str, Any]) -> dict[str, Any]:
    """``ctx`` for a whole page to keep: the frame's per-request values as placeholders, no
    messages (``has_messages`` sends a request that has some elsewhere)."""
    return {**ctx, "csrf_token": PLACEHOLDER, "inbox_unread": INBOX, "messages": ()}


# Message.objects.filter(user=…, channel=inbox, read_at__isnull=True).count() without the ORM's
# compilation (notifications.selectors.unread_count; tests/test_kept_pages.py compares them),
# counted to BADGE_MAX + 1 at most: the badge shows "99+" beyond (design/templatetags/ui.py).
_UNREAD_SQL = (
    "SELECT COUNT(*) FROM (SELECT 1 FROM notifications_message WHERE user_id = %s AND channel = %s"
    " AND read_at IS NULL LIMIT 100) AS unread"  # BADGE_MAX + 1 (tests/test_unread_badge.py)
)


def unread_count(user_id: int) -> int:
    """The user's unread inbox messages, up to ``BADGE_MAX + 1`` (what the badge needs)."""
    with connection.cursor() as cursor:
        cursor.execute(_UNREAD_SQL, [user_id, ChannelKind.INBOX.value])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def serve_page(request: HttpRequest, html: str, status: int = 200) -> HttpResponse:
    """A kept whole page with this request's CSRF token and the staff member's unread count."""
    html = html.replace(PLACEHOLDER, get_token(request))
    if INBOX in html:
        # counted with the user (workbench/desk/middleware.py), else here
        unread = getattr(request.user, "inbox_unread_read", None)
        if unread is None:
            unread = unread_count(int(request.user.pk or 0))
        text = badge(unread)
        html = html.replace(_INBOX_BADGE, f' <span class="count">{text}</span>' if text else "")
        html = html.replace(INBOX, text)  # should the badge's markup ever change
    return HttpResponse(html, status=status)


@caching.register
def forget() -> None:
    """Forget every kept part of this process and stop reading those of the shared cache (tests)."""
    with _lock:
        _parts.clear()
        _generation[0] += 1
