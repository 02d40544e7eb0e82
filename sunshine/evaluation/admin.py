from django.contrib import admin
from django.http import HttpRequest

from sunshine.evaluation.models import EvaluationRule, EvaluationSnapshot


@admin.register(EvaluationRule)
class EvaluationRuleAdmin(admin.ModelAdmin):
    list_display = ["effective_from", "weights", "complaint_penalty", "bottom_n", "consecutive_periods"]


@admin.register(EvaluationSnapshot)
class EvaluationSnapshotAdmin(admin.ModelAdmin):
    list_display = ["period", "version", "frozen_at", "frozen_by", "reason"]
    readonly_fields = ["period", "starts_on", "ends_on", "version", "frozen_at", "frozen_by", "reason", "rule"]

    def has_add_permission(self, request: HttpRequest) -> bool:  # snapshots are made by freezing, never by hand
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
