from django.contrib import admin
from django.http import HttpRequest

from sunshine.supervision.models import LeaderSupervision, RungMoment, SupervisionNote


@admin.register(RungMoment)
class RungMomentAdmin(admin.ModelAdmin):
    """Read-only: the engine and the sweep own these rows."""

    list_display = ("stage", "rung_code", "due_at", "deadline", "fired_at")
    list_filter = ("rung_code",)
    raw_id_fields = ("stage",)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class NoteInline(admin.TabularInline):
    model = SupervisionNote
    extra = 0
    raw_id_fields = ("author",)


@admin.register(LeaderSupervision)
class LeaderSupervisionAdmin(admin.ModelAdmin):
    list_display = ("application", "leader", "target_date", "started_at", "ended_at")
    raw_id_fields = ("application", "leader", "ended_by")
    inlines = [NoteInline]
