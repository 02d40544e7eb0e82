"""Notifications: write outbox rows in the caller's transaction; jobs deliver them.

``notify_staff`` and ``notify_customer`` are idempotent per ``key``: a row is unique per
``(key, channel, recipient)``, so asking twice with the same key stores and sends nothing new.
Both return the number of new messages. The job workers claim due rows in batches and deliver
them (``sunshine.notifications.tasks.deliver_due``): SMS and e-mail go out through their channel;
inbox rows are readable at once and marked delivered the same way. Delivery writes
``notification_sent`` (or, after the last failed attempt, ``notification_failed``) on the timeline
of the application when one is given. (No ``notification_queued`` event: the timeline records
what happened to the customer's case, and a queued message has not happened yet.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models.constants import OnConflict
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from sunshine.accounts.models import User
from sunshine.applications.models import Application
from sunshine.caching import Recent
from sunshine.errors import Conflict, NotFound
from sunshine.notifications.defaults import DEFAULT_TEMPLATES
from sunshine.notifications.models import ChannelKind, Message, MessageStatus, Template
from sunshine.notifications.rendering import render
from sunshine.pii.crypto import phone_index


def masked_recipient(message: Message) -> str:
    return message.masked


# Read on every notifying change: kept per process (sunshine/caching.py), forgotten at once when
# this process edits a template, within its SECONDS when another one does.
_templates: Recent[Template | None] = Recent("notification templates")
post_save.connect(_templates.changed, sender=Template, weak=False, dispatch_uid="notifications_templates_saved")
post_delete.connect(_templates.changed, sender=Template, weak=False, dispatch_uid="notifications_templates_deleted")


def _template(code: str) -> Template:
    """The administrator's version of template ``code``, else the shipped default (a flushed test
    database or a deleted row must not stop the change that notifies)."""
    template = _templates.get(code, lambda: Template.objects.filter(code=code).first())
    if template is not None:
        return template
    for row in DEFAULT_TEMPLATES:
        if row[0] == code:
            return Template(code=row[0], audience=row[1], channels=row[2], title=row[3], body=row[4])
    raise NotFound(_("No message template %(code)s.") % {"code": code}, "template_not_found")


def application_context(app: Application) -> dict[str, Any]:
    """Values every application message may use (never the ID number or the full phone)."""
    manager = app.customer_manager
    return {
        "number": app.number,
        "customer_name": app.customer_name,
        "address": app.address,
        "manager_name": manager.display_name if manager else "",
        "manager_phone": manager.work_phone if manager else "",
    }


def _write(rows: list[Message]) -> int:
    """Insert ``rows`` skipping those whose (key, channel, recipient) exists; the workers deliver
    the new ones once committed. Returns how many were new."""
    if not rows:
        return 0
    return len(_insert_new(rows))


def _insert_new(rows: list[Message]) -> list[int]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: the pks of the rows that were new, in one
    statement (PostgreSQL, and SQLite ≥ 3.35). Elsewhere: insert, then read them back."""
    features = connections[Message.objects.db].features
    if not features.can_return_rows_from_bulk_insert:
        fresh_keys = {r.delivery_key for r in rows}
        Message.objects.bulk_create(rows, ignore_conflicts=True)
        return list(Message.objects.filter(delivery_key__in=fresh_keys).values_list("pk", flat=True))
    opts = Message._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    returned = Message.objects._insert(  # type: ignore[attr-defined]
        rows, fields=fields, returning_fields=[opts.pk], on_conflict=OnConflict.IGNORE
    )
    return [row[0] for row in returned or [] if row is not None]  # None: a conflicting single row


def notify_staff(
    users: Iterable[User],
    template: str,
    context: dict[str, Any],
    *,
    application: Application | None = None,
    key: str,
) -> int:
    """One message per user per channel of ``template`` (inbox always; SMS to the private mobile
    phone and e-mail when the template lists them and the user has one). Call inside the transaction of the
    change that causes it."""
    return write_messages(staff_messages(users, template, context, application=application, key=key))


def write_messages(rows: list[Message]) -> int:
    """Store messages built by ``staff_messages`` (for many notices at once: one INSERT), with
    ``notify_staff``'s idempotency per key; returns how many were new."""
    return _write(rows)


def staff_messages(
    users: Iterable[User],
    template: str,
    context: dict[str, Any],
    *,
    application: Application | None = None,
    key: str,
) -> list[Message]:
    """The unsaved rows ``notify_staff`` would write (see ``write_messages``)."""
    tpl = _template(template)
    values = {**(application_context(application) if application else {}), **context}
    title, body = render(tpl.title, values), render(tpl.body, values)
    now = timezone.now()
    channels = set(tpl.channel_list()) | {ChannelKind.INBOX.value}
    rows: list[Message] = []
    seen: set[int] = set()
    for user in users:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        targets = [(ChannelKind.INBOX, "")]
        # The private mobile, never the work phone: that one is published to customers.
        if ChannelKind.SMS in channels and user.mobile_phone:
            targets.append((ChannelKind.SMS, user.mobile_phone))
        if ChannelKind.EMAIL in channels and user.email:
            targets.append((ChannelKind.EMAIL, user.email))
        for channel, address in targets:
            rows.append(
                Message(
                    key=key,
                    channel=channel,
                    recipient=f"user:{user.pk}",
                    user=user,
                    address=address,
                    application=application,
                    template=template,
                    title=title,
                    body=body,
                    status=MessageStatus.PENDING,
                    next_attempt_at=now,
                    created_at=now,
                    delivery_key=uuid.uuid4(),
                )
            )
    return rows


def notify_customer(application: Application, template: str, context: dict[str, Any], *, key: str) -> int:
    """One SMS to the application's contact phone. Call inside the transaction of the change."""
    row = customer_message(application, template, context, key=key)
    return _write([row]) if row is not None else 0


def customer_message(application: Application, template: str, context: dict[str, Any], *, key: str) -> Message | None:
    """The unsaved row ``notify_customer`` would write (None without a contact phone); store
    many with ``write_messages`` (one INSERT)."""
    tpl = _template(template)
    values = {**application_context(application), **context}
    phone = application.contact_phone
    if not phone:
        return None
    now = timezone.now()
    return Message(
        key=key,
        channel=ChannelKind.SMS,
        recipient=f"phone:{phone_index(phone)}",  # unique per phone, without the phone in clear
        address=phone,
        application=application,
        template=template,
        title=render(tpl.title, values),
        body=render(tpl.body, values),
        status=MessageStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
        delivery_key=uuid.uuid4(),
    )


# --- inbox ------------------------------------------------------------------------------------


def mark_read(user: User, message_ids: Iterable[int] | None = None) -> int:
    """Mark the user's unread inbox messages read (all of them when ``message_ids`` is None);
    another user's message ids are ignored. Returns how many changed."""
    qs = Message.objects.filter(user=user, channel=ChannelKind.INBOX, read_at__isnull=True)
    if message_ids is not None:
        qs = qs.filter(pk__in=list(message_ids))
    return qs.update(read_at=timezone.now())


# --- administrators ---------------------------------------------------------------------------


def retry_message(message_id: int) -> Message:
    """Put a permanently failed message back in the queue with fresh attempts (same key)."""
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            raise NotFound(_("No such message."), "message_not_found")
        if message.status != MessageStatus.FAILED:
            raise Conflict(_("Only a failed message can be retried."), "message_not_failed")
        message.status = MessageStatus.PENDING
        message.attempts = 0
        message.next_attempt_at = timezone.now()
        message.save(update_fields=["status", "attempts", "next_attempt_at"])
    return message


def max_attempts() -> int:
    return int(settings.SUNSHINE_DELIVERY_MAX_ATTEMPTS)


def backoff_seconds() -> float:
    return float(settings.SUNSHINE_DELIVERY_BACKOFF_SECONDS)
