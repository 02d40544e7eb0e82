"""Forms of the public information pages (GET forms: bookmarkable, no state changes)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

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
