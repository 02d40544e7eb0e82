"""Per-process caches of rows that are read on every intake or transition but rarely edited
(message templates, process templates in force, service areas).

The contract is the working-day calendar's (``sunshine/calendar/workdays.py``): a change made in
this process is seen at once (the owning app connects ``post_save``/``post_delete`` of the model
to ``Recent.changed``), a change made by another process within ``SECONDS``. Cached objects are
shared by the threads of a process: callers must treat them as read-only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from django.db import transaction

SECONDS = 30.0

V = TypeVar("V")

_ALL: list[Recent[Any]] = []
_CLEARERS: list[Callable[[], None]] = []


class Recent(Generic[V]):
    """Values by key, each reloaded when older than ``SECONDS``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._data: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
        _ALL.append(self)

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and now - hit[0] < SECONDS:
            return hit[1]
        value = load()
        with self._lock:
            self._data[key] = (now, value)
        return value

    def clear(self, *args: Any, **kwargs: Any) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()

    def changed(self, *args: Any, **kwargs: Any) -> None:
        """Signal receiver for a change of the cached table: forget now and again when the
        transaction commits (a read by another thread meanwhile still saw the old rows)."""
        self.clear()
        transaction.on_commit(self.clear)


def clear_all() -> None:
    """Forget every cache of this process (tests call it between tests: a rolled-back edit sends
    no signal)."""
    for cache in _ALL:
        cache.clear()
    for clear in _CLEARERS:
        clear()


def register(clear: Callable[[], None]) -> Callable[[], None]:
    """Have ``clear_all`` call ``clear`` too: for a per-process cache that is not a ``Recent``
    (token look-ups, rendered look-up answers). Returns ``clear`` (usable as a decorator)."""
    _CLEARERS.append(clear)
    return clear
