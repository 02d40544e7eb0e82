"""Read-only views for administrators: changes go through the services (API and workbench)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sunshine.applications.models import Application, Customer, Event
from sunshine.pii.masking import mask_id, mask_phone


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
    search_fields = ("number", "customer_name")
    # The phone is shown masked (and cannot be searched here: it is encrypted; the desk searches it).
    exclude = ("contact_phone", "contact_phone_index")
    readonly_fields = ("masked_phone",)
    inlines = [EventInline]
    list_select_related = ("customer_manager",)

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Application) -> str:
        return mask_phone(obj.contact_phone)


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("name", "id_type", "masked_id", "masked_phone")
    exclude = ("id_number", "id_number_index", "phone")
    readonly_fields = ("masked_id", "masked_phone")
    search_fields = ("name",)

    @admin.display(description=_("ID number"))
    def masked_id(self, obj: Customer) -> str:
        return mask_id(obj.id_number)

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Customer) -> str:
        return mask_phone(obj.phone)
