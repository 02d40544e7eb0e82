from django.contrib import admin

from sunshine.processes.models import ProcessTemplate, StageTemplate


class StageTemplateInline(admin.TabularInline):
    model = StageTemplate
    extra = 0
    fields = (
        "position",
        "code",
        "name_zh",
        "name_en",
        "owner",
        "time_limit_days",
        "optional",
        "has_outcome",
        "actor_roles",
    )


@admin.register(ProcessTemplate)
class ProcessTemplateAdmin(admin.ModelAdmin):
    """A new version (with its effective date and source) applies to applications accepted from
    that date; applications keep the version they were accepted under."""

    list_display = ("category", "version", "effective_from", "end_to_end_limit_days", "source_note")
    list_filter = ("category",)
    inlines = [StageTemplateInline]
