"""Forms of the feedback pages: parse and label input; the rules are in sunshine.feedback.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sunshine.accounts.models import Role, User
from sunshine.feedback.models import AttemptResult, CaseKind, Finding, FollowUpOutcome

SCORES = [(str(i), str(i)) for i in range(1, 6)]
YES_NO = [("yes", _("yes")), ("no", _("no"))]


def _yes_no(label: Any) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO,
        widget=forms.RadioSelect,
        coerce=lambda v: v == "yes",
        required=False,
        empty_value=None,
    )


def _score(label: Any) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, choices=SCORES, widget=forms.RadioSelect, coerce=int, required=False, empty_value=None
    )


class StaffChoiceField(forms.ModelChoiceField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("empty_label", _("Choose a person"))
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name}（{obj.get_role_display()}）"


class AttemptForm(forms.Form):
    result = forms.ChoiceField(label=_("Why the call did not get through"), choices=AttemptResult.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class CallScriptForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome of the call"),
        choices=[(c, label) for c, label in FollowUpOutcome.choices if c != FollowUpOutcome.UNREACHABLE],
        initial=FollowUpOutcome.COMPLETED,
        widget=forms.RadioSelect,
    )
    sat_overall = _score(_("1. Overall, how satisfied are you with the connection service? (1–5)"))
    sat_manager = _score(_("2. How satisfied are you with your customer manager? (1–5)"))
    sat_timeliness = _score(_("3. How satisfied are you with how fast it was done? (1–5)"))
    steered_design = _yes_no(_("4. Did anyone from the utility tell you which design unit to use?"))
    steered_construction = _yes_no(_("5. Did anyone from the utility tell you which construction unit to use?"))
    steered_supply = _yes_no(_("6. Did anyone from the utility tell you where to buy equipment or materials?"))
    extra_charge = _yes_no(_("7. Were you charged anything not on the published fee list?"))
    extra_charge_amount = forms.DecimalField(
        label=_("Amount (yuan)"), required=False, min_value=0, max_digits=12, decimal_places=2
    )
    extra_charge_what = forms.CharField(label=_("What the charge was for"), required=False, max_length=200)
    told_once = _yes_no(_("8. When something was missing, were you told everything at once?"))
    comments = forms.CharField(
        label=_("9. Anything else you would like to tell us?"), required=False, widget=forms.Textarea
    )


class NewCaseForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[(k, v) for k, v in CaseKind.choices if k != CaseKind.PAUSE_CONTEST]
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    details = forms.CharField(label=_("Details"), widget=forms.Textarea, required=False)
    application = forms.CharField(label=_("Application number (optional)"), max_length=20, required=False)
    reporter_name = forms.CharField(label=_("Reported by"), max_length=100, required=False)
    reporter_phone = forms.CharField(label=_("Reporter's phone"), max_length=20, required=False)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Investigation note"), widget=forms.Textarea)


class DecideForm(forms.Form):
    finding = forms.ChoiceField(label=_("Finding"), choices=Finding.choices, widget=forms.RadioSelect)
    action_taken = forms.CharField(label=_("Action taken"), widget=forms.Textarea)


class VisitPlanForm(forms.Form):
    customer_name = forms.CharField(label=_("Customer"), max_length=100)
    contact = forms.CharField(label=_("Contact person and phone"), max_length=100, required=False)
    application = forms.CharField(label=_("Application number (optional)"), max_length=20, required=False)
    key_customer = forms.BooleanField(label=_("Key customer"), required=False)
    visitor = StaffChoiceField(label=_("Visitor"), queryset=User.objects.none())
    planned_on = forms.DateField(label=_("Planned for"), widget=forms.DateInput(attrs={"type": "date"}))
    topics = forms.CharField(label=_("Topics"), max_length=300)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["visitor"].queryset = staff_choices()  # type: ignore[attr-defined]


class VisitLogForm(forms.Form):
    visited_on = forms.DateField(label=_("Visited on"), widget=forms.DateInput(attrs={"type": "date"}))
    raised = forms.CharField(label=_("What the customer raised"), widget=forms.Textarea, required=False)


class ActionForm(forms.Form):
    description = forms.CharField(label=_("Follow-up action"), max_length=300)
    owner = StaffChoiceField(label=_("Owner"), queryset=User.objects.none())
    due_on = forms.DateField(label=_("Due on"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff_choices()  # type: ignore[attr-defined]


class CloseActionForm(forms.Form):
    resolution = forms.CharField(label=_("Resolution"), max_length=300)


def staff_choices():
    """Who visits customers and owns follow-up actions: the people who work with customers
    (managers, engineers, clerks, leaders), not the administrator's technical account."""
    return User.objects.filter(
        is_active=True, role__in=[Role.CUSTOMER_MANAGER, Role.ENGINEER, Role.LEADER, Role.CLERK]
    ).order_by("role", "last_name", "first_name", "username")
