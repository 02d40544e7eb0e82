"""Leader supervision (领导挂牌督办) pages and the deadline-supervision view of the rungs.

Views parse input, call one service of ``sunshine.supervision.services`` and render; the
rules (who may, what is valid) are the services'.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from sunshine.accounts.models import Role, User
from sunshine.applications import access
from sunshine.errors import DomainError, Forbidden, NotFound, ValidationFailed
from sunshine.processes.models import Category
from sunshine.supervision import selectors, services
from sunshine.workbench.desk.guards import forbidden, staff_page
from sunshine.workbench.supervise.forms import EndForm, NoteForm, TakeChargeForm

SUPERVISION_ROLES = {Role.LEADER, Role.ADMIN, Role.AUDITOR}
DEADLINE_ROLES = {Role.CUSTOMER_MANAGER, Role.LEADER, Role.ADMIN, Role.AUDITOR}


def _attach(form: forms.Form, exc: ValidationFailed) -> None:
    for field, errors in exc.fields.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@staff_page(SUPERVISION_ROLES)
@require_http_methods(["GET", "POST"])
def supervised_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = TakeChargeForm(request.POST or None)
    if request.method == "POST":
        if user.role != Role.LEADER:
            return forbidden(request, _("Only a leader can take charge of a project."))
        if form.is_valid():
            number = form.cleaned_data["number"]
            try:
                access.access_application(user, number)
                services.take_charge(
                    number, user, reason=form.cleaned_data["reason"], target_date=form.cleaned_data["target_date"]
                )
            except ValidationFailed as exc:
                _attach(form, exc)
            except NotFound as exc:
                form.add_error("number", exc.message)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("You now supervise %(number)s.") % {"number": number})
                return redirect("workbench_supervise:detail", number=number)
    mine = request.GET.get("mine") == "1"
    rows = selectors.supervised_projects(leader=user if mine else None, viewer=user)
    labels = dict(Category.choices)
    return render(
        request,
        "workbench_supervise/list.html",
        {
            "rows": [(r, labels.get(r.category, r.category)) for r in rows],
            "form": form,
            "mine": mine,
            "can_take_charge": user.role == Role.LEADER,
            "today": timezone.localdate(),
        },
        status=422 if request.method == "POST" else 200,
    )


@staff_page(SUPERVISION_ROLES)
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, number: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        app = access.access_application(user, number)
    except NotFound:
        return render(request, "workbench_supervise/not_found.html", {"number": number}, status=404)
    except Forbidden as exc:
        return forbidden(request, exc.message)
    note_form = NoteForm(request.POST if request.POST.get("action") == "note" else None)
    end_form = EndForm(request.POST if request.POST.get("action") == "end" else None)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        form: forms.Form = note_form if action == "note" else end_form
        if action not in ("note", "end"):
            return render(request, "workbench_supervise/not_found.html", {"number": number}, status=400)
        if form.is_valid():
            try:
                if action == "note":
                    services.add_note(
                        app.number,
                        user,
                        text=form.cleaned_data["text"],
                        kind=form.cleaned_data["kind"],
                        reviewed_on=form.cleaned_data["reviewed_on"],
                    )
                    messages.success(request, _("Saved."))
                else:
                    services.end_supervision(app.number, user, note=form.cleaned_data["note"])
                    messages.success(request, _("The supervision of %(number)s has ended.") % {"number": number})
                return redirect("workbench_supervise:detail", number=app.number)
            except ValidationFailed as exc:
                _attach(form, exc)
            except Forbidden as exc:
                return forbidden(request, exc.message)
            except DomainError as exc:
                form.add_error(None, exc.message)
        status = 422
    supervision = selectors.leader_supervision_of(app)
    history = selectors.supervision_history(app)
    ctx: dict[str, Any] = {
        "app": app,
        "supervision": supervision,
        "notes": selectors.notes_of(supervision) if supervision else [],
        "past": [s for s in history if s.ended_at is not None],
        "note_form": note_form,
        "end_form": end_form,
        "can_act": bool(
            supervision and (user.role == Role.ADMIN or (user.role == Role.LEADER and supervision.leader_id == user.pk))
        ),
        "rungs": selectors.upcoming_rungs(user=user, numbers=[app.number], horizon_days=366),
        "fired": selectors.fired_rungs(user=user, numbers=[app.number], since_days=3660),
    }
    return render(request, "workbench_supervise/detail.html", ctx, status=status)


@staff_page(DEADLINE_ROLES)
def deadlines(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "workbench_supervise/deadlines.html",
        {
            "upcoming": selectors.upcoming_rungs(user=user),
            "fired": selectors.fired_rungs(user=user),
            "now": timezone.now(),
        },
    )
