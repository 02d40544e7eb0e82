"""Delivery jobs. At-least-once: a message is claimed with a conditional UPDATE, sent with its
``delivery_key`` (the gateway's idempotency key), then marked sent; a worker that dies between
the send and the mark leaves the row ``sending``, and ``requeue_stalled`` delivers it again after
``SUNSHINE_DELIVERY_STALL_SECONDS`` with the same key. The row ends ``sent`` once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import task

from sunshine.applications import events as ev
from sunshine.applications.events import EventType
from sunshine.jobs.retry import with_retries
from sunshine.notifications.models import ChannelKind, Message, MessageStatus
from sunshine.notifications.services import backoff_seconds, masked_recipient, max_attempts
from sunshine.notifications.sms import send_sms

logger = logging.getLogger("sunshine.notifications")


def _stall() -> timedelta:
    return timedelta(seconds=settings.SUNSHINE_DELIVERY_STALL_SECONDS)


def _claimable(now: datetime) -> Q:
    return Q(status=MessageStatus.PENDING) | Q(status=MessageStatus.SENDING, claimed_at__lt=now - _stall())


def claim(message_id: int) -> Message | None:
    """Take the message for one delivery attempt; None when it is sent, failed, or another worker
    is delivering it right now (the conditional UPDATE's row count decides)."""
    now = timezone.now()
    taken = (
        Message.objects.filter(pk=message_id)
        .filter(_claimable(now))
        .update(status=MessageStatus.SENDING, claimed_at=now, next_attempt_at=now, attempts=F("attempts") + 1)
    )
    if taken != 1:
        return None
    return Message.objects.select_related("user").get(pk=message_id)


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


def _on_retry(message_id: int, *, error: BaseException, attempt: int, next_at: datetime, **kwargs: Any) -> None:
    Message.objects.filter(pk=message_id, status=MessageStatus.SENDING).update(
        status=MessageStatus.PENDING, next_attempt_at=next_at, last_error=str(error)[:2000]
    )


def _on_give_up(message_id: int, *, error: BaseException, attempt: int, **kwargs: Any) -> None:
    with transaction.atomic():
        failed = Message.objects.filter(pk=message_id, status=MessageStatus.SENDING).update(
            status=MessageStatus.FAILED, next_attempt_at=None, last_error=str(error)[:2000]
        )
        if failed == 1:
            message = Message.objects.select_related("user").get(pk=message_id)
            _timeline(message, EventType.NOTIFICATION_FAILED, error=str(error)[:200])
    logger.error("message %s failed permanently after %s attempts: %s", message_id, attempt, error)


@task()
@with_retries(max_attempts=max_attempts, base_delay=backoff_seconds, on_retry=_on_retry, on_give_up=_on_give_up)
def deliver(message_id: int, *, attempt: int = 1) -> str:
    """Deliver one outbox message (SMS, e-mail, inbox). Idempotent: a message already sent is skipped."""
    message = claim(message_id)
    if message is None:
        return "skipped"
    send(message)
    mark_sent(message)
    return "sent"


@task()
def requeue_stalled() -> int:
    """Enqueue delivery of messages whose attempt is overdue by the stall time: the worker died
    mid-delivery, or the process died between commit and enqueue. Runs every minute."""
    now = timezone.now()
    stale = list(
        Message.objects.filter(
            status__in=[MessageStatus.PENDING, MessageStatus.SENDING],
            next_attempt_at__lt=now - _stall(),
        ).values_list("pk", "attempts")[:1000]
    )
    requeued = 0
    for pk, attempts in stale:
        # Push the moment on first, so the next sweep does not queue it again while it waits.
        if Message.objects.filter(pk=pk, next_attempt_at__lt=now - _stall()).update(next_attempt_at=now) == 1:
            deliver.enqueue(pk, attempt=min(attempts + 1, max_attempts()))
            requeued += 1
    if requeued:
        logger.warning("requeued %s stalled message(s)", requeued)
    return requeued
