"""Staff inbox (every staff member) and the job status page (administrators)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from sunshine.accounts.models import Role
from sunshine.applications import outbox
from sunshine.errors import DomainError
from sunshine.jobs import selectors as job_selectors
from sunshine.jobs import services as job_services
from sunshine.notifications import selectors, services
from sunshine.reports import selectors as report_selectors
from sunshine.reports import services as report_services
from sunshine.reports.models import Report
from sunshine.webhooks import selectors as webhook_selectors
from sunshine.webhooks import services as webhook_services
from sunshine.workbench.alerts import describe
from sunshine.workbench.desk.guards import staff_page

PAGE = 30


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        return 1


@staff_page()
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    page = _page_number(request)
    rows = selectors.inbox_page(request.user, unread_only=unread_only, offset=(page - 1) * PAGE, limit=PAGE + 1)  # type: ignore[arg-type]
    return render(
        request,
        "workbench_alerts/inbox.html",
        {
            "rows": rows[:PAGE],
            "unread_only": unread_only,
            "page": page,
            "has_next": len(rows) > PAGE,
            "query": "unread=1&" if unread_only else "",
        },
    )


def _back_to_inbox(request: HttpRequest) -> HttpResponse:
    return redirect("/workbench/inbox/?unread=1" if request.POST.get("unread") == "1" else "/workbench/inbox/")


@require_POST
@staff_page()
def inbox_read(request: HttpRequest, pk: int) -> HttpResponse:
    # Another user's message id changes nothing: mark_read filters by the signed-in user.
    services.mark_read(request.user, [pk])  # type: ignore[arg-type]
    return _back_to_inbox(request)


@require_POST
@staff_page()
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    n = services.mark_read(request.user)  # type: ignore[arg-type]
    messages.success(request, ngettext("%(n)d message marked as read.", "%(n)d messages marked as read.", n) % {"n": n})
    return _back_to_inbox(request)


def _first_arg(row: job_selectors.JobRow, kwarg: str) -> Any:
    args = row.args_kwargs.get("args") or []
    return args[0] if args else row.args_kwargs.get("kwargs", {}).get(kwarg)


def _readable(overview: dict[str, Any]) -> dict[str, Any]:
    """Each job row with what it does, what it is about and, for a failure, why (one query when
    report jobs are listed)."""
    lists = ("queued", "waiting", "running", "failed")
    rows = [r for name in lists for r in overview[name]]
    report_ids = {_first_arg(r, "report_id") for r in rows if r.path == "sunshine.reports.tasks.build_report"}
    reports = {}
    if report_ids:
        reports = {r.pk: r for r in Report.objects.filter(pk__in=[i for i in report_ids if isinstance(i, int)])}

    def subject(r: job_selectors.JobRow) -> dict[str, str]:
        report = reports.get(_first_arg(r, "report_id")) if r.path == "sunshine.reports.tasks.build_report" else None
        if report is not None:
            return {"text": report_services.title_of(report), "url": f"/workbench/reports/{report.pk}/"}
        return {"text": "", "url": ""}

    out = dict(overview)
    for name in lists:
        out[name] = [
            {
                "row": r,
                "label": describe.task_label(r.path),
                "subject": subject(r),
                "reason": describe.failure_text(r.exception_class_path, r.error_line) if name == "failed" else "",
            }
            for r in overview[name]
        ]
    return out


@staff_page([Role.ADMIN])
def jobs(request: HttpRequest) -> HttpResponse:
    scheduler = job_selectors.scheduler_overview()
    failed_reports = report_selectors.failed_reports()
    return render(
        request,
        "workbench_alerts/jobs.html",
        {
            **_readable(job_selectors.job_overview()),
            **scheduler,
            "periodic": [
                {"row": p, "label": describe.task_label(p.task), "schedule": describe.schedule_text(p.cron)}
                for p in scheduler["periodic"]
            ],
            "failed_reports": [
                {
                    "report": r,
                    "title": report_services.title_of(r),
                    "reason": report_selectors.failure_reason(r.error),
                }
                for r in failed_reports
            ],
            "failed_messages": selectors.failed_messages(),
            "failed_deliveries": webhook_selectors.failed_deliveries(),
            **dict(zip(("reactions_pending", "failing_reactions"), outbox.failing(), strict=True)),
        },
    )


@require_POST
@staff_page([Role.ADMIN])
def job_retry(request: HttpRequest, result_id: str) -> HttpResponse:
    try:
        job_services.retry_task(result_id, request.user)  # type: ignore[arg-type]
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("The job was queued again."))
    return redirect("/workbench/jobs/")


@require_POST
@staff_page([Role.ADMIN])
def message_retry(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.retry_message(pk)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("The message was queued for delivery again."))
    return redirect("/workbench/jobs/")


@require_POST
@staff_page([Role.ADMIN])
def webhook_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a webhook delivery that failed for good again (resuming its paused subscription)."""
    try:
        delivery = webhook_services.redeliver_failed(pk, request.user)  # type: ignore[arg-type]
    except DomainError as e:
        messages.error(request, e.message)
    else:
        if delivery.subscription.enabled:
            messages.success(
                request, _("The event will be sent to %(name)s again.") % {"name": delivery.subscription.name}
            )
        else:
            messages.warning(
                request,
                _("The event waits for %(name)s, which is switched off: switch it on in the admin to send it.")
                % {"name": delivery.subscription.name},
            )
    return redirect("/workbench/jobs/")
