"""Sending the deliveries: claimed by the workers in batches, each POSTed outside any database
transaction, signed per Standard Webhooks, retried with back-off for a day (docs/integration.md).

- **Claim**: one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING id`` turns
  due deliveries to ``sending`` (PostgreSQL; SQLite has one writer). A delivery is due when its
  subscription is enabled and not paused and no earlier delivery of the same subscription and
  application (a lower feed position) is still pending or being sent: an application's events
  reach a receiver in their order. The claim commits before the HTTP call, so no transaction is
  open while the receiver answers.
- **Send**: the CloudEvents envelope as JSON, with ``webhook-id`` (the event id, the same on every
  attempt: receivers de-duplicate on it), ``webhook-timestamp`` and ``webhook-signature``
  (``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` with the subscription's secret).
  A 2xx answer is success; anything else (3xx included: redirects are not followed), a timeout,
  a refused connection or a refused address is a failed attempt.
- **Retry**: after a failed attempt the delivery is pending again after a back-off
  (``SUNSHINE_WEBHOOK_BACKOFF_SECONDS``, doubling, at most an hour) until
  ``SUNSHINE_WEBHOOK_RETRY_SECONDS`` (a day) have passed since its first attempt; then it is
  ``failed`` with the last answer, its subscription is paused and the subscription's owner gets
  an inbox message. An administrator resumes the subscription and redelivers (admin, API,
  ``manage.py redeliver_webhooks``).
- **A worker that dies** after the claim leaves the delivery ``sending``: it is due again when its
  ``next_attempt_at`` (claim + stall time) has passed, and sent again with the same id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from base64 import b64encode
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from sunshine.errors import NotFound
from sunshine.jobs.retry import backoff
from sunshine.webhooks import feed
from sunshine.webhooks.http import Answer, Refused, post
from sunshine.webhooks.models import ChangeKind, Delivery, DeliveryStatus, Subscription, SubscriptionChange
from sunshine.webhooks.services import secret_key

log = logging.getLogger("sunshine.webhooks")
PAUSED_TEMPLATE = "webhook_paused"


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def timeout() -> float:
    return _setting("SUNSHINE_WEBHOOK_TIMEOUT_SECONDS", 10)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``."""
    digest = hmac.new(secret_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + b64encode(digest).decode()


def body_of(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def claim_due(now: datetime, size: int) -> list[Delivery]:
    """Take up to ``size`` due deliveries for one attempt each (see the module's docstring)."""
    d = connection.ops.quote_name(Delivery._meta.db_table)
    s = connection.ops.quote_name(Subscription._meta.db_table)
    lock = " FOR UPDATE OF d SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    stall = now + timedelta(seconds=_setting("SUNSHINE_WEBHOOK_STALL_SECONDS", 120) + size * timeout())
    busy = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {d} SET status = %s, attempts = attempts + 1, last_attempt_at = %s,"  # noqa: S608
            f" first_attempt_at = COALESCE(first_attempt_at, %s), next_attempt_at = %s"
            f" WHERE id IN (SELECT d.id FROM {d} d JOIN {s} s ON s.id = d.subscription_id"
            f" WHERE d.status IN (%s, %s) AND d.next_attempt_at <= %s AND s.enabled = %s AND s.paused_at IS NULL"
            f" AND NOT EXISTS (SELECT 1 FROM {d} p WHERE p.subscription_id = d.subscription_id"
            f" AND p.application_id = d.application_id AND p.item_id < d.item_id AND p.status IN (%s, %s))"
            f" ORDER BY d.next_attempt_at, d.id LIMIT %s{lock}) RETURNING id",
            [DeliveryStatus.SENDING, now, now, stall, *busy, now, True, *busy, size],
        )
        pks = sorted(row[0] for row in cursor.fetchall())
    if not pks:
        return []
    return list(Delivery.objects.filter(pk__in=pks).select_related("subscription", "item").order_by("item_id"))


def attempt(delivery: Delivery, envelope: dict[str, Any]) -> Answer | Exception:
    """Send one claimed delivery (no database work); the answer or what went wrong."""
    sub = delivery.subscription
    body = body_of(envelope)
    msg_id = envelope["id"]
    stamp = int(timezone.now().timestamp())
    headers = {
        "Content-Type": feed.CONTENT_TYPE + "; charset=utf-8",
        "User-Agent": "Sunshine-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(sub.secret, msg_id, stamp, body),
    }
    try:
        return post(sub.url, body, headers, timeout())
    except (Refused, OSError, ValueError) as exc:
        return exc
    except Exception as exc:  # http.client.HTTPException and friends: no usable answer
        return exc


def _done(delivery: Delivery, answer: Answer) -> bool:
    return (
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING, attempts=delivery.attempts).update(
            status=DeliveryStatus.DELIVERED,
            delivered_at=timezone.now(),
            next_attempt_at=None,
            last_status=answer.status,
            last_response=answer.body,
        )
        == 1
    )


def _failed(delivery: Delivery, outcome: Answer | Exception) -> str:
    """Record a failed attempt; returns the new status."""
    now = timezone.now()
    if isinstance(outcome, Answer):
        status: int | None = outcome.status
        text = f"HTTP {outcome.status}: {outcome.body}"[:2000]
    else:
        status, text = None, f"{type(outcome).__name__}: {outcome}"[:2000]
    first = delivery.first_attempt_at or now
    window = timedelta(seconds=_setting("SUNSHINE_WEBHOOK_RETRY_SECONDS", 86400))
    mine = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING, attempts=delivery.attempts)
    if now - first >= window:
        with transaction.atomic():
            if mine.update(status=DeliveryStatus.FAILED, next_attempt_at=None, last_status=status, last_response=text):
                pause(delivery.subscription, text, now)
        log.error("webhook delivery %s failed for good after %s attempts: %s", delivery.pk, delivery.attempts, text)
        return DeliveryStatus.FAILED
    delay = backoff(delivery.attempts, _setting("SUNSHINE_WEBHOOK_BACKOFF_SECONDS", 30), 3600)
    mine.update(status=DeliveryStatus.PENDING, next_attempt_at=now + delay, last_status=status, last_response=text)
    log.warning("webhook delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, text)
    return DeliveryStatus.PENDING


def pause(sub: Subscription, reason: str, now: datetime) -> None:
    """Pause ``sub`` after a delivery failed for good and tell its owner (once per pause)."""
    if not Subscription.objects.filter(pk=sub.pk, paused_at__isnull=True).update(
        paused_at=now, pause_reason=reason[:500]
    ):
        return
    sub.paused_at, sub.pause_reason = now, reason[:500]
    SubscriptionChange.objects.create(
        subscription=sub, name=sub.name, kind=ChangeKind.PAUSED, at=now, actor=None, changes={"reason": reason[:500]}
    )
    from sunshine.notifications.services import notify_staff

    try:
        notify_staff(
            [sub.owner],
            PAUSED_TEMPLATE,
            {"subscription": sub.name, "url": sub.url, "reason": reason[:200]},
            key=f"webhook:{sub.pk}:paused:{int(now.timestamp())}",
        )
    except NotFound:  # the template row is gone (a flushed database)
        log.error("webhook subscription %s paused; no %s template to tell its owner", sub.pk, PAUSED_TEMPLATE)


def deliver(deliveries: Sequence[Delivery]) -> dict[str, int]:
    """One attempt at each claimed delivery; counts per outcome."""
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    plain = [d for d in deliveries if not d.subscription.allow_personal_data]
    personal = [d for d in deliveries if d.subscription.allow_personal_data]
    envelopes: dict[int, dict[str, Any]] = {}
    for group, flag in ((plain, False), (personal, True)):
        if group:
            for d, env in zip(group, feed.envelopes([d.item for d in group], personal=flag), strict=True):
                envelopes[d.pk] = env
    for d in deliveries:
        outcome = attempt(d, envelopes[d.pk])
        if isinstance(outcome, Answer) and 200 <= outcome.status < 300:
            _done(d, outcome)
            counts["delivered"] += 1
        elif _failed(d, outcome) == DeliveryStatus.FAILED:
            counts["failed"] += 1
        else:
            counts["retry"] += 1
    return counts


def deliver_due(*, now: datetime | None = None, batch_size: int | None = None, batches: int | None = None) -> int:
    """Claim and send due deliveries, a batch at a time; returns the attempts made."""
    size = batch_size or int(getattr(settings, "SUNSHINE_WEBHOOK_BATCH", 20))
    made, rounds = 0, 0
    while batches is None or rounds < batches:
        rounds += 1
        claimed = claim_due(now or timezone.now(), size)
        if not claimed:
            break
        deliver(claimed)
        made += len(claimed)
        if len(claimed) < size:
            break
    return made


def poll() -> int:
    """One batch for a worker with nothing else to do (``SUNSHINE_WORKER_POLLS``)."""
    return deliver_due(batches=1)
