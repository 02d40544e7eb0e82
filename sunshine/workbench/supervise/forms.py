"""Forms of the leader-supervision pages; the rules live in sunshine.supervision.services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sunshine.supervision.models import NoteKind


class DateInput(forms.DateInput):
    input_type = "date"


class TakeChargeForm(forms.Form):
    number = forms.CharField(
        label=_("Application number"),
        max_length=20,
        help_text=_("The 15-character number on the receipt, e.g. YK2611160000017."),
    )
    # Required-ness and limits are the service's rules (its messages show under the fields).
    reason = forms.CharField(label=_("Why you take charge"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    target_date = forms.DateField(label=_("Target date"), required=False, widget=DateInput)

    def clean_number(self) -> str:
        return self.cleaned_data["number"].strip().upper()


class NoteForm(forms.Form):
    kind = forms.ChoiceField(
        label=pgettext_lazy("supervision note form", "Kind"), choices=NoteKind.choices, initial=NoteKind.NOTE
    )
    text = forms.CharField(
        label=pgettext_lazy("supervision note form", "Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    reviewed_on = forms.DateField(
        label=_("Reviewed on"),
        required=False,
        widget=DateInput,
        help_text=_("For a progress review: the day the progress was checked."),
    )


class EndForm(forms.Form):
    note = forms.CharField(label=_("Why the supervision ends"), required=False, max_length=500)
