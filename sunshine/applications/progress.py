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

A shared answer (``answer(..., shared=True)``: the API's JSON body) is also kept in the cache the
web processes share (Redis in production; not the trial's database cache), for ``SHARED_SECONDS``:
a version is built once for all the processes, and a process that has not seen it yet takes it
from there (one ``GET``) and keeps it in its own memory. The shared key names the version and the
answer's format (the caller's ``kind``), so a release that changes the body never reads an older
one.

The phone ending is compared without decrypting the phone on every request: the last four digits
of a stored phone are kept by this process under its stored (encrypted) form (``_tails``, at most
as many as answers), so a changed phone, which is a new ciphertext, is decrypted afresh. Nothing
of the phone leaves the process.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import TypeVar

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.db import DatabaseCache
from django.db import connection, connections, router

from sunshine import caching
from sunshine.accounts.models import User
from sunshine.applications.models import Application, Pause, StageInstance
from sunshine.calendar import workdays
from sunshine.pii.crypto import decrypt
from sunshine.processes.models import ProcessTemplate

T = TypeVar("T")


SHARED_SECONDS = 3600  # a shared answer's life in the shared cache (its day is in its key anyway)


@dataclass(frozen=True, slots=True)
class Found:
    """An application as the look-up first reads it (one row)."""

    id: int
    number: str
    sealed_phone: str  # the contact phone as stored (encrypted: sunshine.pii)
    # What the answer shows of the row and may change: the audit head, status, stage, manager.
    state: str

    @property
    def phone(self) -> str:
        return decrypt(self.sealed_phone)

    def phone_ends_with(self, tail: str) -> bool:
        return len(tail) == 4 and tail.isdigit() and _tail(self.sealed_phone) == tail


_lock = threading.Lock()
_tails: dict[str, str] = {}  # stored phone → its last four characters (at most the answers' size)


def _tail(sealed: str) -> str:
    """The last four characters of the phone stored as ``sealed``, decrypted once per process."""
    tail = _tails.get(sealed)
    if tail is None:
        tail = decrypt(sealed)[-4:]
        size = settings.SUNSHINE_LOOKUP_CACHE_SIZE
        if size > 0:
            with _lock:
                while len(_tails) >= size:
                    del _tails[next(iter(_tails))]  # oldest first (insertion order)
                _tails[sealed] = tail
    return tail


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
    return Found(id_, number, phone or "", "\x1f".join("" if v is None else str(v) for v in state))


def application(found: Found) -> Application:
    """The whole application (with its manager and process)."""
    return Application.objects.select_related("customer_manager", "process").get(pk=found.id)


# The tables ``parts()`` reads, each under its alias in the statement.
_SHAPES = ((Application, "a"), (ProcessTemplate, "r"), (User, "u"), (StageInstance, "s"), (Pause, "p"))


@cache
def _parts_sql() -> str:
    from sunshine.applications.writes import _reader

    qn = connection.ops.quote_name
    cols = ", ".join(_reader(model, alias)[0] for model, alias in _SHAPES)
    app, process, user, stage, pause = (qn(model._meta.db_table) for model, _alias in _SHAPES)
    return (
        f"SELECT {cols} FROM {app} a JOIN {process} r ON r.id = a.process_id"  # noqa: S608
        f" LEFT JOIN {user} u ON u.id = a.customer_manager_id"
        f" LEFT JOIN {stage} s ON s.application_id = a.id"
        f" LEFT JOIN {pause} p ON p.stage_id = s.id AND p.application_id = a.id"
        " WHERE a.id = %s ORDER BY s.seq, p.started_at, p.id"
    )


def parts(found: Found) -> tuple[Application, list[StageInstance], dict[int, list[Pause]]]:
    """What an answer is built from, in one statement: the application with its process and
    customer manager, its stages in timeline order (their templates are the process's, kept in
    memory: ``writes.templates``) and each stage's pauses in the order they started; the same
    objects as ``application()`` and ``selectors.stage_rows``' two queries give, without the ORM's
    compilation of three queries (tests/test_lookup_cache.py compares the answers)."""
    from sunshine.applications.writes import _build, _reader, _templates_of

    alias = router.db_for_read(Application)
    conn = connections[alias]
    with conn.cursor() as cur:
        cur.execute(_parts_sql(), [found.id])
        rows = cur.fetchall()
    if not rows:
        raise Application.DoesNotExist(f"no application {found.id}")
    widths = [len(_reader(model, table)[1]) for model, table in _SHAPES]
    edges = [sum(widths[:i]) for i in range(len(widths) + 1)]
    first = rows[0]
    app = _build(Application, "a", first[edges[0] : edges[1]], conn)
    app.process = _build(ProcessTemplate, "r", first[edges[1] : edges[2]], conn)
    manager = first[edges[2] : edges[3]]
    app.customer_manager = None if manager[0] is None else _build(User, "u", manager, conn)
    stages: list[StageInstance] = []
    pauses: dict[int, list[Pause]] = {}
    for row in rows:
        stage, pause = row[edges[3] : edges[4]], row[edges[4] : edges[5]]
        if stage[0] is None:  # no stages (never for an accepted application)
            break
        if not stages or stages[-1].pk != stage[0]:
            stages.append(_build(StageInstance, "s", stage, conn))
        if pause[0] is not None:
            pauses.setdefault(stage[0], []).append(_build(Pause, "p", pause, conn))
    templates = _templates_of(app.process_id, {s.template_id for s in stages})
    for s in stages:
        s.template = templates[s.template_id]
    return app, stages, pauses


def version(found: Found, today: date, language: str) -> str:
    """The version (and ETag) of the application's answer on ``today`` in ``language``."""
    calendar = workdays.current().exceptions.version
    text = "\x1e".join([str(found.id), found.state, today.isoformat(), calendar, language])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


_answers: OrderedDict[tuple[str, str], object] = OrderedDict()
_generation = [0]  # moved by forget(): the shared cache's entries of before are not read again


def _shared() -> BaseCache | None:
    """The cache the web processes share, unless it is the database's (a query per first look
    would cost about what it saves)."""
    cache = caches["default"]
    return None if isinstance(cache, DatabaseCache) else cache


def _keep(key: tuple[str, str], value: object, size: int) -> None:
    with _lock:
        _answers[key] = value
        while len(_answers) > size:
            _answers.popitem(last=False)


def answer(kind: str, version_: str, build: Callable[[], T], *, shared: bool = False) -> T:
    """The answer of ``kind`` (``api…``: the JSON body; ``page``: the page's context) for this
    version, built by ``build()`` the first time. Callers treat it as read-only (shared by the
    threads of the process). ``shared``: the answer is bytes, kept in the shared cache too, and
    taken from there when this process has not kept it yet."""
    size = settings.SUNSHINE_LOOKUP_CACHE_SIZE
    key = (kind, version_)
    with _lock:
        hit = _answers.get(key)
        if hit is not None:
            _answers.move_to_end(key)
            return hit  # type: ignore[return-value]
    if size <= 0:
        return build()
    cache = _shared() if shared else None
    name = f"sunshine:lookup:{_generation[0]}:{kind}:{version_}"
    if cache is not None:
        get_bytes = getattr(cache, "get_bytes", None)  # Redis: stored as they are (rediscache.py)
        got = get_bytes(name) if get_bytes is not None else cache.get(name)
        if isinstance(got, bytes):
            _keep(key, got, size)
            return got  # type: ignore[return-value]
    value = build()
    _keep(key, value, size)
    if cache is not None and isinstance(value, bytes):
        set_bytes = getattr(cache, "set_bytes", None)
        if set_bytes is not None:
            set_bytes(name, value, SHARED_SECONDS)
        else:
            cache.set(name, value, timeout=SHARED_SECONDS)
    return value


def forget_here() -> None:
    """Forget this process's kept answers and phone endings, as a new process starts (the
    shared cache's answers are still read: tests of a second process)."""
    with _lock:
        _answers.clear()
        _tails.clear()


@caching.register
def forget() -> None:
    """Forget every kept answer of this process and stop reading those of the shared cache (tests)."""
    with _lock:
        _answers.clear()
        _tails.clear()
        _generation[0] += 1
