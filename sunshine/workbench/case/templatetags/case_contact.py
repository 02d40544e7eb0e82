"""The 更正客户联系方式 form on the case page, for who may correct the contact."""

from __future__ import annotations

from typing import Any

from django import template

from sunshine.applications import contact
from sunshine.workbench.case.contact import PREFIX, ContactForm

register = template.Library()


@register.inclusion_tag("workbench_case/_contact.html", takes_context=True)
def contact_correction(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    app = context["app"]
    bound = (context.get("bound") or {}).get(PREFIX)
    return {
        "app": app,
        "may": contact.may_correct(request.user, app),
        "form": bound or ContactForm(prefix=PREFIX),
        "open": bound is not None,
        "csrf_token": context.get("csrf_token"),
    }
