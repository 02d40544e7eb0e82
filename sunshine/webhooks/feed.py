"""The event feed: every published event at a position in commit order, and its envelope.

Event ids are not commit order: two transactions take ids from one sequence and the one with the
lower id may commit later, so a reader paging by event id could pass an id that is not visible
yet and never come back to it. The feed therefore gives each event a **position** of its own:
``publish`` (the reaction, run after the change commits) locks the one ``FeedCounter`` row, gives
the next positions and stores them; the lock is held until its transaction commits, so the
transaction that took positions 1..5 is visible before the one that takes 6 even starts, and a
rollback gives its positions back. A reader that has seen position *n* has seen every position
below it, for ever (``tests/test_webhooks_feed_pg.py`` pages while others write).

Per application the feed keeps the events' own order (an application's events are written under
its row lock, so their ids are its commit order): when a worker publishes an application's later
change before another worker has published an earlier one, it publishes the earlier events of
that application first (they are committed: their change came first), and the other worker then
finds them published. So the reaction is convergent and each event gets one position.

Events of ``PII_VIEWED`` (a staff member unmasked a field: the internal access log) are not
published. Events older than the feed (``FeedCounter.since_event``) are never published.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from sunshine.applications.events import EventType
from sunshine.applications.models import Application, Event
from sunshine.pii.masking import mask_id, mask_phone
from sunshine.webhooks.models import Delivery, DeliveryStatus, FeedCounter, FeedItem, Subscription

#: The event types other systems may hear about (subscriptions choose among them).
PUBLISHED: tuple[EventType, ...] = tuple(t for t in EventType if t is not EventType.PII_VIEWED)
PUBLISHED_VALUES = frozenset(t.value for t in PUBLISHED)
TYPE_PREFIX = "cn.sunshine.application."
CONTENT_TYPE = "application/cloudevents+json"


def source() -> str:
    return str(getattr(settings, "SUNSHINE_WEBHOOK_SOURCE", "urn:sunshine:applications"))


# --- publishing (the reaction) ------------------------------------------------------------------


def _lock_counter() -> tuple[int, int]:
    """(last position, since_event) of the counter row, locked until the transaction ends."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    table = connection.ops.quote_name(FeedCounter._meta.db_table)
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT position, since_event FROM {table} WHERE id = 1{lock}")  # noqa: S608
            row = cursor.fetchone()
        if row is not None:
            return int(row[0]), int(row[1])
        FeedCounter.objects.bulk_create([FeedCounter(pk=1)], ignore_conflicts=True)  # a flushed database
    raise RuntimeError("no feed counter row")


def publish(events: Iterable[Event]) -> list[FeedItem]:
    """Give positions to ``events`` (and to the earlier unpublished events of their applications)
    and write the deliveries they owe; returns the new items. Call inside a transaction.
    Four statements, and two or three more when subscriptions exist."""
    newest: dict[int, int] = {}
    for e in events:
        if e.type in PUBLISHED_VALUES and e.pk is not None:
            newest[e.application_id] = max(newest.get(e.application_id, 0), e.pk)
    if not newest:
        return []
    position, since = _lock_counter()
    known = FeedItem.objects.filter(application_id__in=list(newest)).values("event_id")
    rows = [
        row
        for row in Event.objects.filter(
            application_id__in=list(newest), pk__gt=since, type__in=sorted(PUBLISHED_VALUES)
        )
        .exclude(pk__in=known)
        .order_by("pk")
        .values_list("pk", "application_id", "at", "type", "application__area_id", "application__category")
        if row[0] <= newest[row[1]]
    ]
    if not rows:
        return []
    items = [
        FeedItem(position=position + i, event_id=row[0], application_id=row[1], at=row[2])
        for i, row in enumerate(rows, 1)
    ]
    FeedItem.objects.bulk_create(items)
    FeedCounter.objects.filter(pk=1).update(position=position + len(items))
    owe(items, facts={row[0]: (row[3], row[4], row[5]) for row in rows})
    return items


def matching(
    subscriptions: Sequence[Subscription], type_: str, area_id: int | None, category: str
) -> list[Subscription]:
    """The subscriptions that want an event of ``type_`` about an application in this area and
    category (an empty filter wants all)."""
    out = []
    for sub in subscriptions:
        if type_ not in sub.event_types:
            continue
        if sub.categories and category not in sub.categories:
            continue
        area_ids = {a.pk for a in sub.areas.all()}
        if area_ids and area_id not in area_ids:
            continue
        out.append(sub)
    return out


def owe(
    items: Sequence[FeedItem],
    subscriptions: Sequence[Subscription] | None = None,
    facts: dict[int, tuple[str, int | None, str]] | None = None,
) -> int:
    """Write the deliveries of ``items`` to the enabled subscriptions that want them (paused ones
    included: theirs wait); returns how many were new. ``facts``: per event id, its type and its
    application's area and category, when the caller has them."""
    subs = (
        list(subscriptions)
        if subscriptions is not None
        else list(Subscription.objects.filter(enabled=True).prefetch_related("areas"))
    )
    if not subs or not items:
        return 0
    if facts is None:
        facts = {
            pk: (type_, area, category)
            for pk, type_, area, category in Event.objects.filter(pk__in=[i.event_id for i in items]).values_list(
                "pk", "type", "application__area_id", "application__category"
            )
        }
    now = timezone.now()
    rows = [
        Delivery(
            subscription=sub,
            item_id=item.position,
            application_id=item.application_id,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            created_at=now,
        )
        for item in items
        for sub in matching(subs, *facts[item.event_id])
    ]
    if rows:
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# --- envelopes ----------------------------------------------------------------------------------

# An ID card number (18 characters, the last may be X) or a mainland mobile number inside free text.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def scrub(value: Any) -> Any:
    """``value`` with ID numbers and mobile numbers in its strings masked."""
    if isinstance(value, str):
        value = _ID_NUMBER.sub(lambda m: mask_id(m.group(0)), value)
        return _MOBILE.sub(lambda m: mask_phone(m.group(0)), value)
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def envelope(item: FeedItem, event: Event, app: Application, *, personal: bool) -> dict[str, Any]:
    """The CloudEvents 1.0 structured envelope of one published event (docs/integration.md)."""
    customer: dict[str, Any] = {"name": app.customer_name}
    if personal:
        customer["phone"] = app.contact_phone
        customer["id_type"] = app.customer.id_type
        customer["id_number"] = app.customer.id_number
    else:
        customer["phone"] = mask_phone(app.contact_phone)
    return {
        "specversion": "1.0",
        "id": str(event.pk),
        "source": source(),
        "type": TYPE_PREFIX + event.type,
        "subject": app.number,
        "time": _time(event.at),
        "datacontenttype": "application/json",
        "sequence": str(item.position),
        "data": {
            "event": event.type,
            "application": {
                "number": app.number,
                "category": app.category,
                "business_type": app.business_type,
                "channel": app.channel,
                "area": app.area.code if app.area is not None else None,
                "customer": customer,
            },
            "actor": event.actor.username if event.actor is not None else None,
            "stage": event.stage,
            "round": event.round,
            "payload": event.data if personal else scrub(event.data),
        },
    }


def envelopes(items: Sequence[FeedItem], *, personal: bool = False) -> list[dict[str, Any]]:
    """The envelopes of ``items``, in their order (three queries)."""
    events = {e.pk: e for e in Event.objects.filter(pk__in=[i.event_id for i in items]).select_related("actor")}
    related = ["area", "customer"] if personal else ["area"]
    apps = {
        a.pk: a for a in Application.objects.filter(pk__in={i.application_id for i in items}).select_related(*related)
    }
    return [envelope(i, events[i.event_id], apps[i.application_id], personal=personal) for i in items]


# --- reading the feed ---------------------------------------------------------------------------


def page(after: int, limit: int, applications: QuerySet[Application] | None = None) -> list[FeedItem]:
    """Up to ``limit`` items after position ``after``, in order; only those about
    ``applications`` when given (the caller's scope)."""
    qs = FeedItem.objects.filter(position__gt=after)
    if applications is not None:
        qs = qs.filter(application__in=applications.values("pk"))
    return list(qs.order_by("position")[:limit])


def last_position() -> int:
    row = FeedItem.objects.order_by("-position").values_list("position", flat=True).first()
    return int(row or 0)
