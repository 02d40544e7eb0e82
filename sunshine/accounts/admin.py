"""Staff, roles, service areas and who takes new applications (Django admin, in Chinese).

Labels come from the models' translated verbose names; Django's own admin strings from its
zh-Hans catalogue.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sunshine.accounts.models import Role, ServiceArea, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = (
        "username",
        "full_name",
        "role",
        "work_phone",
        "accepts_assignments",
        "serves_all_areas",
        "area_names",
        "is_active",
    )
    list_filter = ("role", "is_active", "accepts_assignments", "areas")
    search_fields = ("username", "last_name", "first_name", "work_phone", "mobile_phone", "email")
    ordering = ("role", "username")
    filter_horizontal = ("areas", "groups", "user_permissions")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("Sunshine"),
            {
                "fields": (
                    "role",
                    "work_phone",
                    "mobile_phone",
                    "accepts_assignments",
                    "serves_all_areas",
                    "areas",
                )
            },
        ),
        *BaseUserAdmin.fieldsets[1:],  # type: ignore[index]
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (
            _("Sunshine"),
            {"fields": ("last_name", "first_name", "email", "role", "work_phone", "mobile_phone", "areas")},
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("areas")

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, obj: User) -> str:
        return obj.display_name

    @admin.display(description=_("areas"))
    def area_names(self, obj: User) -> str:
        return "、".join(a.name for a in obj.areas.all())


@admin.register(ServiceArea)
class ServiceAreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "keywords", "team_lead", "manager_count")
    autocomplete_fields = ("team_lead",)
    search_fields = ("code", "name", "keywords")
    ordering = ("code",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ServiceArea]:
        areas: QuerySet[ServiceArea] = super().get_queryset(request)
        return areas.select_related("team_lead").annotate(
            _managers=Count(
                "managers",
                filter=Q(managers__role=Role.CUSTOMER_MANAGER, managers__is_active=True),
                distinct=True,
            )
        )

    @admin.display(description=_("customer manager"), ordering="_managers")
    def manager_count(self, obj: Any) -> int:
        return int(obj._managers)
