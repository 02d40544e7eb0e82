"""Tamper evidence for the event log.

**One hash chain per application**, not one global chain: every change to an application already
locks its row, so appending to its chain costs no extra serialisation, while a single global chain
would force every intake and transition in the province through one lock. Each event stores
``prev_hash`` (the hash of the application's previous event, "" for its first) and ``hash`` =
SHA-256 of ``prev_hash`` and the event's canonical content (application id, type, time stamp in
UTC with microseconds, actor id, stage, round, data as sorted JSON). The application row keeps the
head (``audit_head``).

Each day's events are then fingerprinted together (``AuditDigest``): SHA-256 of the previous day's
digest, the day and the hashes of all that day's events in id order. The digests are published
on the portal, so deleting an application's latest event, or a whole application's history,
still changes a published number.

``verify()`` recomputes every chain and every digest and names the first event that was altered,
inserted or deleted, or the first day whose digest no longer matches.

On PostgreSQL a trigger refuses UPDATE and DELETE on the event table (migration
``0006_audit_chain``); the production role of the web app should also be granted only SELECT and
INSERT on it (docs/security.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from sunshine.applications.models import Application, AuditDigest, Event


def _str_keys(value: Any) -> bool:
    """Whether every mapping in ``value`` (a JSON-able value) is a dict with string keys only."""
    kind = type(value)
    if kind is dict:
        return all(isinstance(k, str) for k in value) and all(_str_keys(v) for v in value.values())
    if kind is list or kind is tuple:
        return all(_str_keys(v) for v in value)
    return not isinstance(value, Mapping)


def _canonical_data(data: Any) -> str:
    # What the database gives back must hash like what was written: the value as JSON would give
    # it back (tuples as lists, dates as strings, keys as strings), sorted. Dumping it sorted once
    # gives exactly that when every key is already a string (a key of another type becomes a
    # string only after the dump, and would sort differently): the events' payloads, so the round
    # trip through JSON (two more passes) is left for the others.
    data = data or {}
    if _str_keys(data):
        return json.dumps(data, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    normal = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return json.dumps(normal, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    prev: str,
    application_id: int,
    type_: str,
    at: datetime,
    actor_id: int | None,
    stage: str | None,
    round_: int | None,
    data: Any,
) -> str:
    content = "\n".join(
        [
            prev,
            str(application_id),
            type_,
            _stamp(at),
            "" if actor_id is None else str(actor_id),
            stage or "",
            "" if round_ is None else str(round_),
            _canonical_data(data),
        ]
    )
    return hashlib.sha256(content.encode()).hexdigest()


def chain(events: Sequence[Event], locked: Sequence[Application] = ()) -> None:
    """Give ``events`` (about to be inserted, in order) their hashes and move the heads of their
    applications.

    ``locked`` are applications the caller has already locked (``select_for_update``) and will
    save itself: their heads are read from and written back to these objects (``audit_head``),
    with no query; the engine's services pass the row they locked. The other applications are
    locked here and their heads updated: two queries for any number of them."""
    for e in events:
        if e.application_id is None:  # built before its application was inserted (intake)
            e.application = e.application  # takes the id now, keeps the object (reactions use it)
    ids = sorted({e.application_id for e in events})
    held = {a.pk: a for a in locked if a.pk in ids}
    others = [pk for pk in ids if pk not in held]
    heads = {pk: a.audit_head for pk, a in held.items()}
    if others:
        heads.update(Application.objects.select_for_update().filter(pk__in=others).values_list("pk", "audit_head"))
    for e in events:
        prev = heads.get(e.application_id, "")
        e.prev_hash = prev
        e.hash = event_hash(prev, e.application_id, e.type, e.at, e.actor_id, e.stage, e.round, e.data)
        heads[e.application_id] = e.hash
    for pk, app in held.items():
        app.audit_head = heads[pk]
    if others:
        _set_heads({pk: heads[pk] for pk in others})


def _set_heads(heads: dict[int, str]) -> None:
    if len(heads) == 1:
        ((pk, head),) = heads.items()
        Application.objects.filter(pk=pk).update(audit_head=head)
        return
    apps = [Application(pk=pk, audit_head=head) for pk, head in heads.items()]
    Application.objects.bulk_update(apps, ["audit_head"], batch_size=1000)


# --- daily digests ---------------------------------------------------------------------------


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_default_timezone()
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start, start + timedelta(days=1)


def _day_digest(previous: str, day: date) -> tuple[str, int]:
    start, end = _day_bounds(day)
    h = hashlib.sha256(f"{previous}\n{day.isoformat()}\n".encode())
    count = 0
    hashes = Event.objects.filter(at__gte=start, at__lt=end).order_by("id").values_list("hash", flat=True)
    for value in hashes.iterator(chunk_size=10000):
        h.update(value.encode())
        h.update(b"\n")
        count += 1
    return h.hexdigest(), count


def publish_digest(day: date) -> AuditDigest:
    """Fingerprint ``day``'s events (once; a second call returns the stored digest)."""
    with transaction.atomic():
        existing = AuditDigest.objects.select_for_update().filter(day=day).first()
        if existing:
            return existing
        before = AuditDigest.objects.filter(day__lt=day).order_by("-day").first()
        previous = before.digest if before else ""
        digest, count = _day_digest(previous, day)
        return AuditDigest.objects.create(
            day=day, events=count, digest=digest, previous=previous, created_at=timezone.now()
        )


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    kind: str  # "altered" | "broken_link" | "head" | "digest"
    message: str
    event_id: int | None = None
    application_id: int | None = None
    day: date | None = None


def _rows() -> Iterator[tuple[Any, ...]]:
    fields = ("id", "application_id", "type", "at", "actor_id", "stage", "round", "data", "prev_hash", "hash")
    yield from Event.objects.order_by("application_id", "id").values_list(*fields).iterator(chunk_size=10000)


def verify(*, stop_at_first: bool = True) -> list[Problem]:
    """Recompute every application's chain, its head and every published digest. Returns the
    problems found, the first one first (only that one with ``stop_at_first``)."""
    problems: list[Problem] = []
    heads = dict(Application.objects.values_list("pk", "audit_head").iterator(chunk_size=10000))
    current_app: int | None = None
    prev = ""
    seen: set[int] = set()

    def close(app_id: int | None, last: str) -> None:
        if app_id is not None and heads.get(app_id, "") != last:
            problems.append(
                Problem(
                    "head",
                    f"application {app_id}: its last event is not the head of its chain"
                    " (the latest event was deleted, or events were added outside the chain)",
                    application_id=app_id,
                )
            )

    for ev_id, app_id, type_, at, actor_id, stage, round_, data, prev_hash, stored in _rows():
        if app_id != current_app:
            close(current_app, prev)
            if stop_at_first and problems:
                return problems
            current_app, prev = app_id, ""
            seen.add(app_id)
        if prev_hash != prev:
            problems.append(
                Problem(
                    "broken_link",
                    f"event {ev_id} (application {app_id}, {type_}) does not follow the event before it:"
                    " an event was inserted here or the one before it was deleted",
                    ev_id,
                    app_id,
                )
            )
        elif event_hash(prev_hash, app_id, type_, at, actor_id, stage, round_, data) != stored:
            problems.append(
                Problem("altered", f"event {ev_id} (application {app_id}, {type_}) was altered", ev_id, app_id)
            )
        if stop_at_first and problems:
            return problems
        prev = stored
    close(current_app, prev)
    for app_id, head in heads.items():
        if head and app_id not in seen:
            problems.append(
                Problem("head", f"application {app_id}: all its events were deleted", application_id=app_id)
            )
    if stop_at_first and problems:
        return problems[:1]
    previous = ""
    for d in AuditDigest.objects.order_by("day"):
        if d.previous != previous:
            problems.append(Problem("digest", f"digest of {d.day}: the chain of digests is broken", day=d.day))
        else:
            digest, count = _day_digest(previous, d.day)
            if digest != d.digest:
                problems.append(
                    Problem(
                        "digest",
                        f"digest of {d.day} no longer matches its events ({count} now, {d.events} when published):"
                        " an event of that day was deleted, inserted or altered",
                        day=d.day,
                    )
                )
        if stop_at_first and problems:
            return problems[:1]
        previous = d.digest
    return problems


def published_digests(limit: int = 60) -> list[AuditDigest]:
    """The latest daily digests, newest first (what the portal publishes)."""
    return list(AuditDigest.objects.order_by("-day")[:limit])
