"""Staff inbox (every staff member) and the job status page (administrators)."""

from __future__ import annotations

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


@staff_page([Role.ADMIN])
def jobs(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "workbench_alerts/jobs.html",
        {
            **job_selectors.job_overview(),
            **job_selectors.scheduler_overview(),
            "failed_messages": selectors.failed_messages(),
            **dict(zip(("reactions_pending", "failing_reactions"), outbox.failing(), strict=True)),
        },
    )


@require_POST
@staff_page([Role.ADMIN])
def job_retry(request: HttpRequest, result_id: str) -> HttpResponse:
    try:
        new_id = job_services.retry_task(result_id, request.user)  # type: ignore[arg-type]
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("The job was queued again as %(id)s.") % {"id": new_id})
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
