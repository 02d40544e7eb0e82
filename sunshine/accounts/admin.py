from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from sunshine.accounts.models import ServiceArea, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "last_name", "first_name", "role", "work_phone", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        ("阳光业扩", {"fields": ("role", "work_phone", "accepts_assignments", "serves_all_areas", "areas")}),
    )


@admin.register(ServiceArea)
class ServiceAreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "keywords", "team_lead")
    autocomplete_fields = ("team_lead",)
