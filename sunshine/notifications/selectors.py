"""Reads of the outbox: the staff inbox, its unread count, failed messages for administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Min, OuterRef, Q, Subquery

from sunshine.accounts.models import User
from sunshine.notifications.models import ChannelKind, Message, MessageStatus, Template


def inbox_page(user: User, *, unread_only: bool = False, offset: int = 0, limit: int = 30) -> list[Message]:
    """The user's inbox, newest first (one query; the index ``message_inbox`` serves it)."""
    qs = Message.objects.filter(user=user, channel=ChannelKind.INBOX).select_related("application")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return list(qs.order_by("-created_at", "-id")[offset : offset + limit])


def unread_count(user: User) -> int:
    return Message.objects.filter(user=user, channel=ChannelKind.INBOX, read_at__isnull=True).count()


def failed_messages(limit: int = 50) -> list[Message]:
    """Permanently failed messages, newest first, each with ``template_title``: the template's
    Chinese name ("申请已受理"), not its code."""
    title = Template.objects.filter(code=OuterRef("template")).values("title")[:1]
    return list(
        Message.objects.filter(status=MessageStatus.FAILED)
        .select_related("application", "user")
        .annotate(template_title=Subquery(title))
        .order_by("-created_at", "-id")[:limit]
    )


def delivery_figures() -> dict[str, Any]:
    """What the operations team watches of the outbox (``/metrics``): undelivered messages
    (waiting, being sent), permanently failed ones, and the creation time of the oldest
    undelivered one (None when none waits). One query over the undelivered and failed rows
    (index ``message_status_created``); sent rows, the bulk of the table, are not read."""
    undelivered = Q(status__in=[MessageStatus.PENDING, MessageStatus.SENDING])
    row = Message.objects.filter(
        status__in=[MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.FAILED]
    ).aggregate(
        pending=Count("pk", filter=Q(status=MessageStatus.PENDING)),
        sending=Count("pk", filter=Q(status=MessageStatus.SENDING)),
        failed=Count("pk", filter=Q(status=MessageStatus.FAILED)),
        oldest=Min("created_at", filter=undelivered),
    )
    oldest: datetime | None = row["oldest"]
    return {"pending": row["pending"], "sending": row["sending"], "failed": row["failed"], "oldest_undelivered": oldest}
