"""Delivery of the message table. Workers claim due messages in batches (no job per message):
``deliver_due`` turns up to a batch of due rows to ``sending`` in one UPDATE (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so two workers take different rows), sends each with its
``delivery_key`` (the gateway's idempotency key) and marks it sent. A failed attempt puts the row
back to ``pending`` with a back-off (``SUNSHINE_DELIVERY_BACKOFF_SECONDS``, doubling), and the last
one (``SUNSHINE_DELIVERY_MAX_ATTEMPTS``) marks it ``failed`` for an administrator. A worker that dies
between the send and the mark leaves the row ``sending``: it is due again after
``SUNSHINE_DELIVERY_STALL_SECONDS`` and sent again with the same key. The row ends ``sent`` once.

The job workers call ``poll`` whenever they have no task to run (``SUNSHINE_WORKER_POLLS``); the
``notifications.deliver_due`` periodic job is the safety net of an installation whose workers
do not poll."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import task

from sunshine.applications import events as ev
from sunshine.applications.events import EventType
from sunshine.jobs.retry import backoff
from sunshine.notifications.models import ChannelKind, Message, MessageStatus
from sunshine.notifications.services import backoff_seconds, masked_recipient, max_attempts
from sunshine.notifications.sms import send_sms
from sunshine.observe import metrics

logger = logging.getLogger("sunshine.notifications")


def _stall() -> timedelta:
    return timedelta(seconds=settings.SUNSHINE_DELIVERY_STALL_SECONDS)


def claim_due(now: datetime, size: int) -> list[Message]:
    """Take up to ``size`` due messages for one delivery attempt each: pending ones whose moment
    has come, and ones left ``sending`` longer than the stall time (their worker died). One
    statement, so exactly one worker takes a row (also on SQLite, which has no row locks)."""
    table = connection.ops.quote_name(Message._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, claimed_at = %s, next_attempt_at = %s, attempts = attempts + 1"  # noqa: S608
            f" WHERE id IN (SELECT id FROM {table} WHERE status IN (%s, %s) AND next_attempt_at <= %s"
            f" AND (status = %s OR next_attempt_at <= %s) ORDER BY next_attempt_at, id LIMIT %s{lock})"
            " RETURNING id",
            [
                MessageStatus.SENDING,
                now,
                now,
                MessageStatus.PENDING,
                MessageStatus.SENDING,
                now,
                MessageStatus.PENDING,
                now - _stall(),
                size,
            ],
        )
        pks = sorted(row[0] for row in cursor.fetchall())
    if not pks:
        return []
    return list(Message.objects.filter(pk__in=pks).select_related("user").order_by("pk"))


def send(message: Message) -> None:
    """Hand the message to its channel; raises when the channel refused it."""
    key = str(message.delivery_key)
    if message.channel == ChannelKind.SMS:
        send_sms(message.address, message.body, key=key)
    elif message.channel == ChannelKind.EMAIL:
        EmailMessage(
            subject=message.title,
            body=message.body,
            to=[message.address],
            headers={"X-Idempotency-Key": key, "Message-ID": f"<{key}@sunshine>"},
        ).send(fail_silently=False)
    # An inbox message is delivered by being stored: the job only records it on the timeline.


def _timeline(message: Message, type_: EventType, **extra: Any) -> None:
    if message.application_id is None:
        return
    ev.record(
        [
            ev.new_for(
                message.application_id,
                type_,
                timezone.now(),
                channel=message.channel,
                template=message.template,
                recipient=masked_recipient(message),
                message=message.pk,
                attempts=message.attempts,
                **extra,
            )
        ]
    )


def mark_sent(message: Message) -> bool:
    """Record the delivery once: only the claim that is still ``sending`` writes the event."""
    with transaction.atomic():
        done = Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.SENT, sent_at=timezone.now(), last_error="", next_attempt_at=None
        )
        if done == 1:
            _timeline(message, EventType.NOTIFICATION_SENT)
    return done == 1


def _failed(message: Message, error: BaseException) -> None:
    """Record a failed attempt: pending again after the back-off, or failed after the last one."""
    text = str(error)[:2000]
    if message.attempts >= max_attempts():
        with transaction.atomic():
            failed = Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
                status=MessageStatus.FAILED, next_attempt_at=None, last_error=text
            )
            if failed == 1:
                _timeline(message, EventType.NOTIFICATION_FAILED, error=str(error)[:200])
        logger.error("message %s failed permanently after %s attempts: %s", message.pk, message.attempts, error)
        return
    next_at = timezone.now() + backoff(message.attempts, backoff_seconds(), 3600)
    Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=MessageStatus.PENDING, next_attempt_at=next_at, last_error=text
    )
    logger.warning("message %s attempt %s failed: %s; next at %s", message.pk, message.attempts, error, next_at)


def deliver(message: Message) -> bool:
    """One attempt at a claimed message; True when it was sent."""
    try:
        send(message)
    except Exception as error:
        _failed(message, error)
        metrics.MESSAGES_DELIVERED.labels("failed" if message.attempts >= max_attempts() else "retry").inc()
        return False
    sent = mark_sent(message)
    if sent:
        metrics.MESSAGES_DELIVERED.labels("sent").inc()
    return sent


def deliver_due(*, now: datetime | None = None, batch_size: int | None = None, batches: int | None = None) -> int:
    """Claim and deliver due messages, a batch at a time, until none is due (or after ``batches``
    batches); returns how many were sent."""
    size = batch_size or int(getattr(settings, "SUNSHINE_DELIVERY_BATCH", 50))
    sent, rounds = 0, 0
    while batches is None or rounds < batches:
        rounds += 1
        claimed = claim_due(now or timezone.now(), size)
        sent += sum(deliver(m) for m in claimed)
        if len(claimed) < size:
            break
    return sent


def poll() -> int:
    """One batch for a worker with nothing else to do."""
    return deliver_due(batches=1)


@task()
def deliver_due_task() -> int:
    """The periodic safety net (``notifications.deliver_due``): deliver whatever is due."""
    return deliver_due()
