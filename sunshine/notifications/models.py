"""The outbox: one row per message per recipient per channel, written in the caller's transaction.

A row is the unit of delivery and of idempotency: ``(key, channel, recipient)`` is unique, so a
notification asked for twice with the same key is stored (and sent) once. ``delivery_key`` is the
idempotency key handed to the outside gateway: a redelivery after a crash sends the same key.
In-app (``inbox``) rows are delivered by being written; their ``read_at`` is the inbox state.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sunshine.pii.fields import EncryptedCharField


class Audience(models.TextChoices):
    CUSTOMER = "customer", _("customer")
    STAFF = "staff", _("staff")


class ChannelKind(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("e-mail")
    INBOX = "inbox", _("in-app inbox")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("waiting to be sent")
    SENDING = "sending", _("being sent")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed permanently")


class Template(models.Model):
    """A message text an administrator may edit; rendered with Django's template language from a
    restricted context (plain values only, no objects)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices)
    title = models.CharField(_("title"), max_length=100, help_text=_("Inbox title and e-mail subject."))
    body = models.TextField(_("text"))
    # Comma-separated channel codes this template goes out on (customers: sms; staff: inbox, sms, email).
    channels = models.CharField(_("channels"), max_length=40, help_text=_("comma-separated: inbox, sms, email"))
    description = models.CharField(_("when it is sent"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["audience", "code"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def channel_list(self) -> list[str]:
        return [c.strip() for c in self.channels.split(",") if c.strip() in ChannelKind.values]


class Message(models.Model):
    key = models.CharField(_("idempotency key"), max_length=200)
    channel = models.CharField(_("channel"), max_length=8, choices=ChannelKind.choices)
    # Who, for uniqueness: "user:<id>" for staff, "phone:<blind index>" for a customer (sunshine.pii).
    recipient = models.CharField(_("recipient"), max_length=60)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
    )
    # Where it goes: the phone number or e-mail address (blank for the inbox), encrypted at rest.
    address = EncryptedCharField(_("address"), max_length=254, blank=True)
    application = models.ForeignKey(
        "applications.Application",
        verbose_name=_("application"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    template = models.CharField(_("template"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=8, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Earliest moment of the next delivery attempt; also tells the stall sweep a message was lost.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivery_key = models.UUIDField(_("delivery key"), default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["key", "channel", "recipient"], name="message_key_channel_recipient"),
        ]
        indexes = [
            # serves the inbox page and the unread count in the navigation
            models.Index(fields=["user", "channel", "read_at", "-created_at"], name="message_inbox"),
            # serves the stall sweep: only undelivered rows are in it
            models.Index(
                fields=["next_attempt_at"],
                name="message_undelivered",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["status", "-created_at"], name="message_status_created"),
        ]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        # The title is the template's, in Chinese: "申请已受理（短信）".
        return f"{self.title}（{self.get_channel_display()}）"

    @property
    def masked(self) -> str:
        """What the timeline and the job page show: a masked phone or address, or a username."""
        from sunshine.notifications.sms import mask_phone

        if self.channel == ChannelKind.SMS:
            return mask_phone(self.address)
        if self.channel == ChannelKind.EMAIL:
            name, _at, domain = self.address.partition("@")
            return f"{name[:1]}***@{domain}" if domain else "***"
        return self.user.username if self.user else self.recipient
