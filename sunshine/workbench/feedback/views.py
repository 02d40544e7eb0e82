"""Pages for follow-up calls (回访), supervision cases (稽查), visits (走访) and the concentration
monitor. Each view parses input, loads through the access rules, calls one service, renders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from sunshine.accounts import units
from sunshine.accounts.models import Role, ServiceArea, User
from sunshine.applications.access import in_scope, is_staff_user, scope_to_units
from sunshine.applications.models import Application
from sunshine.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from sunshine.feedback import concentration, selectors, services
from sunshine.feedback.models import CaseStatus, FollowUp, Visit, VisitAction
from sunshine.feedback.services import CASE_READ_ROLES, CASE_ROLES, FOLLOWUP_ROLES, VISIT_ROLES, Answers
from sunshine.workbench.feedback import forms as f

CONCENTRATION_ROLES: set[str] = {Role.AUDITOR, Role.LEADER, Role.ADMIN}


def staff_page(roles: set[str]) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def deco(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not is_staff_user(user) or user.role not in roles:
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None
            except Forbidden:
                raise PermissionDenied from None

        return wrapper

    return deco


def _in_unit(user: User, app: Application | None) -> None:
    """A follow-up or case of an application outside the user's unit is refused (one with no
    application is seen by the staff of the top unit only)."""
    if app is None:
        if not in_scope(user, units.tree().top):
            raise PermissionDenied
    elif user.role != Role.CUSTOMER_MANAGER and not in_scope(user, app.unit_id):
        raise PermissionDenied


def _apply_errors(form: forms.Form, exc: ValidationFailed) -> None:
    for field, msgs in exc.fields.items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)


# --- follow-up calls ---------------------------------------------------------------------------


@staff_page(FOLLOWUP_ROLES)
def followups(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    rows = list(scope_to_units(selectors.followup_queue(user), user, "application__unit")[:200])
    return render(
        request,
        "workbench_feedback/followups.html",
        {"rows": rows, "today": timezone.localdate()},
    )


def _followup(pk: int) -> FollowUp:
    row = (
        FollowUp.objects.select_related("application", "application__customer_manager", "assigned_to")
        .prefetch_related("attempt_log__by")
        .filter(pk=pk)
        .first()
    )
    if row is None:
        raise Http404
    return row


@staff_page(FOLLOWUP_ROLES)
@require_http_methods(["GET", "POST"])
def followup(request: HttpRequest, pk: int) -> HttpResponse:
    row = _followup(pk)
    if not services.can_work_followup(request.user, row):  # type: ignore[arg-type]
        raise PermissionDenied
    _in_unit(request.user, row.application)  # type: ignore[arg-type]
    form = f.CallScriptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        answers = Answers(**{k: data.get(k) for k in Answers.__dataclass_fields__ if k in data})  # type: ignore[arg-type]
        try:
            services.complete_followup(row.pk, request.user, outcome=data["outcome"], answers=answers)  # type: ignore[arg-type]
        except ValidationFailed as exc:
            _apply_errors(form, exc)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("workbench_feedback:followups")
        else:
            opened = list(row.application.supervision_cases.filter(source="followup").order_by("id"))
            if opened:
                messages.warning(
                    request,
                    _("Call recorded. Supervision cases opened: %(numbers)s")
                    % {"numbers": "、".join(c.tracking_number for c in opened)},
                )
            else:
                messages.success(request, _("Call recorded."))
            return redirect("workbench_feedback:followups")
    return render(
        request,
        "workbench_feedback/followup.html",
        {"row": row, "form": form, "attempt_form": f.AttemptForm(), "today": timezone.localdate()},
    )


@staff_page(FOLLOWUP_ROLES)
@require_POST
def followup_attempt(request: HttpRequest, pk: int) -> HttpResponse:
    row = _followup(pk)
    if not services.can_work_followup(request.user, row):  # type: ignore[arg-type]
        raise PermissionDenied
    _in_unit(request.user, row.application)  # type: ignore[arg-type]
    form = f.AttemptForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose why the call did not get through."))
        return redirect("workbench_feedback:followup", pk=pk)
    try:
        done = services.record_attempt(row.pk, request.user, **form.cleaned_data)  # type: ignore[arg-type]
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("workbench_feedback:followups")
    if done.status == "done":
        messages.warning(request, _("Unreachable after %(n)s calls: the follow-up is closed.") % {"n": done.attempts})
        return redirect("workbench_feedback:followups")
    messages.info(request, _("Attempt %(n)s recorded; call again later.") % {"n": done.attempts})
    return redirect("workbench_feedback:followup", pk=pk)


# --- supervision cases -------------------------------------------------------------------------


@staff_page(CASE_READ_ROLES)
@require_http_methods(["GET", "POST"])
def cases(request: HttpRequest) -> HttpResponse:
    """The auditors' queue; auditors also open cases here (e.g. a complaint by telephone)."""
    status = CaseStatus.CLOSED if request.GET.get("status") == "closed" else CaseStatus.OPEN
    can_open = request.user.role in CASE_ROLES  # type: ignore[union-attr]
    form = f.NewCaseForm(request.POST or None)
    if request.method == "POST":
        if not can_open:
            raise PermissionDenied
        if form.is_valid():
            data = dict(form.cleaned_data)
            number = (data.pop("application") or "").strip().upper()
            app = Application.objects.filter(number=number).first() if number else None
            if number and app is None:
                form.add_error("application", _("No application with this number."))
            else:
                try:
                    opened = services.open_case(source="staff", application=app, actor=request.user, **data)  # type: ignore[arg-type]
                except ValidationFailed as exc:
                    _apply_errors(form, exc)
                else:
                    messages.success(request, _("Case %(number)s opened.") % {"number": opened.tracking_number})
                    return redirect("workbench_feedback:case", number=opened.tracking_number)
    user: User = request.user  # type: ignore[assignment]
    rows = list(scope_to_units(selectors.case_queue(status=status), user, "application__unit")[:200])
    return render(
        request,
        "workbench_feedback/cases.html",
        {"rows": rows, "status": status, "today": timezone.localdate(), "form": form, "can_open": can_open},
        status=422 if form.errors else 200,
    )


@staff_page(CASE_READ_ROLES)
def case(request: HttpRequest, number: str) -> HttpResponse:
    row = selectors.case_detail(number)
    if row is None:
        raise Http404
    _in_unit(request.user, row.application)  # type: ignore[arg-type]
    can_act = request.user.role in CASE_ROLES and row.is_open  # type: ignore[union-attr]
    return render(
        request,
        "workbench_feedback/case.html",
        {
            "row": row,
            "can_act": can_act,
            "note_form": f.NoteForm(),
            "decide_form": f.DecideForm(),
            "today": timezone.localdate(),
        },
    )


@staff_page(CASE_ROLES)
@require_POST
def case_note(request: HttpRequest, number: str) -> HttpResponse:
    row = selectors.case_detail(number)
    if row is None:
        raise Http404
    _in_unit(request.user, row.application)  # type: ignore[arg-type]
    form = f.NoteForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationFailed({"text": [_("Write the note.")]})
        services.add_case_note(row.pk, request.user, form.cleaned_data["text"])  # type: ignore[arg-type]
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, exc.message if isinstance(exc, DomainError) else _("Write the note."))
    else:
        messages.success(request, _("Note added."))
    return redirect("workbench_feedback:case", number=number)


@staff_page(CASE_ROLES)
@require_POST
def case_decide(request: HttpRequest, number: str) -> HttpResponse:
    row = selectors.case_detail(number)
    if row is None:
        raise Http404
    _in_unit(request.user, row.application)  # type: ignore[arg-type]
    form = f.DecideForm(request.POST)
    if form.is_valid():
        try:
            services.decide_case(row.pk, request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationFailed as exc:
            _apply_errors(form, exc)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("workbench_feedback:case", number=number)
        else:
            messages.success(request, _("Finding recorded; the case is closed."))
            return redirect("workbench_feedback:case", number=number)
    return render(
        request,
        "workbench_feedback/case.html",
        {"row": row, "can_act": True, "note_form": f.NoteForm(), "decide_form": form, "today": timezone.localdate()},
        status=422,
    )


# --- visits ------------------------------------------------------------------------------------


@staff_page(VISIT_ROLES)
@require_http_methods(["GET", "POST"])
def visits(request: HttpRequest) -> HttpResponse:
    initial = {
        "visitor": request.user.pk,
        "application": request.GET.get("application", "")[:20],
        "customer_name": request.GET.get("customer_name", "")[:100],
        "key_customer": request.GET.get("key") == "1",
    }
    form = f.VisitPlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        number = (data.pop("application") or "").strip().upper()
        app = Application.objects.filter(number=number).first() if number else None
        if number and app is None:
            form.add_error("application", _("No application with this number."))
        else:
            try:
                services.plan_visit(request.user, application=app, **data)  # type: ignore[arg-type]
            except ValidationFailed as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("Visit planned."))
                return redirect("workbench_feedback:visits")
    user: User = request.user  # type: ignore[assignment]
    rows = list(scope_to_units(selectors.visit_list(), user, "visitor__unit")[:200])
    return render(
        request,
        "workbench_feedback/visits.html",
        {
            "rows": rows,
            "form": form,
            "actions": list(selectors.open_actions()[:200]),
            "key_customers": selectors.key_customers_to_visit(timezone.localdate()),
            "today": timezone.localdate(),
        },
    )


def _visit(pk: int) -> Visit:
    row = (
        Visit.objects.select_related("visitor", "application").prefetch_related("actions__owner").filter(pk=pk).first()
    )
    if row is None:
        raise Http404
    return row


@staff_page(VISIT_ROLES)
@require_http_methods(["GET", "POST"])
def visit(request: HttpRequest, pk: int) -> HttpResponse:
    row = _visit(pk)
    if row.visitor is not None and not in_scope(request.user, row.visitor.unit_id):  # type: ignore[arg-type]
        raise PermissionDenied
    log_form = f.VisitLogForm(request.POST if request.POST.get("form") == "log" else None)
    action_form = f.ActionForm(request.POST if request.POST.get("form") == "action" else None)
    if request.method == "POST":
        try:
            if request.POST.get("form") == "log" and log_form.is_valid():
                services.log_visit(row.pk, request.user, **log_form.cleaned_data)  # type: ignore[arg-type]
                messages.success(request, _("Visit logged."))
                return redirect("workbench_feedback:visit", pk=pk)
            if request.POST.get("form") == "action" and action_form.is_valid():
                services.add_visit_action(row.pk, request.user, **action_form.cleaned_data)  # type: ignore[arg-type]
                messages.success(request, _("Action added."))
                return redirect("workbench_feedback:visit", pk=pk)
        except ValidationFailed as exc:
            _apply_errors(log_form if request.POST.get("form") == "log" else action_form, exc)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("workbench_feedback:visit", pk=pk)
    return render(
        request,
        "workbench_feedback/visit.html",
        {
            "row": row,
            "log_form": log_form,
            "action_form": action_form,
            "close_form": f.CloseActionForm(),
            "today": timezone.localdate(),
        },
    )


@staff_page(VISIT_ROLES)
@require_POST
def visit_action_close(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    # the action one of the visit's own, the visit within the user's units (one query)
    action = VisitAction.objects.select_related("visit__visitor").filter(pk=action_pk, visit_id=pk).first()
    if action is None:
        raise Http404
    visitor = action.visit.visitor
    if visitor is not None and not in_scope(request.user, visitor.unit_id):  # type: ignore[arg-type]
        raise PermissionDenied
    form = f.CloseActionForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationFailed({"resolution": [_("Say how it was resolved.")]})
        services.close_visit_action(action_pk, request.user, resolution=form.cleaned_data["resolution"])  # type: ignore[arg-type]
    except ValidationFailed as exc:
        messages.error(request, "; ".join(m for msgs in exc.fields.values() for m in msgs))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Action closed."))
    return redirect("workbench_feedback:visit", pk=pk)


# --- concentration -----------------------------------------------------------------------------


def _month(raw: str | None, today: date) -> tuple[date, date, str]:
    try:
        year, month = (int(x) for x in (raw or "").split("-"))
        first = date(year, month, 1)
    except ValueError:
        return concentration.previous_month(today)
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return first, date.fromordinal(nxt.toordinal() - 1), f"{first:%Y-%m}"


@staff_page(CONCENTRATION_ROLES)
@require_http_methods(["GET", "POST"])
def concentration_page(request: HttpRequest) -> HttpResponse:
    from_date, to_date, period = _month(request.POST.get("period") or request.GET.get("period"), timezone.localdate())
    if request.method == "POST":
        if request.user.role not in CASE_ROLES:  # type: ignore[union-attr]
            raise PermissionDenied
        opened = concentration.run_monitor(from_date, to_date, period)
        messages.info(request, _("Monitor run for %(period)s: %(n)s flags.") % {"period": period, "n": len(opened)})
        return redirect(reverse("workbench_feedback:concentration") + f"?period={period}")
    by = "area" if request.GET.get("by") == "area" else "manager"
    rows = concentration.shares(from_date, to_date, by=by)
    from sunshine.directory import models as directory

    names = {}
    if hasattr(directory, "Contractor"):
        names = dict(
            directory.Contractor.objects.filter(pk__in={r.contractor_id for r in rows}).values_list("pk", "name")
        )
    group_model = ServiceArea if by == "area" else User
    groups = group_model.objects.in_bulk({r.group_id for r in rows})
    # Per unit: the managers (or areas) of the viewer's unit and those below it.
    viewer: User = request.user  # type: ignore[assignment]
    top = units.tree().top
    rows = [r for r in rows if in_scope(viewer, groups[r.group_id].unit_id if r.group_id in groups else top)]
    kinds = dict(directory.ContractorKind.choices) if hasattr(directory, "ContractorKind") else {}
    table = [
        {
            "row": r,
            "kind": kinds.get(r.kind, r.kind),  # the 类别 column
            "unit": names.get(r.contractor_id, r.contractor_id),
            "group": groups.get(r.group_id),
        }
        for r in rows
    ]
    return render(
        request,
        "workbench_feedback/concentration.html",
        {
            "table": table,
            "period": period,
            "by": by,
            "can_run": request.user.role in CASE_ROLES,  # type: ignore[union-attr]
        },
    )
