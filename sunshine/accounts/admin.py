"""Staff, roles, service areas and who takes new applications (Django admin, in Chinese).

Labels come from the models' translated verbose names; Django's own admin strings from its
zh-Hans catalogue.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, Permission
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sunshine.accounts import units
from sunshine.accounts.models import Role, ServiceArea, Unit, UnitChange, User

# Django stores a permission's name in English when it creates it ("Can add staff member"); the
# four default actions are named here from the model's translated name, the others translated.
PERMISSION_ACTIONS = {
    "add": _("may add %(model)s"),
    "change": _("may change %(model)s"),
    "delete": _("may delete %(model)s"),
    "view": _("may view %(model)s"),
}


def permission_label(permission: Permission) -> str:
    model = permission.content_type.model_class()
    action, _sep, model_name = permission.codename.partition("_")
    if model is None:
        return gettext(permission.name)
    meta = model._meta
    if action in PERMISSION_ACTIONS and model_name == meta.model_name:
        what = str(PERMISSION_ACTIONS[action]) % {"model": meta.verbose_name}
    else:
        what = gettext(permission.name)
    return f"{meta.app_config.verbose_name}｜{what}"


def label_permissions(field: Any) -> Any:
    """A permission picker lists permissions by their Chinese names."""
    if isinstance(field, forms.ModelMultipleChoiceField) and field.queryset is not None:
        field.queryset = field.queryset.select_related("content_type")
        field.label_from_instance = permission_label  # type: ignore[method-assign,assignment]
    return field


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    def formfield_for_manytomany(self, db_field: Any, request: Any = None, **kwargs: Any) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        return label_permissions(field) if db_field.name == "permissions" else field


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = (
        "username",
        "full_name",
        "role",
        "unit",
        "work_phone",
        "accepts_assignments",
        "serves_all_areas",
        "area_names",
        "is_active",
    )
    list_filter = ("role", "unit", "is_active", "accepts_assignments", "areas")
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
                    "unit",
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
            {
                "fields": (
                    "last_name",
                    "first_name",
                    "email",
                    "role",
                    "unit",
                    "work_phone",
                    "mobile_phone",
                    "areas",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).select_related("unit").prefetch_related("areas")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if "unit" in form.base_fields:
            # Staff see their unit's subtree: the administrator places each person explicitly.
            form.base_fields["unit"].required = True
        return form

    def formfield_for_manytomany(self, db_field: Any, request: Any = None, **kwargs: Any) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        return label_permissions(field) if db_field.name == "user_permissions" else field

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, obj: User) -> str:
        return obj.display_name

    @admin.display(description=_("areas"))
    def area_names(self, obj: User) -> str:
        return "、".join(a.name for a in obj.areas.all())


@admin.register(ServiceArea)
class ServiceAreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "unit", "keywords", "team_lead", "manager_count")
    list_filter = ("unit",)
    autocomplete_fields = ("team_lead",)
    search_fields = ("code", "name", "keywords")
    ordering = ("code",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ServiceArea]:
        areas: QuerySet[ServiceArea] = super().get_queryset(request)
        return areas.select_related("team_lead", "unit").annotate(
            _managers=Count(
                "managers",
                filter=Q(managers__role=Role.CUSTOMER_MANAGER, managers__is_active=True),
                distinct=True,
            )
        )

    @admin.display(description=_("customer manager"), ordering="_managers")
    def manager_count(self, obj: Any) -> int:
        return int(obj._managers)


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    """The tree of units. Saves and deletes go through ``accounts.units`` (each one recorded as
    a ``UnitChange``; a moved unit takes its subtree with it)."""

    list_display = ("indented_name", "code", "kind", "path", "hotline")
    list_filter = ("kind", "depth")
    search_fields = ("code", "name", "path")
    ordering = ("path",)
    readonly_fields = ("path", "depth")
    fields = ("code", "name", "kind", "parent", "path", "depth", "hotline", "address")

    @admin.display(description=_("name"), ordering="path")
    def indented_name(self, obj: Unit) -> str:
        return "\u3000" * (obj.depth - 1) + obj.name

    def save_model(self, request: HttpRequest, obj: Unit, form: Any, change: bool) -> None:
        units.save_unit(obj, request.user if isinstance(request.user, User) else None)

    def delete_model(self, request: HttpRequest, obj: Unit) -> None:
        units.delete_unit(obj, request.user if isinstance(request.user, User) else None)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Unit]) -> None:
        for unit in queryset.order_by("-depth"):
            self.delete_model(request, unit)


@admin.register(UnitChange)
class UnitChangeAdmin(admin.ModelAdmin):
    """Read only: the audit trail of the tree."""

    list_display = ("at", "code", "action", "actor")
    list_filter = ("action",)
    search_fields = ("code",)
    readonly_fields = ("unit", "code", "action", "at", "actor", "before", "after")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
