"""Reads of the outbox: the staff inbox, its unread count, failed messages for administrators."""

from __future__ import annotations

from sunshine.accounts.models import User
from sunshine.notifications.models import ChannelKind, Message, MessageStatus


def inbox_page(user: User, *, unread_only: bool = False, offset: int = 0, limit: int = 30) -> list[Message]:
    """The user's inbox, newest first (one query; the index ``message_inbox`` serves it)."""
    qs = Message.objects.filter(user=user, channel=ChannelKind.INBOX).select_related("application")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return list(qs.order_by("-created_at", "-id")[offset : offset + limit])


def unread_count(user: User) -> int:
    return Message.objects.filter(user=user, channel=ChannelKind.INBOX, read_at__isnull=True).count()


def failed_messages(limit: int = 50) -> list[Message]:
    return list(
        Message.objects.filter(status=MessageStatus.FAILED)
        .select_related("application", "user")
        .order_by("-created_at", "-id")[:limit]
    )
