"""Process templates in the admin.

A version some application was accepted under is read-only here (its limits are what that
customer was promised); "new version" copies it with an effective date and a source, and the
copy is edited until applications start using it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sunshine.accounts.models import Role
from sunshine.processes import services
from sunshine.processes.models import ProcessTemplate, StageTemplate

STAGE_FIELDS = (
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


class StageTemplateForm(forms.ModelForm):
    # The roles as ticks with their Chinese names, not a JSON list to type.
    actor_roles = forms.MultipleChoiceField(
        label=gettext_lazy("roles that act"),
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = StageTemplate
        fields = STAGE_FIELDS


class StageTemplateInline(admin.TabularInline):
    model = StageTemplate
    form = StageTemplateForm
    extra = 0
    fields = STAGE_FIELDS

    def _locked(self, obj: ProcessTemplate | None) -> bool:
        return obj is not None and obj.pk is not None and services.in_use(obj)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if self._locked(obj):
            return tuple("roles" if f == "actor_roles" else f for f in STAGE_FIELDS)
        return STAGE_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj) if self._locked(obj) else ()

    @admin.display(description=gettext_lazy("roles that act"))
    def roles(self, obj: StageTemplate) -> str:
        labels = dict(Role.choices)
        return "、".join(str(labels.get(r, r)) for r in obj.actor_roles or [])

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._locked(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._locked(obj) and super().has_delete_permission(request, obj)


class NewVersionForm(forms.Form):
    effective_from = forms.DateField(
        label=gettext_lazy("effective from"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Applications accepted from this day use the new version."),
    )
    source_note = forms.CharField(
        label=gettext_lazy("source"),
        max_length=300,
        help_text=gettext_lazy("The notice or rule the new limits come from."),
    )


@admin.register(ProcessTemplate)
class ProcessTemplateAdmin(admin.ModelAdmin):
    list_display = ("category", "version", "effective_from", "end_to_end_limit_days", "in_use_label", "source_note")
    list_filter = ("category",)
    ordering = ("category", "-effective_from", "-version")
    inlines = [StageTemplateInline]
    actions = ["make_new_version"]
    change_form_template = "admin/processes/processtemplate/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProcessTemplate]:
        return services.with_in_use(super().get_queryset(request))

    @admin.display(description=gettext_lazy("in use"), boolean=True)
    def in_use_label(self, obj: Any) -> bool:
        return bool(obj._in_use)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and services.in_use(obj):
            return ("category", "version", "effective_from", "source_note", "end_to_end_limit_days")
        return ("version",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and services.in_use(obj):
            return False
        return super().has_delete_permission(request, obj)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        extra = {**(extra_context or {})}
        if obj is not None:
            extra["in_use"] = services.in_use(obj)
            extra["new_version_url"] = reverse("admin:processes_processtemplate_new_version", args=[obj.pk])
            if extra["in_use"] and request.method == "GET":
                messages.info(
                    request,
                    _("Applications use this version, so it is read-only. Make a new version to change it."),
                )
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/new-version/",
                self.admin_site.admin_view(self.new_version_view),
                name="processes_processtemplate_new_version",
            ),
            *super().get_urls(),
        ]

    @admin.action(description=gettext_lazy("New version with an effective date"))
    def make_new_version(self, request: HttpRequest, queryset: QuerySet[ProcessTemplate]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one version to copy."), messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:processes_processtemplate_new_version", args=[queryset.get().pk]))

    def new_version_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        source = get_object_or_404(ProcessTemplate, pk=pk)
        if request.method == "POST":
            form = NewVersionForm(request.POST)
            if form.is_valid():
                try:
                    copy = services.new_version(
                        source,
                        effective_from=form.cleaned_data["effective_from"],
                        source_note=form.cleaned_data["source_note"],
                    )
                except ValidationError as exc:
                    for field, errors in exc.message_dict.items():
                        for e in errors:
                            form.add_error(field if field in form.fields else None, e)
                else:
                    self.log_addition(request, copy, [{"added": {}}])
                    self.message_user(
                        request,
                        _("Version %(version)s of %(category)s created, in force from %(date)s. Edit it now.")
                        % {
                            "version": copy.version,
                            "category": copy.get_category_display(),
                            "date": copy.effective_from.isoformat(),
                        },
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:processes_processtemplate_change", args=[copy.pk]))
        else:
            form = NewVersionForm(initial={"effective_from": timezone.localdate(), "source_note": source.source_note})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("New version of %(template)s") % {"template": source},
            "source": source,
            "form": form,
        }
        return TemplateResponse(request, "admin/processes/processtemplate/new_version.html", context)
