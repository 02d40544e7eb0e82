"""Admin pages of the fee catalogue and the contractor list (Chinese by default).

A catalogue change is a new schedule version with its effective date and the published
reference; editing an old version in place is possible for typos but charges keep their item.
Charges and contractor choices are written by the services only (the admin shows them).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc

from sunshine.directory.models import AbolishedCharge, Charge, Contractor, ContractorChoice, FeeItem, FeeSchedule
from sunshine.directory.rules import search_key


class FeeItemInline(admin.TabularInline):
    model = FeeItem
    extra = 0
    fields = (
        "position",
        "code",
        "name_zh",
        "name_en",
        "basis",
        "amount",
        "unit",
        "voltage_level",
        "group",
        "legal_basis",
        "note",
    )


@admin.register(FeeSchedule)
class FeeScheduleAdmin(admin.ModelAdmin):
    list_display = ("version", "title", "effective_from", "published_reference")
    inlines = [FeeItemInline]


@admin.register(AbolishedCharge)
class AbolishedChargeAdmin(admin.ModelAdmin):
    list_display = ("position", "name_zh", "abolished_by", "abolished_on")
    list_display_links = ("name_zh",)


class ContractorForm(forms.ModelForm):
    class Meta:
        model = Contractor
        fields = (
            "kind",
            "name",
            "credit_code",
            "licence_class",
            "licence_number",
            "licence_expires_on",
            "contact_phone",
            "area_served",
            "active",
        )

    def clean_credit_code(self) -> str:
        code = uscc.compact(self.cleaned_data["credit_code"] or "")
        if not uscc.is_valid(code):
            raise forms.ValidationError(_("Not a valid unified social credit code."))
        return code


@admin.register(Contractor)
class ContractorAdmin(admin.ModelAdmin):
    """No rank or priority can be set here: the public order is a seeded shuffle."""

    form = ContractorForm
    list_display = ("name", "kind", "licence_class", "licence_expires_on", "contact_phone", "active")
    list_filter = ("kind", "licence_class", "active")
    search_fields = ("name", "name_pinyin", "credit_code")

    def save_model(self, request: HttpRequest, obj: Contractor, form: Any, change: bool) -> None:
        obj.name_pinyin = search_key(obj.name)
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = ("application", "fee_item", "quantity", "amount", "recorded_by", "recorded_at")
    list_select_related = ("application", "fee_item", "recorded_by")


@admin.register(ContractorChoice)
class ContractorChoiceAdmin(ReadOnlyAdmin):
    list_display = ("application", "kind", "contractor", "recorded_by", "recorded_at")
    list_filter = ("kind",)
    list_select_related = ("application", "contractor", "recorded_by")
