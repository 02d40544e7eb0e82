"""The transactional outbox: the reactions to a change run after it commits, exactly once.

``events.record`` writes, in the transaction of the change, one ``Outbox`` entry naming the
change's events and the stage rows it created or updated (no entry when no reaction is interested,
see ``reactions.py``). The change commits its rows, its events, the audit head and the manager's
open count together with that entry; the reactions (rung moments, notices, follow-up tasks) run
later:

- **worker mode** (``SUNSHINE_REACTIONS = "worker"``, production): the job workers
  (``manage.py db_worker``) call ``drain`` whenever they have no task to run. A batch of due
  entries is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has one writer
  at a time and no row locks), their events and stages are read, and every reaction runs for each
  entry in a savepoint; the entries whose reactions all succeeded are deleted in the same
  transaction. A worker killed half-way rolls the whole batch back and releases the locks: another
  worker does it again, once.
- **eager mode** (``"eager"``, tests and the single-process trial): the same code runs at once,
  inside the change's transaction, on the objects in hand (no re-read).

A reaction that raises is rolled back to its savepoint and the others are run one by one, each
writing a ``ReactionDone`` mark with its effects in its own savepoint; the entry stays, with the
error, due again after a back-off (``SUNSHINE_REACTION_BACKOFF_SECONDS``, doubling, at most an
hour), and only the reactions without a mark run on the next attempt. Failing entries are listed
on the jobs page. ``manage.py drain_reactions`` runs every pending entry now.

The deadline sweep drains the due entries before it selects the rungs to fire, so a worker that
is behind never makes a rung late or missed (docs/engine.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from sunshine.applications import writes
from sunshine.applications.models import Event, Outbox, ReactionDone, StageInstance
from sunshine.applications.reactions import Reaction, anyone_interested, interested, reactions
from sunshine.observe import metrics

log = logging.getLogger("sunshine.reactions")

_in_change: ContextVar[bool] = ContextVar("sunshine_reactions_in_change", default=False)
MAX_BACKOFF = timedelta(hours=1)


def in_change() -> bool:
    """True while reactions run inside the transaction of the change they react to (eager mode)."""
    return _in_change.get()


def eager() -> bool:
    return getattr(settings, "SUNSHINE_REACTIONS", "eager") == "eager"


def entry_for(events: Sequence[Event], stages: Sequence[StageInstance]) -> Outbox | None:
    """The (unsaved) outbox entry of a change, None when nobody reacts to it. Its ``events`` and
    ``stages`` are filled with the keys when it is written (``writes.Batch.keys``)."""
    if not anyone_interested(events, stages):
        return None
    now = timezone.now()
    return writes.make(Outbox, {"created_at": now, "due_at": now})


def react(entry: Outbox, events: Sequence[Event], stages: Sequence[StageInstance]) -> None:
    """After the entry of a change was written (inside its transaction): in eager mode, run its
    reactions now, on the objects in hand."""
    if eager():
        token = _in_change.set(True)
        try:
            _run([(entry, list(events), [s for s in stages if s.pk is not None])], entry.created_at, done=set())
        finally:
            _in_change.reset(token)


def enqueue(events: Sequence[Event], stages: Sequence[StageInstance]) -> Outbox | None:
    """Write the outbox entry of a change (call inside its transaction, after its events and
    stages have their keys); in eager mode, run its reactions at once. Returns the entry, None
    when nobody reacts to this change."""
    entry = entry_for(events, stages)
    if entry is None:
        return None
    entry.events = [e.pk for e in events]
    entry.stages = [s.pk for s in stages if s.pk is not None]
    if writes.enabled():
        writes.insert_rows(Outbox, [entry])
    else:
        entry.save(force_insert=True)
    react(entry, events, stages)
    return entry


@dataclass
class Drained:
    entries: int = 0  # entries whose reactions are all done
    failed: int = 0  # entries left with an error, due again after a back-off
    errors: list[str] = field(default_factory=list)

    def __iadd__(self, other: Drained) -> Drained:
        self.entries += other.entries
        self.failed += other.failed
        self.errors += other.errors
        return self


def backoff(attempts: int) -> timedelta:
    base = float(getattr(settings, "SUNSHINE_REACTION_BACKOFF_SECONDS", 10))
    seconds: float = base * 2 ** max(0, attempts - 1)
    return min(MAX_BACKOFF, timedelta(seconds=seconds))


Item = tuple[Outbox, list[Event], list[StageInstance]]


def change_of(event: Event) -> int | None:
    """The outbox entry (its key) of the change that wrote ``event``, when a worker reacts to
    several changes at once (``drain``: one call of each reaction for the whole batch); None in
    eager mode, where a reaction is given one change. A reaction that treats a change's events
    together (notifications: an intake's own first completion is no notice) groups by it."""
    return getattr(event, "_outbox_entry", None)


def _union(
    items: Sequence[Item], path: str, fn: Reaction, done: set[tuple[int, str]]
) -> tuple[list[Event], list[StageInstance]]:
    """The events (oldest first) and stage rows (each once) of the entries of ``items`` that
    ``fn`` has to react to."""
    events: list[Event] = []
    stages: dict[int, StageInstance] = {}
    for entry, evs, sts in items:
        if (entry.pk, path) in done or not interested(fn, evs, sts):
            continue
        events.extend(evs)
        for s in sts:
            stages.setdefault(s.pk, s)
    events.sort(key=lambda e: e.pk)
    return events, list(stages.values())


def _run(batch: list[Item], now: datetime, done: set[tuple[int, str]]) -> Drained:
    """Run the reactions of ``batch`` (inside the caller's transaction); delete the finished entries.

    Set-based: the entries never tried before are reacted to together, each reaction called
    once with all their events and stages, in one savepoint (a reaction is set-based and
    convergent, docs/engine.md), so a batch of a hundred changes costs each reaction's few
    statements once, not a hundred times. If that fails, those entries are run one by one, each
    reaction in its own savepoint with its ``ReactionDone`` mark, so the failing ones stay behind
    alone. An entry that failed before runs on its own, as at its first failure: its reactions
    together, then one by one."""
    result = Drained()
    finished: list[int] = []
    fresh = [item for item in batch if not item[0].attempts]
    alone: list[tuple[Item, bool]] = [(item, True) for item in batch if item[0].attempts]
    marks = bool(alone)
    if len(fresh) == 1:
        alone.insert(0, (fresh[0], True))
    elif fresh:
        try:
            with transaction.atomic():
                for path, fn in reactions():
                    events, stages = _union(fresh, path, fn, done)
                    if events or stages:
                        fn(events, stages)
        except Exception:
            log.warning("reactions of %s outbox entries failed together; running them entry by entry", len(fresh))
            alone[:0] = [(item, False) for item in fresh]
        else:
            finished.extend(entry.pk for entry, _e, _s in fresh)
    for (entry, events, stages), together in alone:
        pending = [
            (path, fn) for path, fn in reactions() if (entry.pk, path) not in done and interested(fn, events, stages)
        ]
        if together:
            try:
                with transaction.atomic():
                    for _path, fn in pending:
                        fn(events, stages)
            except Exception:
                log.warning("reactions of outbox entry %s failed together; running them one by one", entry.pk)
            else:
                finished.append(entry.pk)
                continue
        marks = True
        errors: list[str] = []
        for path, fn in pending:
            try:
                with transaction.atomic():
                    fn(events, stages)
                    ReactionDone.objects.create(entry=entry, reaction=path, at=now)
            except Exception as exc:
                log.exception("reaction %s of outbox entry %s failed", path, entry.pk)
                errors.append(f"{path}: {type(exc).__name__}: {exc}")
        if errors:
            entry.attempts += 1
            entry.due_at = now + backoff(entry.attempts)
            entry.last_error = "\n".join(errors)[:4000]
            Outbox.objects.filter(pk=entry.pk).update(
                attempts=entry.attempts, due_at=entry.due_at, last_error=entry.last_error
            )
            result.failed += 1
            result.errors += errors
        else:
            finished.append(entry.pk)
    if finished:
        _delete(finished, marks=marks)
        result.entries += len(finished)
    metrics.REACTION_ENTRIES.labels("done").inc(len(finished))
    if result.failed:
        metrics.REACTION_ENTRIES.labels("failed").inc(result.failed)
    return result


def _delete(pks: list[int], *, marks: bool = True) -> None:
    """Delete finished entries and (``marks``: some may have them) their marks: plain DELETEs,
    no cascade collection."""
    params = ", ".join(["%s"] * len(pks))
    tables = ((ReactionDone._meta.db_table, "entry_id"),) if marks else ()
    with connection.cursor() as cursor:
        for table, column in (*tables, (Outbox._meta.db_table, "id")):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)} WHERE {column} IN ({params})", pks)  # noqa: S608


def _claim(now: datetime, after: int, size: int, due_only: bool, wait: bool) -> list[Outbox]:
    qs = Outbox.objects.filter(pk__gt=after).order_by("pk")
    if due_only:
        qs = qs.filter(due_at__lte=now)
    # wait: the sweep waits for the entries a worker holds (they are gone when it commits)
    return list(qs.select_for_update(skip_locked=not wait)[:size])


def _load(entries: list[Outbox]) -> tuple[list[Item], set[tuple[int, str]]]:
    event_ids = {pk for e in entries for pk in e.events}
    stage_ids = {pk for e in entries for pk in e.stages}
    events = (
        {e.pk: e for e in Event.objects.filter(pk__in=event_ids).select_related("application__customer_manager")}
        if event_ids
        else {}
    )
    stages = (
        {s.pk: s for s in StageInstance.objects.filter(pk__in=stage_ids).select_related("template")}
        if stage_ids
        else {}
    )
    done = (
        {
            (entry_id, reaction)
            for entry_id, reaction in ReactionDone.objects.filter(entry__in=[e.pk for e in entries]).values_list(
                "entry_id", "reaction"
            )
        }
        if any(e.attempts for e in entries)
        else set()
    )
    batch = []
    for entry in entries:
        mine = [events[pk] for pk in sorted(entry.events) if pk in events]
        for e in mine:
            e._outbox_entry = entry.pk  # type: ignore[attr-defined]  # change_of()
        batch.append((entry, mine, [stages[pk] for pk in entry.stages if pk in stages]))
    return batch, done


def drain(
    *,
    batch_size: int | None = None,
    now: datetime | None = None,
    due_only: bool = True,
    batches: int | None = None,
    wait: bool = False,
) -> Drained:
    """Run the reactions of the pending entries (the due ones, or all with ``due_only=False``),
    oldest first, one transaction per batch; stops after ``batches`` batches when given. Entries
    locked by another worker are skipped (``wait``: waited for); an entry that fails is not tried
    again in this call."""
    size = batch_size or int(getattr(settings, "SUNSHINE_REACTION_BATCH", 100))
    total = Drained()
    after, rounds = 0, 0
    while batches is None or rounds < batches:
        rounds += 1
        at = now or timezone.now()
        with transaction.atomic():
            entries = _claim(at, after, size, due_only, wait)
            if not entries:
                break
            after = entries[-1].pk
            batch, done = _load(entries)
            total += _run(batch, at, done)
        if len(entries) < size:
            break
    return total


def pending() -> int:
    return Outbox.objects.count()


def poll() -> int:
    """One batch for a worker with nothing else to do; returns the entries handled."""
    drained = drain(batches=1)
    return drained.entries + drained.failed


@dataclass(frozen=True)
class Failing:
    """An entry whose reactions failed at least once (the jobs page)."""

    pk: int
    created_at: datetime
    attempts: int
    due_at: datetime
    last_error: str
    numbers: list[str]


def failing(limit: int = 50) -> tuple[int, list[Failing]]:
    """(pending entries, the failing ones, most attempts first): three queries."""
    rows = list(Outbox.objects.filter(attempts__gt=0).order_by("-attempts", "pk")[:limit])
    first = {e.pk: e.events[0] for e in rows if e.events}
    numbers = dict(Event.objects.filter(pk__in=first.values()).values_list("pk", "application__number"))
    return Outbox.objects.count(), [
        Failing(
            e.pk,
            e.created_at,
            e.attempts,
            e.due_at,
            e.last_error,
            [numbers[first[e.pk]]] if e.pk in first and first[e.pk] in numbers else [],
        )
        for e in rows
    ]
