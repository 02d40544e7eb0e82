"""Forms of the desk pages. The intake form delegates every rule to
``sunshine.applications.validation.validate_intake`` (the API's validation) and shows its
messages under the fields they concern."""

from __future__ import annotations

import contextlib
import uuid
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sunshine.accounts.models import Role, User
from sunshine.applications.models import BusinessType, CapacityUnit, Channel, IdType
from sunshine.applications.validation import IntakeData, validate_intake
from sunshine.errors import ValidationFailed
from sunshine.processes.models import Category
from sunshine.workbench.desk.queries import propose_category

# API dotted path → form field
FIELD_OF_PATH = {
    "customer.name": "customer_name",
    "customer.id_type": "id_type",
    "customer.id_number": "id_number",
    "customer.phone": "phone",
    "customer": "customer_name",
}

# Fields checked as the clerk types (htmx), in form order.
LIVE_FIELDS = ("customer_name", "id_type", "id_number", "phone", "address", "requested_capacity", "category")


def _blank(label: Any) -> list[tuple[str, Any]]:
    return [("", label)]


class IntakeForm(forms.Form):
    customer_name = forms.CharField(label=_("Customer name"), max_length=100, required=False)
    id_type = forms.ChoiceField(label=_("ID type"), choices=IdType.choices, initial=IdType.RESIDENT_ID, required=False)
    id_number = forms.CharField(label=_("ID card number or unified social credit code"), max_length=18, required=False)
    phone = forms.CharField(label=_("Mobile phone"), max_length=20, required=False)
    address = forms.CharField(label=_("Address of the connection"), max_length=200, required=False)
    business_type = forms.ChoiceField(
        label=_("Business"), choices=BusinessType.choices, initial=BusinessType.NEW_CONNECTION, required=False
    )
    requested_capacity = forms.CharField(label=_("Requested capacity"), max_length=20, required=False)
    capacity_unit = forms.ChoiceField(
        label=_("Unit"), choices=CapacityUnit.choices, initial=CapacityUnit.KW, required=False
    )
    category = forms.ChoiceField(label=_("Category"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.COUNTER, required=False)
    key_project = forms.BooleanField(label=_("Key project (重点项目)"), required=False)
    # The category proposed last time: a category still equal to it follows new proposals.
    proposed_category = forms.CharField(widget=forms.HiddenInput, required=False)
    # 一次性告知: what the customer brought is received at once, so the receipt lists only what is
    # still missing. The choices are the documents app's kinds (set in __init__).
    documents_brought = forms.MultipleChoiceField(
        label=_("Documents brought to the counter"), required=False, widget=forms.CheckboxSelectMultiple
    )
    confirm_duplicate = forms.BooleanField(
        label=_("I have checked: this is not a duplicate, accept it anyway"), required=False
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ChoiceField)
        category.choices = _blank(_("— choose —")) + list(Category.choices)
        brought = self.fields["documents_brought"]
        assert isinstance(brought, forms.MultipleChoiceField)
        # Read when the checklist is shown or a ticked box is checked, not for every htmx check.
        brought.choices = lambda: [(code, name) for code, name, _categories in self.document_kinds]
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
        self.intake_data: IntakeData | None = None
        self.body: dict[str, Any] = {}
        validate_url = reverse("workbench_desk:intake_validate")
        for name in LIVE_FIELDS:
            select = isinstance(self.fields[name].widget, forms.Select)
            self.fields[name].widget.attrs.update(
                {
                    "aria-describedby": f"err-{name}",
                    "hx-post": validate_url,
                    "hx-trigger": "change" if select else "change, keyup changed delay:700ms",
                    "hx-target": f"#err-{name}",
                    "hx-swap": "outerHTML",
                    "hx-sync": "closest form:queue last",
                }
            )
        self.fields["phone"].widget.input_type = "tel"
        self.fields["phone"].widget.attrs.update({"inputmode": "tel", "autocomplete": "off"})
        self.fields["requested_capacity"].widget.attrs.update({"inputmode": "decimal"})
        self.fields["id_number"].widget.attrs.update({"autocapitalize": "characters", "spellcheck": "false"})

    @cached_property
    def document_kinds(self) -> list[tuple[str, str, list[str]]]:
        from sunshine.documents.services import brought_at_intake_choices

        return brought_at_intake_choices()

    # -- the API body and the domain validation ---------------------------------------------------
    def api_body(self) -> dict[str, Any]:
        d = self.cleaned_data
        capacity: Any = (d.get("requested_capacity") or "").strip()
        with contextlib.suppress(InvalidOperation):  # validate_intake reports "Enter a number."
            capacity = Decimal(capacity) if capacity else None
        return {
            "category": d.get("category") or None,
            "business_type": d.get("business_type") or None,
            "channel": d.get("channel") or None,
            "customer": {
                "name": d.get("customer_name", ""),
                "id_type": d.get("id_type") or None,
                "id_number": d.get("id_number", ""),
                "phone": d.get("phone", ""),
            },
            "address": d.get("address", ""),
            "requested_capacity": capacity,
            "capacity_unit": d.get("capacity_unit") or None,
            "key_project": bool(d.get("key_project")),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.body = self.api_body()
        try:
            self.intake_data = validate_intake(self.body, timezone.localdate())
        except ValidationFailed as exc:
            for path, messages in exc.fields.items():
                field = FIELD_OF_PATH.get(path, path)
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return data

    def proposal(self) -> str | None:
        """The category §5 proposes for what has been typed so far (None when unknown)."""
        raw = (self.data.get("requested_capacity") or "").strip()
        try:
            capacity = Decimal(raw) if raw else None
        except InvalidOperation:
            capacity = None
        return propose_category(self.data.get("id_type"), capacity)

    def errors_for(self, name: str) -> list[str]:
        return [str(e) for e in self.errors.get(name, [])] if self.is_bound else []


class ReassignForm(forms.Form):
    to_manager = forms.ModelChoiceField(
        label=_("Reassign to"),
        queryset=User.objects.none(),
        to_field_name="username",
        empty_label=_("— choose a customer manager —"),
        error_messages={"required": _("Choose the customer manager who takes over.")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Give the reason for the reassignment.")},
    )
    numbers = forms.MultipleChoiceField(
        label=_("Applications"),
        required=True,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Select at least one application.")},
    )

    def __init__(self, *args: Any, departing: User, numbers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_manager"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            User.objects.filter(role=Role.CUSTOMER_MANAGER, is_active=True)
            .exclude(pk=departing.pk)
            .order_by("username")
        )
        field.label_from_instance = _manager_label  # type: ignore[method-assign]
        choices = self.fields["numbers"]
        assert isinstance(choices, forms.MultipleChoiceField)
        choices.choices = [(n, n) for n in numbers]


def _manager_label(obj: Any) -> str:
    return f"{obj.display_name} ({obj.username})"
