"""My work (我的待办), the team view, the leader dashboard and bulk reassignment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from sunshine.accounts.models import Role, User
from sunshine.applications import access, selectors, services
from sunshine.applications.models import OPEN_STATUSES
from sunshine.calendar import workdays
from sunshine.errors import DomainError, ValidationFailed
from sunshine.feedback.services import FOLLOWUP_ROLES
from sunshine.processes.models import Category
from sunshine.workbench.desk import kept, queries
from sunshine.workbench.desk.forms import ReassignForm
from sunshine.workbench.desk.guards import DASHBOARD_ROLES, forbidden, staff_page

# The queue's own parameters: a page kept whole is one of these (not a search, whose text makes
# a new page every time, nor a made-up parameter).
WHOLE_PAGE_PARAMS = frozenset({"category", "stage", "overdue", "due_soon", "key_project", "paused", "manager", "page"})


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def _queue(request: HttpRequest, *, team: bool) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    today = timezone.localdate()
    params = {k: v for k, v in request.GET.items() if k != "page" and v}
    number = _page_number(request)

    def context() -> dict[str, Any]:
        return {
            "team": team,
            "filters": queries.QueueFilters.from_query(request.GET),
            "can_see_team": user.role in DASHBOARD_ROLES,
            "can_reassign": user.role in access.REASSIGN_ROLES,
        }

    if (
        not team
        and user.role not in FOLLOWUP_ROLES
        and WHOLE_PAGE_PARAMS.issuperset(request.GET)
        and not kept.has_messages(request)
    ):
        # Nothing live on the page but the frame's token and unread count: kept whole, per path,
        # per version of the queue's own applications (each filter and page lists some of them,
        # decided by their rows, the day and the calendar: all in the key), staff member and
        # language. One statement over a few stamps before anything is built
        # (queries.queue_version); the unread count the frame shows comes with the user.
        key = (
            "queue-page",
            request.get_full_path(),
            user.pk,
            user.role,
            queries.queue_version(user),
            today,
            workdays.current().exceptions.version,
            get_language(),
        )

        def whole() -> str:
            ctx = context()
            _, build = _listing(request, user, ctx["filters"], team, today, params, number)
            body = mark_safe(build())  # noqa: S308 (our template's)
            return render_to_string("workbench_desk/queue.html", kept.frame_context({**ctx, "body": body}), request)

        return kept.serve_page(request, kept.part(key, whole))
    ctx = context()
    list_key, build = _listing(request, user, ctx["filters"], team, today, params, number)
    ctx["body"] = kept.serve(request, kept.part(list_key, build))
    if team:
        ctx["managers"] = queries.dashboard_rows_by_manager(
            access.visible_applications(user).filter(status__in=OPEN_STATUSES), today
        )
    return render(request, "workbench_desk/queue.html", ctx)


def _listing(
    request: HttpRequest,
    user: User,
    filters: queries.QueueFilters,
    team: bool,
    today: date,
    params: dict[str, Any],
    number: int,
) -> tuple[tuple[Any, ...], Callable[[], str]]:
    """The list's key and how to render it (filters, rows, pages)."""
    scope = access.visible_applications(user).filter(status__in=OPEN_STATUSES) if team else queries.queue_scope(user)
    filtered = filters.apply(scope, today)
    # The list is kept per version of what it shows: the count and the fingerprint of the
    # listed applications' audit heads (one query), the filters and page, the staff member,
    # day, calendar and language (kept.py).
    count, fingerprint = queries.count_and_fingerprint(filtered)
    show_manager = user.role != Role.CUSTOMER_MANAGER

    def build() -> str:
        paginator = Paginator(queries.by_urgency(filtered), queries.PAGE_SIZE)
        paginator.count = count  # counted above, with the fingerprint
        page = paginator.get_page(number)
        rows = selectors.list_rows(page.object_list, today)  # type: ignore[arg-type]
        names = queries.stage_names()
        labels = dict(Category.choices)
        for row in rows:
            row["stage_name"] = names.get(row["current_stage"] or "", row["current_stage"] or "")
            row["category_label"] = labels.get(row["category"], row["category"])
        ctx = {
            "team": team,
            "rows": rows,
            "page": page,
            "filters": filters,
            "base_query": urlencode(params),
            "categories": Category.choices,
            "stages": sorted(names.items(), key=lambda kv: kv[0]),
            "today": today,
            "show_manager": show_manager,
        }
        return render_to_string("workbench_desk/_queue_list.html", ctx, request)

    key = (
        "queue",
        user.pk,
        user.role,
        team,
        tuple(sorted(params.items())),
        number,
        count,
        fingerprint,
        today,
        workdays.current().exceptions.version,
        get_language(),
    )
    return key, build


@staff_page()
def queue(request: HttpRequest) -> HttpResponse:
    if request.GET.get("view") == "team":
        user: User = request.user  # type: ignore[assignment]
        if user.role not in DASHBOARD_ROLES:
            return forbidden(request)
        return _queue(request, team=True)
    return _queue(request, team=False)


@staff_page(DASHBOARD_ROLES)
def team(request: HttpRequest) -> HttpResponse:
    return _queue(request, team=True)


@staff_page(DASHBOARD_ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    today = timezone.localdate()
    unit, unit_choices = queries.dashboard_units(user, request.GET.get("unit", ""))
    data = queries.dashboard(user, today, unit)
    chart = {
        "stages": {
            "labels": [r["label"] for r in data["by_stage"]],
            "open": [r["open"] for r in data["by_stage"]],
            "due_soon": [r["due_soon"] for r in data["by_stage"]],
            "overdue": [r["overdue"] for r in data["by_stage"]],
        },
        "categories": [{"name": r["label"], "value": r["open"]} for r in data["by_category"]],
        "text": {"open": _("Open"), "due_soon": _("Due soon"), "overdue": _("Overdue")},
    }
    own = unit_choices[0] if unit_choices else None
    # the queue links of a unit below the user's carry it (the queue's unit filter)
    unit_query = f"unit={unit.code}&" if unit is not None and own is not None and unit.id != own.id else ""
    return render(
        request,
        "workbench_desk/dashboard.html",
        {
            **data,
            "chart": chart,
            "today": today,
            "unit": unit,
            # indented by their depth below the user's unit
            "unit_choices": [(n.code, "\u3000" * (n.depth - own.depth) + n.name) for n in unit_choices] if own else [],
            "uq": unit_query,
        },
    )


# --- bulk reassignment ------------------------------------------------------------------------------


@staff_page(access.REASSIGN_ROLES)
@require_http_methods(["GET", "POST"])
def reassign(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    today = timezone.localdate()
    managers = queries.dashboard_rows_by_manager(
        access.visible_applications(user).filter(status__in=OPEN_STATUSES), today
    )
    source = request.POST.get("from_manager") or request.GET.get("from", "")
    departing = User.objects.filter(username=source, role=Role.CUSTOMER_MANAGER).first() if source else None
    ctx: dict[str, Any] = {"managers": managers, "departing": departing}
    if departing is None:
        if source:
            messages.error(request, _("No customer manager with this username."))
        return render(request, "workbench_desk/reassign.html", ctx)
    open_qs = queries.by_urgency(
        access.visible_applications(user).filter(customer_manager=departing, status__in=OPEN_STATUSES)
    )
    numbers = list(open_qs.values_list("number", flat=True))
    if request.method == "POST":
        form = ReassignForm(request.POST, departing=departing, numbers=numbers)
        if form.is_valid() and request.POST.get("confirmed") != str(len(form.cleaned_data["numbers"])):
            # Nothing moves until the count is confirmed: a page of the selection, then a second
            # POST that carries the same selection and the count the person saw.
            ctx.update(
                {
                    "form": form,
                    "confirming": {
                        "numbers": form.cleaned_data["numbers"],
                        "count": len(form.cleaned_data["numbers"]),
                        "target": form.cleaned_data["to_manager"],
                        "reason": form.cleaned_data["reason"],
                    },
                }
            )
            return render(request, "workbench_desk/reassign_confirm.html", ctx)
        if form.is_valid():
            target: User = form.cleaned_data["to_manager"]
            done, failed = _reassign_all(form.cleaned_data["numbers"], user, target, form.cleaned_data["reason"])
            if done:
                messages.success(
                    request,
                    ngettext(
                        "%(count)d application reassigned from %(from)s to %(to)s.",
                        "%(count)d applications reassigned from %(from)s to %(to)s.",
                        len(done),
                    )
                    % {"count": len(done), "from": departing.display_name, "to": target.display_name},
                )
            for number, message in failed:
                text = _("%(number)s not reassigned: %(message)s") % {"number": number, "message": message}
                messages.error(request, text)
            return redirect(f"{request.path}?{urlencode({'from': departing.username})}")
    else:
        form = ReassignForm(departing=departing, numbers=numbers)  # nothing ticked until chosen
    rows = selectors.list_rows(open_qs, today)
    names = queries.stage_names()
    for row in rows:
        row["stage_name"] = names.get(row["current_stage"] or "", row["current_stage"] or "")
    ctx.update({"form": form, "rows": rows, "selected": set(form["numbers"].value() or [])})
    return render(request, "workbench_desk/reassign.html", ctx, status=422 if form.errors else 200)


def _reassign_all(
    numbers: list[str], actor: User, target: User, reason: str
) -> tuple[list[str], list[tuple[str, str]]]:
    """One ``services.reassign`` per application (each its own transaction and ``reassigned``
    event): one that changed meanwhile (closed, already moved) is reported, the others go on."""
    done: list[str] = []
    failed: list[tuple[str, str]] = []
    for number in numbers:
        try:
            app = access.access_application(actor, number)
            access.require_role(actor, {str(r) for r in access.REASSIGN_ROLES}, app)
            with transaction.atomic():
                services.reassign(number, actor, username=target.username, reason=reason)
        except DomainError as exc:
            failed.append((number, exc.message))
        except ValidationFailed as exc:
            failed.append((number, "; ".join(m for ms in exc.fields.values() for m in ms)))
        else:
            done.append(number)
    return done, failed
