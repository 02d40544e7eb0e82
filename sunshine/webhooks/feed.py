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

Subscriptions filter by unit too (a unit with its subtree): an event belongs to the unit its
application was in when the event happened. ``publish`` reads that from the application's unit now
and its later moves (the ``unit_moved`` events not yet published: an application's unpublished
events are always its latest ones); a ``unit_moved`` event belongs to both units, the one left and
the one joined.

Events of ``PII_VIEWED`` (a staff member unmasked a field: the internal access log) are not
published. Events older than the feed (``FeedCounter.since_event``) are never published.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Case, CharField, IntegerField, QuerySet, Value, When
from django.db.models.fields.json import KT
from django.utils import timezone

from sunshine.accounts import units
from sunshine.applications.events import EventType
from sunshine.applications.models import Application, Event
from sunshine.pii.masking import mask_id, mask_phone
from sunshine.webhooks.models import Delivery, DeliveryStatus, FeedCounter, FeedItem, Subscription

#: The event types other systems may hear about (subscriptions choose among them).
PUBLISHED: tuple[EventType, ...] = tuple(t for t in EventType if t is not EventType.PII_VIEWED)
PUBLISHED_VALUES = frozenset(t.value for t in PUBLISHED)
TYPE_PREFIX = "cn.sunshine.application."
CONTENT_TYPE = "application/cloudevents+json"


# What the administrator reads next to each event type (the value is what the envelope's type ends with).
TYPE_NAMES = {
    "intake": "受理",
    "stage_started": "环节开始",
    "stage_completed": "环节完成",
    "stage_skipped": "环节免办",
    "paused": "暂停",
    "resumed": "恢复",
    "completed": "办结",
    "cancelled": "撤销",
    "reassigned": "改派客户经理",
    "calendar_reprojected": "工作日历调整期限",
    "document_uploaded": "上传资料",
    "document_received": "收到资料",
    "document_waived": "免交资料",
    "charge_recorded": "记录收费",
    "contractor_chosen": "选择施工单位",
    "warning": "预警",
    "overdue": "超期",
    "escalation": "升级督办",
    "supervision_started": "领导挂牌督办",
    "supervision_note": "督办记录",
    "supervision_ended": "督办结束",
    "notification_sent": "通知已发送",
    "notification_failed": "通知发送失败",
    "case_opened": "稽查立案",
    "case_decided": "稽查结论",
    "pause_contest_decided": "暂停申诉结论",
    "followup_attempt": "回访尝试",
    "followup_completed": "回访完成",
    "visit_logged": "走访记录",
    "contact_corrected": "更正客户联系方式",
    "unit_moved": "调整所属单位",
}


def type_name(value: str) -> str:
    """The Chinese name of an event type (the admin, the jobs page)."""
    return TYPE_NAMES.get(value, "其他事件")


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
    moved_from = Case(When(type=EventType.UNIT_MOVED, then=KT("data__from")), default=None, output_field=CharField())
    unpublished = list(
        Event.objects.filter(application_id__in=list(newest), pk__gt=since, type__in=sorted(PUBLISHED_VALUES))
        .exclude(pk__in=known)
        .order_by("pk")
        .values_list(
            "pk",
            "application_id",
            "at",
            "type",
            "application__area_id",
            "application__category",
            "application__unit_id",
            moved_from,
        )
    )
    at_unit = units_at([(r[0], r[1], r[6], r[7]) for r in unpublished])
    rows = [row for row in unpublished if row[0] <= newest[row[1]]]
    if not rows:
        return []
    items = [
        FeedItem(position=position + i, event_id=row[0], application_id=row[1], at=row[2])
        for i, row in enumerate(rows, 1)
    ]
    FeedItem.objects.bulk_create(items)
    FeedCounter.objects.filter(pk=1).update(position=position + len(items))
    owe(items, facts={row[0]: (row[3], row[4], row[5], at_unit[row[0]]) for row in rows})
    return items


#: Per event id: its type, its application's area and category, and the units it belongs to.
Facts = dict[int, tuple[str, int | None, str, tuple[int, ...]]]


def units_at(rows: Sequence[tuple[int, int, int | None, str | None]]) -> dict[int, tuple[int, ...]]:
    """The units each event belongs to, from ``rows`` of (event id, application id, the
    application's unit now, the unit code a ``unit_moved`` event left, else None) that hold every
    move of each application after its earliest event given. Walking an application's events from
    the newest back, the unit is the one it is in now until a move, then the one the move left;
    a move belongs to both."""
    ids = {n.code: n.id for n in units.tree().nodes.values()} if any(r[3] is not None for r in rows) else {}
    current: dict[int, int | None] = {}
    out: dict[int, tuple[int, ...]] = {}
    for pk, app, now, left in sorted(rows, key=lambda r: r[0], reverse=True):
        unit = current.get(app, now)
        if left is None:
            out[pk] = (unit,) if unit is not None else ()
            continue
        before = ids.get(left)
        out[pk] = tuple(u for u in (before, unit) if u is not None)
        current[app] = before
    return out


def facts_of(event_ids: Sequence[int]) -> Facts:
    """``Facts`` of these events read from the database (redeliveries): their rows, and the
    moves of their applications since the earliest of them (two queries)."""
    if not event_ids:
        return {}
    rows = list(
        Event.objects.filter(pk__in=list(event_ids)).values_list(
            "pk", "application_id", "type", "application__area_id", "application__category", "application__unit_id"
        )
    )
    moves = list(
        Event.objects.filter(
            application_id__in={r[1] for r in rows}, type=EventType.UNIT_MOVED, pk__gte=min(event_ids)
        ).values_list("pk", "application_id", "application__unit_id", KT("data__from"))
    )
    walk = {m[0]: m for m in moves}
    walk.update({r[0]: (r[0], r[1], r[5], None) for r in rows if r[0] not in walk})
    at_unit = units_at(list(walk.values()))
    return {r[0]: (r[2], r[3], r[4], at_unit[r[0]]) for r in rows}


@dataclass(frozen=True, slots=True)
class Filters:
    """A subscription's unit and area filters (empty: all)."""

    units: frozenset[int] = frozenset()
    areas: frozenset[int] = frozenset()


def filters_of(subscriptions: Sequence[Subscription]) -> dict[int, Filters]:
    """The unit and area filters of ``subscriptions``: from their prefetched units and areas when
    they have them, else in one query over both link tables."""
    if all({"units", "areas"} <= set(getattr(s, "_prefetched_objects_cache", ())) for s in subscriptions):
        return {
            s.pk: Filters(frozenset(u.pk for u in s.units.all()), frozenset(a.pk for a in s.areas.all()))
            for s in subscriptions
        }
    ids = [s.pk for s in subscriptions]
    through_units, through_areas = Subscription.units.through, Subscription.areas.through
    none = Value(None, output_field=IntegerField())
    rows = (
        through_units.objects.filter(subscription_id__in=ids)
        .values_list("subscription_id", "unit_id", none)
        .union(
            through_areas.objects.filter(subscription_id__in=ids).values_list(
                "subscription_id", none, "servicearea_id"
            ),
            all=True,
        )
    )
    found: dict[int, tuple[set[int], set[int]]] = {}
    for sub, unit, area in rows:
        unit_ids, area_ids = found.setdefault(sub, (set(), set()))
        if unit is not None:
            unit_ids.add(unit)
        if area is not None:
            area_ids.add(area)
    return {pk: Filters(frozenset(u), frozenset(a)) for pk, (u, a) in found.items()}


def matching(
    subscriptions: Sequence[Subscription],
    filters: dict[int, Filters],
    type_: str,
    area_id: int | None,
    category: str,
    unit_ids: Sequence[int] = (),
) -> list[Subscription]:
    """The subscriptions that want an event of ``type_`` about an application in this area and
    category, belonging to these units (each filter: empty wants all; a unit wants its subtree)."""
    tree = units.tree()
    paths = [p for p in (tree.path(u) for u in unit_ids) if p is not None]
    out = []
    for sub in subscriptions:
        if type_ not in sub.event_types:
            continue
        if sub.categories and category not in sub.categories:
            continue
        wanted = filters.get(sub.pk, NO_FILTERS)
        if wanted.areas and area_id not in wanted.areas:
            continue
        if wanted.units:
            roots = [p for p in (tree.path(u) for u in wanted.units) if p is not None]
            if not any(p.startswith(r) for p in paths for r in roots):
                continue
        out.append(sub)
    return out


def owe(
    items: Sequence[FeedItem],
    subscriptions: Sequence[Subscription] | None = None,
    facts: Facts | None = None,
) -> int:
    """Write the deliveries of ``items`` to the enabled subscriptions that want them (paused ones
    included: theirs wait); returns how many were new. ``facts``: see ``Facts``, when the caller
    has them."""
    subs = list(subscriptions) if subscriptions is not None else list(Subscription.objects.filter(enabled=True))
    if not subs or not items:
        return 0
    if facts is None:
        facts = facts_of([i.event_id for i in items])
    filters = filters_of(subs)
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
        for sub in matching(subs, filters, *facts[item.event_id])
    ]
    if rows:
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


NO_FILTERS = Filters()


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


def page(after: int, limit: int, items: QuerySet[FeedItem] | None = None) -> list[FeedItem]:
    """Up to ``limit`` items after position ``after``, in order; only those of ``items`` when
    given (the caller's scope)."""
    qs = (items if items is not None else FeedItem.objects.all()).filter(position__gt=after)
    return list(qs.order_by("position")[:limit])


def last_position() -> int:
    row = FeedItem.objects.order_by("-position").values_list("position", flat=True).first()
    return int(row or 0)
