"""更正客户联系方式 on the case page: the form, the view that posts it, and what the page's
template needs to show it (``templatetags/case_contact.py``). Kept apart from the other actions;
the rule and the event are the engine's (``sunshine/applications/contact.py``)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from sunshine.accounts.models import User
from sunshine.applications import contact
from sunshine.applications.models import Application
from sunshine.errors import Forbidden, ValidationFailed
from sunshine.workbench.case import views

PREFIX = "contact"


class ContactForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Customer name (leave blank to keep it)"), max_length=contact.NAME_MAX, required=False
    )
    phone = forms.CharField(label=gettext_lazy("Mobile number (leave blank to keep it)"), max_length=40, required=False)
    reason = forms.CharField(
        label=gettext_lazy("Reason for the correction"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=contact.REASON_MAX,
    )


@require_POST
@views.staff_view
def correct(request: HttpRequest, user: User, app: Application) -> HttpResponse:
    if not contact.may_correct(user, app):
        raise Forbidden(_("Your role may not correct the customer's contact."))
    form = ContactForm(request.POST, prefix=PREFIX)
    if form.is_valid():
        try:
            contact.correct_contact(
                app.number,
                user,
                name=form.cleaned_data["name"],
                phone=form.cleaned_data["phone"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationFailed as exc:
            for name, msgs in exc.fields.items():
                for msg in msgs:
                    form.add_error(name if name in form.fields else None, msg)
        else:
            messages.success(request, _("The customer's contact is corrected."))
            return HttpResponseRedirect(views._page_url(app))
    return views._render_page(request, user, app, 200, {PREFIX: form})
