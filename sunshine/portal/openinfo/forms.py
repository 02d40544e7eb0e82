"""Forms of the public information pages (GET forms: bookmarkable, no state changes)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sunshine.directory.models import ContractorKind, LicenceClass


class CatalogueDateForm(forms.Form):
    on = forms.DateField(
        label=_("Catalogue in force on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class CalculatorForm(forms.Form):
    capacity_kva = forms.DecimalField(
        label=_("Capacity of the additional supply circuit(s) (kVA)"),
        min_value=Decimal("0.01"),
        max_value=Decimal("10000000"),
        decimal_places=2,
        max_digits=12,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    voltage_level = forms.ChoiceField(label=_("Supply voltage"))

    def __init__(self, *args: object, levels: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["voltage_level"].choices = levels  # type: ignore[attr-defined]


class ContractorFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All kinds")), *ContractorKind.choices])
    licence_class = forms.ChoiceField(
        label=_("Licence class"), required=False, choices=[("", _("Any licence")), *LicenceClass.choices]
    )
    q = forms.CharField(label=_("Name, pinyin or area"), required=False, max_length=100)
    seed = forms.RegexField(regex=r"^[0-9a-f]{1,32}$", required=False, widget=forms.HiddenInput)
    page = forms.IntegerField(required=False, min_value=1, max_value=100000, widget=forms.HiddenInput)


class StatisticsForm(forms.Form):
    month = forms.RegexField(
        label=_("Month"),
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-10"}),
        help_text=_("A whole month; or leave it empty and give the first and last day."),
    )
    from_date = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    to_date = forms.DateField(
        label=pgettext_lazy("public statistics", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    category = forms.ChoiceField(label=pgettext_lazy("public statistics", "Category"), required=False)
    # The company levels (province, cities, counties) by code; empty: the whole company.
    unit = forms.ChoiceField(label=_("Company"), required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        from sunshine.accounts import units
        from sunshine.processes.models import Category

        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["category"].choices = [("", _("All categories")), *Category.choices]  # type: ignore[attr-defined]
        levels = units.tree().public_units()
        self.fields["unit"].choices = [  # type: ignore[attr-defined]
            (n.code, "\u3000" * (n.depth - 1) + n.name) for n in levels
        ]
        if len(levels) < 2:
            self.fields["unit"].widget = forms.HiddenInput()

    def clean(self) -> dict[str, object]:
        import calendar
        from datetime import date

        data = super().clean() or {}
        month = data.get("month")
        if month:
            y, m = (int(p) for p in str(month).split("-"))
            data["from_date"] = date(y, m, 1)
            data["to_date"] = date(y, m, calendar.monthrange(y, m)[1])
        f, t = data.get("from_date"), data.get("to_date")
        if f and t and f > t:
            self.add_error("to_date", _("The last day must not be before the first."))
        elif f and t and (t - f).days > 3 * 366:
            self.add_error("to_date", _("Ask for at most three years at a time."))
        return data
