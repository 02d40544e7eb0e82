"""Evaluation pages: leaders, auditors and admins see every manager; a manager sees their own row."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from sunshine.accounts.models import Role, User
from sunshine.applications.access import in_scope
from sunshine.evaluation.periods import BadPeriod, parse_period
from sunshine.evaluation.selectors import latest_snapshot, score_history, snapshot_results, snapshots
from sunshine.evaluation.services import EvaluationError, freeze

READERS: set[str] = {Role.LEADER, Role.AUDITOR, Role.ADMIN}
FREEZERS: set[str] = {Role.LEADER, Role.ADMIN}
COMPONENTS = [
    ("on_time", gettext_lazy("On-time rate")),
    ("speed", gettext_lazy("Speed")),
    ("satisfaction", gettext_lazy("Satisfaction")),
    ("volume", gettext_lazy("Volume")),
]


def _may_read(user: Any) -> bool:
    return user.role in READERS or user.role == Role.CUSTOMER_MANAGER


@login_required
@require_http_methods(["GET", "POST"])
def evaluation_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not _may_read(user):
        raise PermissionDenied
    if request.method == "POST":
        if user.role not in FREEZERS:  # type: ignore[union-attr]
            raise PermissionDenied
        code = request.POST.get("period", "")
        try:
            period = parse_period(code)
        except BadPeriod:
            messages.error(request, _("Enter a month as YYYY-MM or a quarter as YYYY-Qn."))
            return redirect("workbench_evaluation:list")
        try:
            snap = freeze(period, actor=user, reason=request.POST.get("reason", "")[:300])  # type: ignore[arg-type]
        except EvaluationError as exc:
            messages.error(request, str(exc))
            return redirect("workbench_evaluation:list")
        messages.success(
            request, _("%(period)s frozen as version %(version)s.") % {"period": snap.period, "version": snap.version}
        )
        return redirect("workbench_evaluation:detail", period=snap.period)
    return render(
        request,
        "workbench_evaluation/list.html",
        {"snapshots": snapshots(), "may_freeze": user.role in FREEZERS},  # type: ignore[union-attr]
    )


@login_required
def evaluation_detail(request: HttpRequest, period: str) -> HttpResponse:
    user = request.user
    if not _may_read(user):
        raise PermissionDenied
    try:
        p = parse_period(period)
    except BadPeriod:
        raise Http404 from None
    snap = latest_snapshot(p.code)
    if snap is None:
        raise Http404
    only = user if user.role == Role.CUSTOMER_MANAGER else None  # type: ignore[union-attr]
    rows = snapshot_results(snap, only=only)  # type: ignore[arg-type]
    if only is None:
        # Ranked within a unit: the managers of the viewer's unit and the units below it.
        unit_of = dict(User.objects.filter(username__in=[r["username"] for r in rows]).values_list("username", "unit"))
        rows = [r for r in rows if in_scope(user, unit_of.get(r["username"]))]  # type: ignore[arg-type]
    for row in rows:
        b = row["breakdown"]
        row["components"] = [(code, label, b.get(code, {})) for code, label in COMPONENTS]
    return render(
        request,
        "workbench_evaluation/detail.html",
        {"snapshot": snap, "rows": rows, "own_only": only is not None},
    )


@login_required
@require_http_methods(["GET"])
def manager_history(request: HttpRequest, username: str) -> HttpResponse:
    """One manager's score, rank and warnings over every frozen period (leaders, auditors and
    administrators; a manager sees their own)."""
    user = request.user
    if not _may_read(user):
        raise PermissionDenied
    manager = User.objects.filter(username=username[:150], role=Role.CUSTOMER_MANAGER).first()
    if manager is None:
        raise Http404
    if user.role == Role.CUSTOMER_MANAGER and user.pk != manager.pk:  # type: ignore[union-attr]
        raise PermissionDenied
    if user.role != Role.CUSTOMER_MANAGER and not in_scope(user, manager.unit_id):  # type: ignore[arg-type, union-attr]
        raise PermissionDenied
    return render(
        request,
        "workbench_evaluation/history.html",
        {"manager": manager, "rows": score_history(manager)},
    )
