"""Webhook subscriptions in the Django admin: every save is audited (``SubscriptionChange``), the
secret is shown once in a message when made or replaced, failed deliveries are listed with their
last answer and can be sent again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sunshine.accounts.models import User
from sunshine.processes.models import Category
from sunshine.webhooks import feed, services
from sunshine.webhooks.models import ChangeKind, Delivery, DeliveryStatus, Subscription, SubscriptionChange


class SubscriptionForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("event types"),
        choices=[(t.value, feed.type_name(t.value)) for t in feed.PUBLISHED],
        widget=forms.CheckboxSelectMultiple,
    )
    categories = forms.MultipleChoiceField(
        label=gettext_lazy("categories"),
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None chosen: every category."),
    )

    class Meta:
        model = Subscription
        fields = ["name", "url", "event_types", "units", "areas", "categories", "enabled", "allow_personal_data"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        services.validate(url=url)
        return url


def _audit_kind(obj: Subscription) -> str:
    return ChangeKind.CREATED if obj.pk is None else ChangeKind.CHANGED


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["name", "url", "enabled", "paused_at", "allow_personal_data", "owner", "updated_at"]
    list_filter = ["enabled", "allow_personal_data"]
    search_fields = ["name", "url"]
    readonly_fields = ["paused_at", "pause_reason", "owner", "created_at", "updated_at"]
    actions = ["resume", "rotate_secret"]

    def save_model(self, request: HttpRequest, obj: Subscription, form: Any, change: bool) -> None:
        user: User = request.user  # type: ignore[assignment]
        now = timezone.now()
        self._before = services.snapshot(Subscription.objects.get(pk=obj.pk)) if change else None
        obj.updated_at = now
        if not change:
            obj.owner = user
            obj.created_at = now
            obj.secret = services.new_secret()
            messages.warning(
                request,
                _("The secret of this subscription, shown this once: %(secret)s") % {"secret": obj.secret},
            )
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        obj: Subscription = form.instance
        user: User = request.user  # type: ignore[assignment]
        if change:
            services.record(obj, ChangeKind.CHANGED, user, self._before)
        else:
            services.record(obj, ChangeKind.CREATED, user)

    def delete_model(self, request: HttpRequest, obj: Subscription) -> None:
        services.delete(obj, request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for obj in queryset:
            services.delete(obj, request.user)  # type: ignore[arg-type]

    @admin.action(description=gettext_lazy("Resume the chosen subscriptions"))
    def resume(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for sub in queryset.filter(paused_at__isnull=False):
            services.update(sub, request.user, resume=True)  # type: ignore[arg-type]

    @admin.action(description=gettext_lazy("Replace the secret"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for sub in queryset:
            secret = services.rotate_secret(sub, request.user)  # type: ignore[arg-type]
            messages.warning(
                request,
                _("The new secret of %(name)s, shown this once: %(secret)s") % {"name": sub.name, "secret": secret},
            )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["item", "subscription", "application", "status", "attempts", "last_status", "last_attempt_at"]
    list_filter = ["status", "subscription"]
    search_fields = ["application__number"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Send the chosen deliveries again"))
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = 0
        for d in queryset.exclude(status=DeliveryStatus.SENDING).select_related("subscription", "item"):
            count += services.redeliver(d.subscription, request.user, event_id=d.item.event_id)  # type: ignore[arg-type]
        messages.info(request, _("%(count)s deliveries will be sent again.") % {"count": count})


@admin.register(SubscriptionChange)
class SubscriptionChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "name", "kind", "actor"]
    list_filter = ["kind"]
    readonly_fields = [f.name for f in SubscriptionChange._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
