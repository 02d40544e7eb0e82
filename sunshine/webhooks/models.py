"""Subscriptions of other systems to the case engine's events, the event feed and the deliveries
(docs/integration.md).

- ``Subscription``: a callback URL an administrator registers, with the event types it wants,
  its filters (units with their subtrees, service areas, categories), its signing secret and whether it may receive
  personal data. Every change is a ``SubscriptionChange`` row.
- ``FeedItem``: every published event with its ``position``, the event feed's commit order
  (``feed.py``). Positions are given under the lock of the one ``FeedCounter`` row, held until
  the transaction commits, so they become visible in increasing order with no gap.
- ``Delivery``: one event owed to one subscription, sent by the workers (``delivery.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sunshine.accounts.models import ServiceArea, Unit
from sunshine.pii.fields import EncryptedCharField


class Subscription(models.Model):
    name = models.CharField(_("name"), max_length=100)
    url = models.CharField(_("callback URL"), max_length=500)
    # EventType values (the feed's vocabulary, feed.PUBLISHED).
    event_types = models.JSONField(_("event types"), default=list)
    # Filters: empty means every unit / area / category. A unit stands for its whole subtree
    # (accounts.Unit.path); an application belongs to the unit it was in when the event happened.
    units = models.ManyToManyField(
        Unit,
        blank=True,
        related_name="+",
        verbose_name=_("units"),
        help_text=_("Each unit with every unit below it. None chosen: every unit."),
    )
    areas = models.ManyToManyField(ServiceArea, blank=True, related_name="+", verbose_name=_("service areas"))
    categories = models.JSONField(_("categories"), default=list, blank=True)
    # Standard Webhooks secret "whsec_<base64>", encrypted at rest; shown once when made.
    secret = EncryptedCharField(_("secret"), max_length=60, editable=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Set by the workers when deliveries keep failing; deliveries wait until it is cleared.
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    pause_reason = models.CharField(_("pause reason"), max_length=500, blank=True)
    allow_personal_data = models.BooleanField(
        _("may receive personal data"),
        default=False,
        help_text=_("Full phone numbers and ID numbers in the events sent to this address."),
    )
    # Told when the subscription is paused.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner")
    )
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.name

    @property
    def active(self) -> bool:
        return self.enabled and self.paused_at is None


class ChangeKind(models.TextChoices):
    CREATED = "created", _("created")
    CHANGED = "changed", _("changed")
    SECRET_ROTATED = "secret_rotated", _("secret replaced")
    PAUSED = "paused", _("paused after failures")
    DELETED = "deleted", _("deleted")
    REDELIVERY = "redelivery", _("redelivery asked")


class SubscriptionChange(models.Model):
    """Audit trail of subscriptions: who changed what and when (the values before and after;
    never the secret)."""

    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    name = models.CharField(_("subscription"), max_length=100)
    kind = models.CharField(_("change"), max_length=20, choices=ChangeKind.choices)
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("changed by"),
    )
    # {"field": [before, after]} for a change; the new values for a creation.
    changes = models.JSONField(_("what changed"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("webhook subscription change")
        verbose_name_plural = _("webhook subscription changes")

    def __str__(self) -> str:
        return f"{self.name} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class FeedCounter(models.Model):
    """The one row whose lock orders the feed: the last position given."""

    position = models.BigIntegerField(default=0)
    # Events up to this id existed before the feed (never published, never caught up).
    since_event = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("feed counter")
        verbose_name_plural = _("feed counters")

    def __str__(self) -> str:
        return str(self.position)


class FeedItem(models.Model):
    """One published event at its place in the feed (commit order)."""

    position = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField("applications.Event", on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey("applications.Application", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["position"]
        indexes = [models.Index(fields=["at"], name="feed_item_at")]
        verbose_name = _("feed item")
        verbose_name_plural = _("feed items")

    def __str__(self) -> str:
        return f"{self.position}: event {self.event_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("waiting to be sent")
    SENDING = "sending", _("being sent")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


class Delivery(models.Model):
    """One event owed to one subscription. Within one subscription and one application, a
    delivery is sent only when every earlier one (lower ``item``) is delivered or failed."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("subscription")
    )
    item = models.ForeignKey(FeedItem, on_delete=models.CASCADE, related_name="+", verbose_name=_("feed position"))
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="+", verbose_name=_("application")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Earliest next attempt (for "sending": when its worker is presumed dead).
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    first_attempt_at = models.DateTimeField(_("first attempt at"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_response = models.TextField(_("last response"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-item_id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "item"], name="delivery_once_per_item")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_undelivered",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["subscription", "application", "item"], name="delivery_order"),
            models.Index(fields=["status", "-last_attempt_at"], name="delivery_status"),
        ]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.subscription_id}:{self.item_id} {self.status}"
