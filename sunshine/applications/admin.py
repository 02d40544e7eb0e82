"""Read-only views for administrators: changes go through the services (API and workbench)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from sunshine.applications.models import Application, Customer, Event


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventInline(admin.TabularInline):
    model = Event
    extra = 0
    fields = ("at", "type", "stage", "round", "actor", "data")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "category",
        "status",
        "current_stage",
        "customer_name",
        "customer_manager",
        "accepted_at",
    )
    list_filter = ("status", "category", "channel", "key_project")
    search_fields = ("number", "customer_name", "contact_phone")
    inlines = [EventInline]
    list_select_related = ("customer_manager",)


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("name", "id_type", "phone")
    search_fields = ("name",)
