"""Reads of the webhooks app for pages and the API."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count

from sunshine.webhooks.feed import type_name
from sunshine.webhooks.models import Delivery, DeliveryStatus

NO_DELIVERIES = {"pending": 0, "delivered": 0, "failed": 0}


def delivery_counts(subscriptions: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per subscription: deliveries waiting (pending or being sent), delivered and failed."""
    out: dict[int, dict[str, int]] = {}
    rows = (
        Delivery.objects.filter(subscription_id__in=list(subscriptions))
        .values_list("subscription_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for sub, status, n in rows:
        counts = out.setdefault(sub, dict(NO_DELIVERIES))
        key = "pending" if status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING) else status
        counts[key] = counts.get(key, 0) + n
    return out


def failed_deliveries(limit: int = 50) -> list[Delivery]:
    """Deliveries that failed for good (a day of failed attempts), the latest first, each with
    its subscription, application, event and ``event_name`` (the event type in Chinese). One
    query (index ``delivery_status``)."""
    rows = list(
        Delivery.objects.filter(status=DeliveryStatus.FAILED)
        .select_related("subscription", "application", "item__event")
        .order_by("-last_attempt_at", "-id")[:limit]
    )
    for row in rows:
        row.event_name = type_name(row.item.event.type)  # type: ignore[attr-defined]
    return rows
