"""The action panel's forms. Each stage form carries the stage code and round it was rendered
for, so a change made meanwhile by someone else is reported as a conflict, not applied blindly."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from sunshine.applications.models import Outcome, PauseReason


class StageRef(forms.Form):
    stage = forms.CharField(widget=forms.HiddenInput, max_length=40)
    round = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class CompleteForm(StageRef):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", _("— choose —")), *Outcome.choices], required=False)
    defects = forms.CharField(
        label=_("Defects (one per line; they become the customer's one-time notice)"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=4000,
    )
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)

    def defect_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("defects", "").splitlines() if line.strip()]


class SkipForm(StageRef):
    reason = forms.CharField(label=_("Reason for skipping"), max_length=500)


class PauseForm(StageRef):
    reason_code = forms.ChoiceField(label=_("Reason code"), choices=[("", _("— choose —")), *PauseReason.choices])
    reason = forms.CharField(
        label=_("Reason (the customer sees it)"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500
    )


class ResumeForm(StageRef):
    pass


class ReassignForm(forms.Form):
    customer_manager = forms.ChoiceField(label=_("New customer manager"), choices=[])
    reason = forms.CharField(label=_("Reason for the reassignment"), max_length=500)

    def __init__(self, *args: object, managers: list | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["customer_manager"].choices = [("", _("— choose —"))] + [  # type: ignore[attr-defined]
            (m.username, f"{m.display_name} ({m.username})") for m in managers or []
        ]


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500)


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document"), choices=[])
    file = forms.FileField(label=_("File (PDF, JPEG or PNG)"))

    def __init__(self, *args: object, kinds: list | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["kind"].choices = [(k.code, k.name) for k in kinds or []]  # type: ignore[attr-defined]


class ReceivedForm(forms.Form):
    kind = forms.CharField(widget=forms.HiddenInput, max_length=40)


class WaiveForm(forms.Form):
    kind = forms.CharField(widget=forms.HiddenInput, max_length=40)
    reason = forms.CharField(label=_("Reason for waiving"), max_length=500)
