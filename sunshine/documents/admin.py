from django.contrib import admin

from sunshine.documents.models import DocumentKind


@admin.register(DocumentKind)
class DocumentKindAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "identity", "needed_by_stage", "position", "active"]
    list_editable = ["position", "active"]
    ordering = ["position", "code"]
