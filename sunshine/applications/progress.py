"""The public progress look-up's reads: one query finds an application by its number and tells
which version of its answer is due; the answer itself is built once per version and kept.

The version of an answer (``version()``, also its ETag) is a fingerprint of everything the answer
depends on:

- the application as it stands: the head of its audit chain (``audit_head`` moves with every event,
  and every change of an application is recorded as an event in the same transaction), plus its
  status and stage and its customer manager's name and work phone (a staff record edited without
  an event on the application);
- the day (clocks, "overdue" and the days used move with it: ``timezone.localdate()``);
- the working-day calendar in force (``workdays.current().exceptions.version``: an edited
  holiday moves deadlines);
- the language of the answer (labels and stage names).

A changed application, a new day, a calendar edit or another language is a new version and so a
new answer; an unchanged one is served from this process's memory (``answer()``) without reading
the stages, pauses or process again. Entries are never invalidated, only replaced by newer
versions and evicted oldest first beyond ``settings.SUNSHINE_LOOKUP_CACHE_SIZE`` answers (0 turns
the cache off).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from django.conf import settings
from django.db import connections, router

from sunshine import caching
from sunshine.accounts.models import User
from sunshine.applications.models import Application
from sunshine.calendar import workdays
from sunshine.pii.crypto import decrypt

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Found:
    """An application as the look-up first reads it (one row)."""

    id: int
    number: str
    phone: str
    # What the answer shows of the row and may change: the audit head, status, stage, manager.
    state: str

    def phone_ends_with(self, tail: str) -> bool:
        return len(tail) == 4 and tail.isdigit() and self.phone.endswith(tail)


_FIND_SQL = (
    "SELECT a.id, a.number, a.contact_phone, a.audit_head, a.status, a.current_stage,"
    " u.last_name, u.first_name, u.username, u.work_phone"
    " FROM {application} a LEFT JOIN {user} u ON u.id = a.customer_manager_id"
    " WHERE a.number = %s"
)


def find(number: str) -> Found | None:
    """The application with this number (as given: callers normalise it), in one query."""
    alias = router.db_for_read(Application)
    sql = _FIND_SQL.format(application=Application._meta.db_table, user=User._meta.db_table)
    with connections[alias].cursor() as cur:
        cur.execute(sql, [number])
        row = cur.fetchone()
    if row is None:
        return None
    id_, number, phone, *state = row
    return Found(id_, number, decrypt(phone), "\x1f".join("" if v is None else str(v) for v in state))


def application(found: Found) -> Application:
    """The whole application (with its manager and process) to build an answer from."""
    return Application.objects.select_related("customer_manager", "process").get(pk=found.id)


def version(found: Found, today: date, language: str) -> str:
    """The version (and ETag) of the application's answer on ``today`` in ``language``."""
    calendar = workdays.current().exceptions.version
    text = "\x1e".join([str(found.id), found.state, today.isoformat(), calendar, language])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


_answers: OrderedDict[tuple[str, str], object] = OrderedDict()
_lock = threading.Lock()


def answer(kind: str, version_: str, build: Callable[[], T]) -> T:
    """The answer of ``kind`` (``api``: the JSON body; ``page``: the page's context) for this
    version, built by ``build()`` the first time. Callers treat it as read-only (shared by the
    threads of the process)."""
    size = settings.SUNSHINE_LOOKUP_CACHE_SIZE
    key = (kind, version_)
    with _lock:
        hit = _answers.get(key)
        if hit is not None:
            _answers.move_to_end(key)
            return hit  # type: ignore[return-value]
    value = build()
    if size > 0:
        with _lock:
            _answers[key] = value
            while len(_answers) > size:
                _answers.popitem(last=False)
    return value


@caching.register
def forget() -> None:
    """Forget every kept answer of this process (tests)."""
    with _lock:
        _answers.clear()
