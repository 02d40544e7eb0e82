"""The customer's contractor choices on the case page (三不指定): staff record whom the customer
chose for design, construction and supply and the customer's answer "chosen by myself /
suggested by staff" (``feedback.services.record_choices``: a ``contractor_chosen`` event each; a
"suggested by staff" answer opens a steering case, as on the portal and in the follow-up call).

Its own view and include: the case page loads the card with htmx (``_choices.html``), so the
page's own queries do not grow; without JavaScript the link opens the same form as a page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from sunshine.accounts.models import User
from sunshine.applications import access
from sunshine.applications.models import Application, Status
from sunshine.directory import selectors as directory
from sunshine.directory.models import ContractorKind
from sunshine.errors import Conflict, Forbidden, ValidationFailed
from sunshine.feedback import services as feedback
from sunshine.workbench.case.page import roles
from sunshine.workbench.case.views import staff_view

KINDS = ("design", "construction", "supply")


def may_record(user: User, app: Application) -> bool:
    if app.status == Status.CANCELLED:
        return False
    try:
        access.require_role(user, roles(access.INTAKE_ROLES), app)
    except Forbidden:
        return False
    return True


def _context(user: User, app: Application, values: dict[str, str], errors: dict[str, list[str]]) -> dict[str, Any]:
    current = {c.kind: c for c in app.contractor_choices.select_related("contractor", "manager")}
    writable = may_record(user, app)
    units = (
        directory.contractor_page(timezone.localdate(), seed=directory.new_seed(), page_size=1000).results
        if writable
        else []
    )
    kinds = []
    for kind in KINDS:
        mine = current.get(kind)
        kinds.append(
            {
                "kind": kind,
                "label": ContractorKind(kind).label,
                "current": mine,
                "units": [u for u in units if u.kind == kind],
                "value": values.get(kind, str(mine.contractor_id) if mine else ""),
                "answer": values.get(f"{kind}_answer", mine.answer if mine else ""),
                "errors": errors.get(kind, []) + errors.get(f"{kind}_answer", []),
            }
        )
    return {"app": app, "kinds": kinds, "errors": errors, "may_record": writable}


@require_http_methods(["GET", "POST"])
@staff_view
def choices(request: HttpRequest, user: User, app: Application) -> HttpResponse:
    fragment = bool(getattr(request, "htmx", False))
    template = "workbench_case/_choices_card.html" if fragment else "workbench_case/choices.html"
    if request.method == "GET":
        return render(request, template, _context(user, app, {}, {}))
    if not may_record(user, app):
        access.require_role(user, roles(access.INTAKE_ROLES), app)  # 403 page for the wrong role
        messages.warning(request, _("This application has been cancelled."))
        return HttpResponseRedirect(reverse("workbench_case:application", args=[app.number]))
    picks = [(k, request.POST.get(k, "").strip(), request.POST.get(f"{k}_answer", "").strip()) for k in KINDS]
    try:
        recorded = feedback.record_choices(app.number, picks, user, channel="staff")
    except ValidationFailed as exc:
        values = {k: request.POST.get(k, "") for k in KINDS}
        values.update({f"{k}_answer": request.POST.get(f"{k}_answer", "") for k in KINDS})
        return render(request, "workbench_case/choices.html", _context(user, app, values, exc.fields))
    except Conflict as exc:
        messages.warning(request, exc.message)
        return HttpResponseRedirect(reverse("workbench_case:application", args=[app.number]))
    if any(r.changed for r in recorded):
        messages.success(request, _("The customer's choices are recorded."))
    else:
        messages.info(request, _("Nothing changed: these choices were recorded already."))
    for r in recorded:
        if r.case is not None:
            messages.warning(
                request,
                _("The customer says staff suggested the %(kind)s: supervision case %(number)s is opened.")
                % {"kind": r.choice.get_kind_display(), "number": r.case.tracking_number},
            )
    return HttpResponseRedirect(reverse("workbench_case:application", args=[app.number]) + "#choices")
