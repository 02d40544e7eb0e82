"""The calendar in the Django admin.

Every save or delete here re-projects the deadlines of open stages (with a reason naming the
year and the administrator) and is recorded as a ``CalendarChange``. A year's notice is best
entered as a whole with "import a notice" (CSV ``date,kind,name``) on the calendar years page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sunshine.calendar import services
from sunshine.calendar.checks import provisional_message, provisional_years
from sunshine.calendar.models import CalendarChange, CalendarDay, CalendarYear, DayKind, YearStatus


def _user_label(request: HttpRequest) -> str:
    user = request.user
    return getattr(user, "get_username", lambda: "?")()


def _admin_reason(years: list[int], request: HttpRequest, what: str) -> str:
    return _("%(years)s calendar %(what)s by %(user)s in the admin") % {
        "years": ", ".join(str(y) for y in sorted(set(years))),
        "what": what,
        "user": _user_label(request),
    }


def _reproject(request: HttpRequest, years: list[int], what: str) -> None:
    reason = _admin_reason(years, request, what)
    change = services.reproject(reason, request.user, years, summary=what)
    messages.info(
        request,
        _("Deadlines re-projected: %(count)s open stages moved.") % {"count": change.stages_moved},
    )


def _touch_years(years: list[int]) -> None:
    """Bump ``updated_at`` of the years edited day by day, so other processes notice the change
    (the loaded calendar is keyed on the table's counts and latest ``updated_at``)."""
    for y in set(years):
        row = CalendarYear.objects.filter(year=y).first()
        if row is not None:
            row.save(update_fields=["updated_at"])


class ProvisionalWarningMixin:
    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # On the page shown, not on a POST to the list (an action) that redirects to it.
        if request.method == "GET":
            for year in provisional_years():
                messages.warning(request, provisional_message(year))
        return super().changelist_view(request, extra_context)  # type: ignore[misc,no-any-return]


class YearFilter(admin.SimpleListFilter):
    title = gettext_lazy("year")
    parameter_name = "year"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        years = {d.year for d in CalendarDay.objects.dates("date", "year")}
        years |= set(CalendarYear.objects.values_list("year", flat=True))
        return [(str(y), str(y)) for y in sorted(years, reverse=True)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(date__year=int(value))
        return queryset


class CalendarDayForm(forms.ModelForm):
    class Meta:
        model = CalendarDay
        fields = ["date", "kind", "name", "source"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day, kind = data.get("date"), data.get("kind")
        if day and kind == DayKind.WORKDAY and day.weekday() < 5:
            raise ValidationError(
                _("%(date)s is a weekday; only a Saturday or Sunday can be an adjusted working day.")
                % {"date": day.isoformat()}
            )
        return data


@admin.register(CalendarDay)
class CalendarDayAdmin(ProvisionalWarningMixin, admin.ModelAdmin):
    form = CalendarDayForm
    list_display = ("date", "weekday", "kind", "holiday_name", "source")
    list_filter = (YearFilter, "kind")
    search_fields = ("name", "source")
    date_hierarchy = "date"

    @admin.display(description=gettext_lazy("weekday"))
    def weekday(self, obj: CalendarDay) -> str:
        return formats.date_format(obj.date, "l")  # 星期一 … / Monday …

    @admin.display(description=gettext_lazy("name"), ordering="name")
    def holiday_name(self, obj: CalendarDay) -> str:
        # The seeded names are the calendar package's English ones ("National Day"); the
        # catalogue has them in Chinese (the same words as the deadline explanation).
        return _(obj.name) if obj.name else ""

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        years = [obj.date.year]
        if change and "date" in form.changed_data and form.initial.get("date"):
            years.append(form.initial["date"].year)
        super().save_model(request, obj, form, change)
        _touch_years(years)
        _reproject(request, years, _("day %(date)s saved") % {"date": obj.date.isoformat()})

    def delete_model(self, request: HttpRequest, obj: CalendarDay) -> None:
        year, label = obj.date.year, obj.date.isoformat()
        super().delete_model(request, obj)
        _touch_years([year])
        _reproject(request, [year], _("day %(date)s deleted") % {"date": label})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarDay]) -> None:
        years = sorted({d.year for d in queryset.values_list("date", flat=True)})
        count = queryset.count()
        super().delete_queryset(request, queryset)
        if years:
            _touch_years(years)
            _reproject(request, years, _("%(count)s days deleted") % {"count": count})


class ImportNoticeForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("year"), min_value=2004, max_value=9999)
    status = forms.ChoiceField(label=gettext_lazy("status"), choices=YearStatus.choices, initial=YearStatus.OFFICIAL)
    source = forms.CharField(
        label=gettext_lazy("source"),
        max_length=services.SOURCE_MAX,
        help_text=gettext_lazy("e.g. the notice's title and number"),
    )
    reason = forms.CharField(
        label=gettext_lazy("reason"), max_length=services.REASON_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )
    csv_file = forms.FileField(
        label=gettext_lazy("notice CSV"),
        help_text=gettext_lazy(
            "Header date,kind,name; kind holiday/休 or workday/班; one row per day off (weekends "
            "included) and per adjusted working weekend day. Replaces all days of that year."
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("csv_file")
        if upload is not None and data.get("year"):
            try:
                days = services.parse_notice_csv(services.decode_upload(upload.read()))
                data["days"] = services.validate_days(data["year"], days, data.get("status") or "")
            except ValidationError as exc:
                self.add_error("csv_file", exc)
        return data


@admin.register(CalendarYear)
class CalendarYearAdmin(ProvisionalWarningMixin, admin.ModelAdmin):
    list_display = ("year", "status", "source", "confirmed_by", "updated_at")
    list_filter = ("status",)
    readonly_fields = ("confirmed_by", "updated_at")
    fields = ("year", "status", "source", "confirmed_by", "updated_at")

    def save_model(self, request: HttpRequest, obj: CalendarYear, form: Any, change: bool) -> None:
        obj.confirmed_by = request.user if obj.status == YearStatus.OFFICIAL else None  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        _reproject(request, [obj.year], _("year saved as %(status)s") % {"status": obj.get_status_display()})

    def delete_model(self, request: HttpRequest, obj: CalendarYear) -> None:
        year = obj.year
        super().delete_model(request, obj)
        _reproject(request, [year], _("year deleted (now provisional)"))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarYear]) -> None:
        years = list(queryset.values_list("year", flat=True))
        super().delete_queryset(request, queryset)
        if years:
            _reproject(request, years, _("years deleted (now provisional)"))

    def get_urls(self) -> list[Any]:
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="workcalendar_calendaryear_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        if request.method == "POST":
            form = ImportNoticeForm(request.POST, request.FILES)
            if form.is_valid():
                data = form.cleaned_data
                reason = _("%(year)s calendar imported by %(user)s in the admin: %(reason)s") % {
                    "year": data["year"],
                    "user": _user_label(request),
                    "reason": data["reason"].strip(),
                }
                try:
                    result = services.apply_notice(
                        data["year"],
                        data["days"],
                        source=data["source"],
                        reason=reason,
                        actor=request.user,
                        status=data["status"],
                    )
                except ValidationError as exc:
                    form.add_error(None, exc)
                else:
                    messages.success(
                        request,
                        _("%(year)s: %(days)s days imported; %(moved)s open deadlines moved.")
                        % {"year": data["year"], "days": result.days, "moved": result.stages_moved},
                    )
                    return HttpResponseRedirect(reverse("admin:workcalendar_calendaryear_changelist"))
        else:
            form = ImportNoticeForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import a holiday notice"),
            "form": form,
        }
        return TemplateResponse(request, "admin/workcalendar/calendaryear/import_notice.html", context)


@admin.register(CalendarChange)
class CalendarChangeAdmin(admin.ModelAdmin):
    list_display = ("at", "year", "actor", "reason", "stages_moved")
    list_filter = ("year",)
    readonly_fields = ("at", "year", "actor", "reason", "summary", "stages_moved")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
