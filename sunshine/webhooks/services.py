"""Subscriptions: made, changed, paused and asked to redeliver by administrators (admin page and
API), every change recorded as a ``SubscriptionChange`` (who, when, the values before and after;
never the secret)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sunshine.accounts.models import ServiceArea, Unit, User
from sunshine.errors import Conflict, NotFound, ValidationFailed
from sunshine.processes.models import Category
from sunshine.webhooks import feed
from sunshine.webhooks.http import check_url
from sunshine.webhooks.models import (
    ChangeKind,
    Delivery,
    DeliveryStatus,
    FeedItem,
    Subscription,
    SubscriptionChange,
)

SECRET_PREFIX = "whsec_"
AUDITED = (
    "name",
    "url",
    "event_types",
    "units",
    "areas",
    "categories",
    "enabled",
    "paused_at",
    "allow_personal_data",
    "owner",
)


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def subscription(pk: int) -> Subscription:
    """The subscription ``pk`` with its owner, units and areas; NotFound when there is none."""
    sub = Subscription.objects.select_related("owner").prefetch_related("units", "areas").filter(pk=pk).first()
    if sub is None:
        raise NotFound(_("No webhook subscription with this number."), "subscription_not_found")
    return sub


def snapshot(sub: Subscription) -> dict[str, Any]:
    """The audited values of ``sub`` (plain JSON)."""
    return {
        "name": sub.name,
        "url": sub.url,
        "event_types": sorted(sub.event_types),
        "units": sorted(u.code for u in sub.units.all()) if sub.pk else [],
        "areas": sorted(a.code for a in sub.areas.all()) if sub.pk else [],
        "categories": sorted(sub.categories),
        "enabled": sub.enabled,
        "paused_at": sub.paused_at.isoformat() if sub.paused_at else None,
        "allow_personal_data": sub.allow_personal_data,
        "owner": sub.owner.username if sub.owner_id else None,
    }


def record(
    sub: Subscription, kind: str, actor: User | None, before: dict[str, Any] | None = None, **extra: Any
) -> SubscriptionChange | None:
    """Write the audit row of a change of ``sub`` (for ``changed``: only when something changed)."""
    after = snapshot(sub)
    if kind == ChangeKind.CREATED:
        changes: dict[str, Any] = after
    elif before is not None:
        changes = {k: [before[k], after[k]] for k in AUDITED if before.get(k) != after.get(k)}
        if not changes and kind == ChangeKind.CHANGED:
            return None
    else:
        changes = {}
    changes.update(extra)
    return SubscriptionChange.objects.create(
        subscription=sub if sub.pk else None, name=sub.name, kind=kind, at=timezone.now(), actor=actor, changes=changes
    )


def validate(
    *,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    categories: Iterable[str] | None = None,
    areas: Iterable[str] | None = None,
    units: Iterable[str] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Cleaned values (units and areas as rows); ValidationFailed naming each bad field."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            errors["name"] = [_("This field is required.")]
        out["name"] = name.strip()
    if url is not None:
        why = check_url(url)
        if why is not None:
            errors["url"] = [_("This address cannot receive events: %(why)s.") % {"why": why}]
        out["url"] = url
    if event_types is not None:
        types = sorted(set(event_types))
        unknown = [t for t in types if t not in feed.PUBLISHED_VALUES]
        if unknown or not types:
            errors["event_types"] = [_("Choose one or more of the published event types.")]
        out["event_types"] = types
    if categories is not None:
        cats = sorted(set(categories))
        if any(c not in Category.values for c in cats):
            errors["categories"] = [_("Unknown category.")]
        out["categories"] = cats
    if areas is not None:
        codes = sorted(set(areas))
        rows = list(ServiceArea.objects.filter(code__in=codes))
        if len(rows) != len(codes):
            errors["areas"] = [_("Unknown service area.")]
        out["areas"] = rows
    if units is not None:
        codes = sorted(set(units))
        found = list(Unit.objects.filter(code__in=codes))
        if len(found) != len(codes):
            errors["units"] = [_("Unknown unit.")]
        out["units"] = found
    if errors:
        raise ValidationFailed(errors)
    return out


@transaction.atomic
def create(
    actor: User,
    *,
    name: str,
    url: str,
    event_types: Iterable[str],
    categories: Iterable[str] = (),
    areas: Iterable[str] = (),
    units: Iterable[str] = (),
    enabled: bool = True,
    allow_personal_data: bool = False,
) -> tuple[Subscription, str]:
    """A new subscription owned by ``actor``; returns it with its secret (shown this once)."""
    clean = validate(name=name, url=url, event_types=event_types, categories=categories, areas=areas, units=units)
    now = timezone.now()
    secret = new_secret()
    sub = Subscription.objects.create(
        name=clean["name"],
        url=clean["url"],
        event_types=clean["event_types"],
        categories=clean["categories"],
        secret=secret,
        enabled=enabled,
        allow_personal_data=allow_personal_data,
        owner=actor,
        created_at=now,
        updated_at=now,
    )
    if clean["units"]:
        sub.units.set(clean["units"])
    sub.areas.set(clean["areas"])
    record(sub, ChangeKind.CREATED, actor)
    return sub, secret


@transaction.atomic
def update(sub: Subscription, actor: User, **values: Any) -> Subscription:
    """Change the given fields (name, url, event_types, categories, units, areas, enabled, resume,
    allow_personal_data); ``resume=True`` clears a pause."""
    before = snapshot(sub)
    clean = validate(
        **{
            k: values[k]
            for k in ("name", "url", "event_types", "categories", "areas", "units")
            if values.get(k) is not None
        }
    )
    for field in ("name", "url", "event_types", "categories"):
        if field in clean:
            setattr(sub, field, clean[field])
    for field in ("enabled", "allow_personal_data"):
        if values.get(field) is not None:
            setattr(sub, field, bool(values[field]))
    if values.get("resume"):
        sub.paused_at, sub.pause_reason = None, ""
    sub.updated_at = timezone.now()
    sub.save()
    if "areas" in clean:
        sub.areas.set(clean["areas"])
    if "units" in clean:
        sub.units.set(clean["units"])
    record(sub, ChangeKind.CHANGED, actor, before)
    return sub


@transaction.atomic
def rotate_secret(sub: Subscription, actor: User) -> str:
    secret = new_secret()
    sub.secret = secret
    sub.updated_at = timezone.now()
    sub.save(update_fields=["secret", "updated_at"])
    record(sub, ChangeKind.SECRET_ROTATED, actor, snapshot(sub))
    return secret


@transaction.atomic
def delete(sub: Subscription, actor: User) -> None:
    record(sub, ChangeKind.DELETED, actor, snapshot(sub))
    sub.delete()


@transaction.atomic
def redeliver(
    sub: Subscription,
    actor: User | None,
    *,
    event_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Send one event (``event_id``) or the events of a time range ([since, until) by their time)
    to ``sub`` again, within its filters: the deliveries are pending again from their first
    attempt (those being sent are left alone). Returns how many are owed."""
    items = FeedItem.objects.all()
    if event_id is not None:
        items = items.filter(event_id=event_id)
    else:
        if since is None or until is None:
            raise ValidationFailed({"event_id": [_("Give an event or a time range (since and until).")]})
        items = items.filter(at__gte=since, at__lt=until)
    rows = list(items.order_by("position"))
    feed.owe(rows, [sub])
    now = timezone.now()
    count = (
        Delivery.objects.filter(subscription=sub, item__in=[r.position for r in rows])
        .exclude(status=DeliveryStatus.SENDING)
        .update(
            status=DeliveryStatus.PENDING,
            attempts=0,
            first_attempt_at=None,
            next_attempt_at=now,
            delivered_at=None,
        )
    )
    what: dict[str, Any] = (
        {"event": event_id} if event_id is not None else {"since": since.isoformat(), "until": until.isoformat()}  # type: ignore[union-attr]
    )
    record(sub, ChangeKind.REDELIVERY, actor, None, **what, deliveries=count)
    return count


@transaction.atomic
def redeliver_failed(delivery_id: int, actor: User) -> Delivery:
    """Send a delivery that failed for good again (the jobs page's button): its subscription is
    resumed first when the failures paused it (both audited). A disabled subscription keeps it
    waiting until it is enabled again."""
    row = (
        Delivery.objects.select_related("subscription__owner", "item")
        .prefetch_related("subscription__units", "subscription__areas")
        .filter(pk=delivery_id)
        .first()
    )
    if row is None:
        raise NotFound(_("No such webhook delivery."), "delivery_not_found")
    if row.status != DeliveryStatus.FAILED:
        raise Conflict(_("Only a failed delivery can be sent again."), "delivery_not_failed")
    sub = row.subscription
    if sub.paused_at is not None:
        update(sub, actor, resume=True)
    redeliver(sub, actor, event_id=row.item.event_id)
    return row
