"""Report pages: list and versions, the report with its charts, downloads, regenerate with a
reason, ad-hoc reports with a progress indicator (htmx polls the job), publish as open data."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sunshine.accounts import units
from sunshine.accounts.models import Role, ServiceArea, User
from sunshine.errors import DomainError, ValidationFailed
from sunshine.processes.models import Category
from sunshine.reports import selectors, services
from sunshine.reports.models import Kind, Report, ReportStatus
from sunshine.reports.sections import PERSONAL, Computer

VIEW_ROLES: set[str] = {Role.LEADER.value, Role.AUDITOR.value, Role.ADMIN.value}
REGENERATE_ROLES: set[str] = {Role.LEADER.value, Role.ADMIN.value}
ADMIN_ROLES: set[str] = {Role.ADMIN.value}


def _require(user: Any, roles: set[str]) -> None:
    if not user.is_active or user.role not in roles:
        raise PermissionDenied(_("Your role may not see reports."))


def _access_report(user: Any, report_id: int) -> Report:
    """Load a report for a user who may see reports (404 when it does not exist)."""
    _require(user, VIEW_ROLES)
    report = Report.objects.select_related("requested_by", "published_by").filter(pk=report_id).first()
    if report is None:
        raise Http404(_("No such report."))
    if not selectors.may_see(user, report):
        raise PermissionDenied(_("This report is of a unit outside yours."))
    return report


def _lists(user: User) -> dict[str, Any]:
    """The half-monthly reports of the user's unit (the top unit's: the whole installation) and
    the ad-hoc reports the user may see."""
    node = units.tree().nodes.get(user.unit_id) if user.unit_id is not None else None
    return {
        "my_unit": node,
        "periods": selectors.half_month_reports(user.unit_id),
        "adhoc": [r for r in selectors.adhoc_reports() if selectors.may_see(user, r)],
    }


def _form_context(
    user: User, values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    tree = units.tree()
    return {
        "units": [tree.nodes[i] for i in tree.below(user.unit_id)] if user.unit_id is not None else [],
        "categories": Category.choices,
        "areas": ServiceArea.objects.order_by("code"),
        "managers": User.objects.filter(role=Role.CUSTOMER_MANAGER, is_active=True).order_by("username"),
        "values": values or {},
        "errors": errors or {},
    }


@login_required
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, VIEW_ROLES)
    return render(
        request,
        "workbench_reports/list.html",
        {
            **_lists(request.user),  # type: ignore[arg-type]
            "can_regenerate": request.user.role in REGENERATE_ROLES,  # type: ignore[union-attr]
            **_form_context(request.user),  # type: ignore[arg-type]
        },
    )


@login_required
@require_POST
def adhoc(request: HttpRequest) -> HttpResponse:
    _require(request.user, VIEW_ROLES)
    values = {
        k: request.POST.get(k, "").strip()
        for k in ("period_start", "period_end", "category", "area", "manager", "key_project", "unit")
    }
    user: User = request.user  # type: ignore[assignment]
    tree = units.tree()
    if not values["unit"] and not tree.is_top(user.unit_id):
        node = tree.nodes.get(user.unit_id) if user.unit_id is not None else None
        values["unit"] = node.code if node is not None else ""
    chosen = tree.by_code(values["unit"]) if values["unit"] else None
    if values["unit"] and (chosen is None or not tree.within(chosen.id, user.unit_id)):
        raise PermissionDenied(_("This report is of a unit outside yours."))
    errors: dict[str, list[str]] = {}
    dates: dict[str, date] = {}
    for field in ("period_start", "period_end"):
        try:
            dates[field] = date.fromisoformat(values[field])
        except ValueError:
            errors[field] = [_("Enter a date (YYYY-MM-DD).")]
    if not errors:
        try:
            report = services.request_adhoc(
                dates["period_start"],
                dates["period_end"],
                {k: values[k] for k in ("category", "area", "manager", "key_project", "unit")},
                actor=request.user,  # type: ignore[arg-type]
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            return redirect("workbench_reports:detail", report_id=report.pk)
    return render(
        request,
        "workbench_reports/list.html",
        {
            **_lists(user),
            "can_regenerate": request.user.role in REGENERATE_ROLES,  # type: ignore[union-attr]
            **_form_context(user, values, errors),
        },
        status=400,
    )


@login_required
@require_GET
def detail(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _access_report(request.user, report_id)
    versions: list[Report] = []
    if report.kind == Kind.HALF_MONTH:
        versions = list(
            Report.objects.filter(kind=Kind.HALF_MONTH, unit=report.unit_id, period_start=report.period_start)
            .defer("data")
            .order_by("-version")
        )
    sections = selectors.page_sections(report)
    return render(
        request,
        "workbench_reports/detail.html",
        {
            "report": report,
            "title": report.data.get("meta", {}).get("title") or services.title_of(report),
            "failure_reason": selectors.failure_reason(report.error) if report.status == ReportStatus.FAILED else "",
            "meta": report.data.get("meta", {}),
            "sections": sections,
            "versions": versions,
            "can_regenerate": report.kind == Kind.HALF_MONTH and request.user.role in REGENERATE_ROLES,  # type: ignore[union-attr]
            "can_publish": report.is_done and request.user.role == Role.ADMIN,  # type: ignore[union-attr]
            "publishable": [s for s in sections if s["key"] not in PERSONAL and not s["empty"]],
        },
    )


@login_required
@require_GET
def status(request: HttpRequest, report_id: int) -> HttpResponse:
    """The progress fragment htmx polls; once the report is ready the page reloads to show it."""
    report = _access_report(request.user, report_id)
    if report.is_done:
        response = HttpResponse(status=200)
        response["HX-Redirect"] = reverse("workbench_reports:detail", args=[report.pk])
        return response
    reason = selectors.failure_reason(report.error) if report.status == ReportStatus.FAILED else ""
    return render(request, "workbench_reports/_progress.html", {"report": report, "failure_reason": reason})


@login_required
@require_GET
def download(request: HttpRequest, report_id: int, fmt: str) -> FileResponse:
    report = _access_report(request.user, report_id)
    path = services.file_path(report, fmt) if report.is_done else None
    if path is None or not path.exists():
        raise Http404(_("This file does not exist."))
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


@login_required
@require_POST
def regenerate(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _access_report(request.user, report_id)
    _require(request.user, REGENERATE_ROLES)
    try:
        new = services.regenerate(report.pk, actor=request.user, reason=request.POST.get("reason", ""))  # type: ignore[arg-type]
    except ValidationFailed as exc:
        for msgs in exc.fields.values():
            for m in msgs:
                messages.error(request, m)
        return redirect("workbench_reports:detail", report_id=report.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("workbench_reports:detail", report_id=report.pk)
    messages.success(request, _("Version %(version)s generated.") % {"version": new.version})
    return redirect("workbench_reports:detail", report_id=new.pk)


@login_required
@require_POST
def publish(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _access_report(request.user, report_id)
    _require(request.user, ADMIN_ROLES)
    try:
        if request.POST.get("action") == "withdraw":
            services.withdraw(report.pk, actor=request.user)  # type: ignore[arg-type]
            messages.success(request, _("The report was withdrawn from open data."))
        else:
            services.publish(report.pk, actor=request.user, sections=request.POST.getlist("sections"))  # type: ignore[arg-type]
            messages.success(request, _("The selected sections are published as open data."))
    except ValidationFailed as exc:
        for msgs in exc.fields.values():
            for m in msgs:
                messages.error(request, m)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("workbench_reports:detail", report_id=report.pk)


# --- per unit: the half-month of a unit, the units below it ranked (issue 19) ---------------------


def _half_month(raw: str) -> tuple[date, date]:
    """The half-month starting on ``raw`` (YYYY-MM-DD); the last finished one when absent or wrong."""
    try:
        return services.period_from_start(date.fromisoformat(raw))
    except (ValueError, ValidationFailed):
        current, _end = services.half_month_of(timezone.localdate())
        return services.half_month_of(current - timedelta(days=1))


@login_required
@require_GET
def unit_report(request: HttpRequest) -> HttpResponse:
    """A unit's figures for a half-month, with the units below it ranked (on-time rate, average
    working days, complaints, promises broken); each links to its own page. A leader sees their
    unit and those below it."""
    _require(request.user, VIEW_ROLES)
    user: User = request.user  # type: ignore[assignment]
    tree = units.tree()
    code = request.GET.get("unit", "")
    node = tree.by_code(code) if code else (tree.nodes.get(user.unit_id) if user.unit_id is not None else None)
    if node is None:
        raise Http404(_("No unit with this code."))
    if not tree.within(node.id, user.unit_id):
        raise PermissionDenied(_("This report is of a unit outside yours."))
    start, end = _half_month(request.GET.get("period", ""))
    computer = Computer(start, end, {"unit": node.code})
    figures = computer._headline_values(start, end)
    parent = tree.nodes.get(node.parent_id) if node.parent_id is not None else None
    prev_start, _prev_end = services.half_month_of(start - timedelta(days=1))
    next_start = end + timedelta(days=1)
    return render(
        request,
        "workbench_reports/unit.html",
        {
            "unit": node,
            "parent": parent if parent is not None and tree.within(parent.id, user.unit_id) else None,
            "start": start,
            "end": end,
            "previous": prev_start.isoformat(),
            "next": next_start.isoformat() if next_start <= timezone.localdate() else "",
            "figures": figures,
            "ranking": computer.unit_figures(),
            "stored": Report.objects.filter(
                kind=Kind.HALF_MONTH, unit_id=node.id, period_start=start, status=ReportStatus.DONE
            )
            .defer("data")
            .order_by("-version")
            .first(),
        },
    )
