"""Counter intake (统一受理) and the acceptance receipt (受理回执)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from sunshine.accounts.models import User
from sunshine.applications import access, selectors, services
from sunshine.applications.models import Application, IdType
from sunshine.documents.services import received_at_intake
from sunshine.errors import Forbidden, IdempotencyKeyReused, NotFound
from sunshine.processes.models import Category, Owner
from sunshine.workbench.desk.forms import LIVE_FIELDS, IntakeForm
from sunshine.workbench.desk.guards import forbidden, staff_page
from sunshine.workbench.desk.queries import (
    already_accepted,
    documents_still_missing,
    duplicate_notices,
    possible_duplicates,
)


def _category_context(form: IntakeForm) -> dict[str, Any]:
    """The category select follows the proposal until the clerk picks another category."""
    proposal = form.proposal() if form.is_bound else None
    if form.is_bound:
        current = form.data.get("category", "")
        previous = form.data.get("proposed_category", "")
        selected = proposal if proposal and current in ("", previous) else current
    else:
        selected = ""
    return {
        "category_field": form["category"],
        "category_selected": selected or "",
        "category_proposal": proposal or "",
        "category_proposal_label": dict(Category.choices).get(proposal or "", ""),
        "category_choices": form.fields["category"].choices,  # type: ignore[attr-defined]
        "category_errors": form.errors_for("category"),
    }


def _render_form(request: HttpRequest, form: IntakeForm, status: int = 200, **extra: Any) -> HttpResponse:
    ctx = {"form": form, **_category_context(form), **extra}
    return render(request, "workbench_desk/intake.html", ctx, status=status)


@staff_page(access.INTAKE_ROLES)
@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if request.method == "GET":
        return _render_form(request, IntakeForm())
    form = IntakeForm(request.POST)
    if not form.is_valid() or form.intake_data is None:
        return _render_form(request, form, status=422)
    data = form.intake_data
    key = form.cleaned_data.get("idempotency_key") or None
    scope = f"user:{user.pk}"
    if not form.cleaned_data.get("confirm_duplicate") and not already_accepted(scope, key):
        duplicates = possible_duplicates(id_number=data.id_number, address=data.address)
        if duplicates:
            notices = duplicate_notices(user, duplicates)
            return _render_form(request, form, duplicates=notices, must_confirm=True, status=409)
    try:
        # One transaction: the application and the documents ticked as brought.
        with transaction.atomic():
            result = services.intake(
                data,
                user,
                idempotency_scope=scope,
                idempotency_key=key,
                fingerprint=services.request_fingerprint(form.body),
            )
            brought = form.cleaned_data.get("documents_brought") or []
            if brought and not result.replayed:
                received_at_intake(result.application, list(brought), user)
    except IdempotencyKeyReused:
        # The same form was sent again with other values after it was accepted: a new form.
        fresh = request.POST.copy()
        fresh["idempotency_key"] = uuid.uuid4().hex
        form = IntakeForm(fresh)
        form.is_valid()
        messages.warning(request, _("This form was already accepted once; check the values and send it again."))
        return _render_form(request, form, status=409)
    app = result.application
    messages.success(request, _("Application %(number)s accepted.") % {"number": app.number})
    return redirect("workbench_desk:receipt", number=app.number)


@staff_page(access.INTAKE_ROLES)
@require_POST
def validate(request: HttpRequest) -> HttpResponse:
    """htmx: the errors of the field the clerk just changed, with the category proposal and the
    duplicate warning swapped in out of band."""
    form = IntakeForm(request.POST)
    form.is_valid()
    trigger = request.htmx.trigger_name if request.htmx else None  # type: ignore[attr-defined]
    field = trigger or request.POST.get("_field", "")
    if field not in LIVE_FIELDS:
        field = ""
    ctx: dict[str, Any] = {
        "form": form,
        "field_name": field,
        "field_errors": form.errors_for(field) if field else [],
        **_category_context(form),
    }
    if field in ("id_type", "requested_capacity"):
        ctx["swap_category"] = True
        # the swapped select now holds the proposal (or the clerk's own choice): the errors of the
        # value that was posted no longer apply; the category's own change is checked on its change
        ctx["category_errors"] = []
    # A change here can make the other field right or wrong: refresh its errors once it has a value.
    related = {"category": "requested_capacity", "requested_capacity": "category", "id_type": "id_number"}
    other = related.get(field, "")
    if other and (request.POST.get(other) or "").strip():
        ctx["other_name"] = other
        ctx["other_errors"] = form.errors_for(other)
    if field in ("id_number", "address"):
        ctx["swap_duplicates"] = True
        found = possible_duplicates(
            id_number=(request.POST.get("id_number") or "") if "id_number" not in form.errors else "",
            address=(request.POST.get("address") or "") if "address" not in form.errors else "",
        )
        ctx["duplicates"] = duplicate_notices(request.user, found)  # type: ignore[arg-type]
    return render(request, "workbench_desk/_intake_validate.html", ctx)


# --- receipt ---------------------------------------------------------------------------------------


def mask_id(number: str) -> str:
    """11010519491231002X → 110105********002X (the receipt goes home with the customer)."""
    if len(number) <= 10:
        return number
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def receipt_context(app: Application, today: date | None = None) -> dict[str, Any]:
    rows = selectors.stage_rows(app, today)
    stages = []
    for r in rows:
        s = r.stage
        utility = s.owner == Owner.UTILITY
        stages.append(
            {
                "name": r.name,
                "round": s.round,
                "utility": utility,
                "status": s.status,
                "status_label": s.get_status_display(),
                "time_limit_days": (s.time_limit_days or s.template.time_limit_days) if utility else None,
                "deadline": r.clock.deadline if utility and s.status != "skipped" else None,
                "completed_on": s.completed_on,
            }
        )
    m = app.customer_manager
    try:
        case_url = reverse("workbench_case:application", args=[app.number])
    except NoReverseMatch:
        case_url = ""
    return {
        "app": app,
        "customer_id_masked": mask_id(app.customer.id_number),
        "id_type_label": dict(IdType.choices).get(app.customer.id_type, ""),
        "manager": {"name": m.display_name, "phone": m.work_phone or "-"} if m else None,
        "stages": stages,
        "end_to_end_limit": app.process.end_to_end_limit_days,
        "missing_documents": documents_still_missing(app),
        "case_url": case_url,
        "printed_at": timezone.localtime(),
    }


def _load(request: HttpRequest, number: str) -> Application | HttpResponse:
    try:
        return access.access_application(request.user, number)  # type: ignore[arg-type]
    except NotFound:
        raise Http404(_("No application with this number.")) from None
    except Forbidden as exc:
        return forbidden(request, exc.message)


@staff_page()
def receipt(request: HttpRequest, number: str) -> HttpResponse:
    app = _load(request, number)
    if isinstance(app, HttpResponse):
        return app
    return render(request, "workbench_desk/receipt.html", receipt_context(app))


@staff_page()
def receipt_pdf(request: HttpRequest, number: str) -> HttpResponse:
    app = _load(request, number)
    if isinstance(app, HttpResponse):
        return app
    from sunshine.workbench.desk.pdf import receipt_pdf as build

    body = build(receipt_context(app))
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{app.number}.pdf"'
    return response
