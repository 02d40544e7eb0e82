from django.contrib import admin
from django.http import HttpRequest

from sunshine.notifications.models import Message, Template


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["code", "audience", "title", "channels", "updated_at"]
    list_filter = ["audience"]
    search_fields = ["code", "title", "body"]
    readonly_fields = ["code", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the codes are fixed by the code that sends them

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "template", "channel", "recipient", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "template"]
    search_fields = ["key", "recipient", "application__number"]
    raw_id_fields = ["user", "application"]
    readonly_fields = [f.name for f in Message._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
