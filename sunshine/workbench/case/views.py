"""The application page (/workbench/applications/<number>/) and its actions.

Each view: parse → load with ``access.access_application`` (404 unknown, 403 out of scope) →
check the role like the API does → call one service → redirect (POST-redirect-GET) with a
message. Bad input re-renders the page with the errors in place; a conflict (someone else
changed the case meanwhile) redirects to the fresh page with a clear message. A form with
errors comes back with status 200 (a 4xx page is a console error in browsers and htmx would
not swap it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sunshine import caching
from sunshine.accounts.models import User
from sunshine.applications import access, services
from sunshine.applications.models import Application, StageInstance, StageStatus
from sunshine.calendar import workdays
from sunshine.design.nav import NAVIGATION
from sunshine.documents import services as documents
from sunshine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from sunshine.workbench.case import forms, privacy
from sunshine.workbench.case.page import full_row, page_context, roles
from sunshine.workbench.desk import kept

View = Callable[..., HttpResponseBase]


def _error_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(request, "workbench_case/error.html", {"status": status, "message": message}, status=status)


def _refused(request: HttpRequest, user: User, number: str) -> HttpResponse | None:
    if not access.is_staff_user(user):
        return _error_page(request, 403, _("This page is for staff only."))
    if len(number) > 40 or "\x00" in number:
        return _error_page(request, 404, _("No application with this number."))
    return None


def staff_view(view: View) -> View:
    """Signed-in staff only; domain errors become pages (403, 404), never a server error."""

    @login_required
    def wrapper(request: HttpRequest, number: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user: User = request.user  # type: ignore[assignment]
        refused = _refused(request, user, number)
        if refused is not None:
            return refused
        try:
            app = access.access_application(user, number)
            return view(request, user, app, *args, **kwargs)
        except (NotFound, Forbidden) as exc:
            return _error_page(request, exc.status, exc.message)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _page_url(app: Application, anchor: str = "") -> str:
    url = reverse("workbench_case:application", args=[app.number])
    return f"{url}#{anchor}" if anchor else url


def _render_page(
    request: HttpRequest,
    user: User,
    app: Application,
    status: int = 200,
    bound: dict[str, djforms.Form] | None = None,
    revealed: dict[str, str] | None = None,
) -> HttpResponse:
    """The page: its body is kept per version of the application, staff member, day, calendar
    and language (``kept``), except when it carries a form's errors or a revealed value."""
    keep = not bound and not revealed
    today = timezone.localdate()

    def build() -> str:
        return _body(request, user, app, today, bound, revealed, keep)

    # kept, or rendered by our template and escaped there
    body = kept.serve(request, kept.part(_body_key(user, app, today), build)) if keep else mark_safe(build())  # noqa: S308
    return render(request, "workbench_case/application.html", {"app": app, "body": body}, status=status)


def _body_key(user: User, app: Application | access.Ref, today: date) -> tuple[Any, ...]:
    """What the page's body shows: the application's version, the staff member and role (what
    they may do), the day, the calendar's version, the language."""
    return (
        "case",
        user.pk,
        user.role,
        app.pk,
        app.audit_head,
        app.status,
        app.customer_manager_id,
        today,
        workdays.current().exceptions.version,
        get_language(),
    )


def _body(
    request: HttpRequest,
    user: User,
    app: Application,
    today: date,
    bound: dict[str, djforms.Form] | None,
    revealed: dict[str, str] | None,
    keep: bool,
) -> str:
    ctx = page_context(user, app, today)
    # every action's address is the page's plus its own tail (urls.py): reversed once, not per form
    ctx["case_url"] = _page_url(app)
    ctx["pii"] = [
        {"field": "id_number", "label": _("ID number"), "masked": ctx["masked"]["id_number"]},
        {"field": "phone", "label": _("Phone"), "masked": ctx["masked"]["phone"]},
    ]
    for p in ctx["pii"]:
        p["value"] = (revealed or {}).get(p["field"], "")
    ctx["bound"] = bound or {}
    ctx["upload_form"] = (bound or {}).get("upload") or forms.UploadForm(
        prefix="upload", kinds=[r.kind for r in ctx["requirements"]]
    )
    ctx["reassign_form"] = (bound or {}).get("reassign") or forms.ReassignForm(
        prefix="reassign", managers=ctx["managers"]
    )
    ctx["cancel_form"] = (bound or {}).get("cancel") or forms.CancelForm(prefix="cancel")
    ctx["pause_form"] = (bound or {}).get("pause") or forms.PauseForm(prefix="pause")
    ctx["complete_form"] = (bound or {}).get("complete") or forms.CompleteForm(prefix="complete")
    if keep:
        ctx["csrf_token"] = kept.PLACEHOLDER
    return render_to_string("workbench_case/_application_body.html", ctx, request)


def _fail(form: djforms.Form, exc: ValidationFailed) -> None:
    for name, msgs in exc.fields.items():
        target = name if name in form.fields else None
        for msg in msgs:
            form.add_error(target, msg)


def _current(app: Application) -> tuple[str, int] | None:
    return (
        StageInstance.objects.filter(application=app, status__in=[StageStatus.IN_PROGRESS, StageStatus.PAUSED])
        .values_list("code", "round")
        .first()
    )


def _conflict(request: HttpRequest, app: Application, message: str) -> HttpResponse:
    messages.warning(request, message)
    return HttpResponseRedirect(_page_url(app, "actions"))


def _stale_message() -> str:
    return _(
        "Someone else changed this application meanwhile (the stage you saw is no longer current). "
        "The page now shows the latest state: check it before acting again."
    )


def _act(
    request: HttpRequest,
    user: User,
    app: Application,
    key: str,
    form: djforms.Form,
    call: Callable[[], object],
    success: str,
    stage_ref: bool = True,
) -> HttpResponse:
    """Validate ``form``, check it still refers to the current stage, call the service."""
    if not form.is_valid():
        return _render_page(request, user, app, 200, {key: form})
    if stage_ref and _current(app) != (form.cleaned_data["stage"], form.cleaned_data["round"]):
        return _conflict(request, app, _stale_message())
    try:
        call()
    except ValidationFailed as exc:
        _fail(form, exc)
        return _render_page(request, user, app, 200, {key: form})
    except Conflict as exc:
        text = _stale_message() if exc.code == "stage_conflict" else exc.message
        return _conflict(request, app, text)
    messages.success(request, success)
    return HttpResponseRedirect(_page_url(app))


# --- the page ------------------------------------------------------------------------------------


@require_GET
@login_required
def application(request: HttpRequest, number: str) -> HttpResponse:
    """The whole page is kept per version (``kept``): the access check on the light row
    (``access.access_ref``), then the kept page with this request's token and unread count; the
    application's full row only when the page must be built."""
    user: User = request.user  # type: ignore[assignment]
    refused = _refused(request, user, number)
    if refused is not None:
        return refused
    try:
        ref = access.access_ref(user, number)
        # Messages are shown in the frame: the frame afresh, the body kept. So too with a query
        # string (the page reads none): one kept page per path, not one per made-up URL.
        if request.GET or kept.has_messages(request):
            return _render_page(request, user, access.access_application(user, number))
        today = timezone.localdate()
        html = kept.lookup(_page_key(request, user, ref, today))
        if html is None:
            # built from the full row, under its own version (a change since the light row's read
            # is then the version kept, never stored under the older one)
            app = full_row(user, ref)
            html = kept.part(_page_key(request, user, app, today), lambda: _whole_page(request, user, app, today))
    except (NotFound, Forbidden) as exc:
        return _error_page(request, exc.status, exc.message)
    return kept.serve_page(request, html)


def _page_key(request: HttpRequest, user: User, app: Application | access.Ref, today: date) -> tuple[Any, ...]:
    return ("page", request.get_full_path(), *_body_key(user, app, today))


def _whole_page(request: HttpRequest, user: User, app: Application, today: date) -> str:
    body = kept.part(_body_key(user, app, today), lambda: _body(request, user, app, today, None, None, True))
    path = conditional_escape(request.get_full_path())
    return (
        _frame(request, user).replace(_PATH, path).replace(_NUMBER, conditional_escape(app.number)).replace(_BODY, body)
    )


# The frame of a kept page (application.html: staff_base around the body) of one staff member
# and language: the same HTML for every case but for the case's number (the title), the page's
# address (the language switch's "next") and the body, rendered with placeholders for them once
# and filled in per page. Keyed by everything else the frame shows (name, role, language, the
# navigation's current link); the per-request values (CSRF token, unread count) are kept.py's
# own placeholders. Kept in this process like every per-process cache: at most caching.SECONDS.
_NUMBER = "keptcasenumberplaceholderr5t1z8"
_PATH = "keptcasepathplaceholderh3n6c0"
_BODY = "keptcasebodyplaceholderw2j9f4"
_FRAMES: dict[tuple[Any, ...], tuple[float, str]] = {}
_FRAMES_MAX = 512


def _nav_current(role: str, path: str) -> str | None:
    """The navigation's current link for ``path`` (design.nav.navigation_for's choice)."""
    hrefs = [i.href for g in NAVIGATION for i in g.items if role in i.roles and path.startswith(i.href)]
    return max(hrefs, key=len) if hrefs else None


def _frame(request: HttpRequest, user: User) -> str:
    key = (
        user.pk,
        user.role,
        user.username,
        user.first_name,
        user.last_name,
        get_language(),
        _nav_current(user.role, request.path),
    )
    now = time.monotonic()
    found = _FRAMES.get(key)
    if found is not None and now - found[0] < caching.SECONDS:
        return found[1]
    ctx = kept.frame_context({"app": {"number": _NUMBER}, "body": SafeString(_BODY)})
    rendered = render_to_string("workbench_case/application.html", ctx, request)
    html = str(rendered).replace(conditional_escape(request.get_full_path()), _PATH)
    if len(_FRAMES) >= _FRAMES_MAX:
        _FRAMES.clear()
    _FRAMES[key] = (now, html)
    return html


@caching.register
def _forget_frames() -> None:
    _FRAMES.clear()


@require_POST
@staff_view
def reveal(request: HttpRequest, user: User, app: Application, field: str) -> HttpResponse:
    """htmx: the full value in place of the masked one; without htmx the whole page with it."""
    value = privacy.reveal(user, app, field)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "workbench_case/_revealed.html", {"value": value, "field": field})
    return _render_page(request, user, app, revealed={field: value})


# --- actions --------------------------------------------------------------------------------------


@require_POST
@staff_view
def complete(request: HttpRequest, user: User, app: Application) -> HttpResponse:
    form = forms.CompleteForm(request.POST, prefix="complete")
    code = request.POST.get("complete-stage", "")
    access.require_stage_role(user, app, code)
    return _act(
        request,
        user,
        app,
        "complete",
        form,
        lambda: services.complete_stage(
            app.number,
            form.cleaned_data["stage"],
            user,
            outcome=form.cleaned_data["outcome"] or None,
            note=form.cleaned_data["note"],
            defects=form.defect_list(),
        ),
        _("The stage is completed."),
    )


@require_POST
@staff_view
def skip(request: HttpRequest, user: User, app: Application) -> HttpResponse:
    form = forms.SkipForm(request.POST, prefix="skip")
    access.require_stage_role(user, app, request.POST.get("skip-stage", ""))
    return _act(
        request,
        user,
        app,
        "skip",
        form,
        lambda: services.skip_stage(app.number, form.cleaned_data["stage"], user, reason=form.cleaned_data["reason"]),
        _("The stage is marked not required."),
        stage_ref=False,
    )


@require_POST
@staff_view
def pause(request: HttpRequest, user: User, app: Application) -> HttpResponse:
    access.require_role(user, roles(access.PAUSE_ROLES), app)
    form = forms.PauseForm(request.POST, prefix="pause")
    return _act(
        request,
        user,
        app,
        "pause",
        form,
        lambda: services.pause(
            app.number, user, reason_code=form.cleaned_data["reason_code"], reason=form.cleaned_data["reason"]
        ),
        _("The application is paused; the clock stops until it is resumed."),
    )


@require_POST
@staff_view
def resume(request: HttpRequest, user: User, app: Application) -> HttpResponse:
    access.require_role(user, roles(access.PAUSE_ROLES), app)
    form = forms.ResumeForm(request.POST, prefix="resume")
    return _act(
        request, user, app, "resume", form, lambda: services.resume(app.number, user), _("The application is resumed.")
    )


@require_POST
@staff_view
def reassign(request: HttpRequest, user: User, app: Application) -> HttpResponse:
    access.require_role(user, roles(access.REASSIGN_ROLES), app)
    managers = list(User.objects.filter(role="customer_manager", is_active=True).order_by("username"))
    form = forms.ReassignForm(request.POST, prefix="reassign", managers=managers)
    return _act(
        request,
        user,
        app,
        "reassign",
        form,
        lambda: services.reassign(
            app.number, user, username=form.cleaned_data["customer_manager"], reason=form.cleaned_data["reason"]
        ),
        _("The application is reassigned."),
        stage_ref=False,
    )


@require_POST
@staff_view
def cancel(request: HttpRequest, user: User, app: Application) -> HttpResponse:
    access.require_role(user, roles(access.CANCEL_ROLES), app)
    form = forms.CancelForm(request.POST, prefix="cancel")
    return _act(
        request,
        user,
        app,
        "cancel",
        form,
        lambda: services.cancel(app.number, user, reason=form.cleaned_data["reason"]),
        _("The application is cancelled."),
        stage_ref=False,
    )


# --- documents ------------------------------------------------------------------------------------


@require_POST
@staff_view
def upload(request: HttpRequest, user: User, app: Application) -> HttpResponse:
    access.require_role(user, roles(documents.DOCUMENT_ROLES), app)
    kinds = [r.kind for r in documents.required_documents(app)]
    form = forms.UploadForm(request.POST, request.FILES, prefix="upload", kinds=kinds)

    def call() -> object:
        f = form.cleaned_data["file"]
        return documents.upload_document(app.number, form.cleaned_data["kind"], f, f.name, user)

    return _act(request, user, app, "upload", form, call, _("The document is stored."), stage_ref=False)


@require_POST
@staff_view
def received(request: HttpRequest, user: User, app: Application) -> HttpResponse:
    access.require_role(user, roles(documents.DOCUMENT_ROLES), app)
    form = forms.ReceivedForm(request.POST, prefix="received")
    return _act(
        request,
        user,
        app,
        "received",
        form,
        lambda: documents.mark_received(app.number, form.cleaned_data["kind"], user),
        _("The document is marked received."),
        stage_ref=False,
    )


@require_POST
@staff_view
def waive(request: HttpRequest, user: User, app: Application) -> HttpResponse:
    access.require_role(user, roles(documents.WAIVE_ROLES), app)
    form = forms.WaiveForm(request.POST, prefix="waive")
    return _act(
        request,
        user,
        app,
        "waive",
        form,
        lambda: documents.waive(app.number, form.cleaned_data["kind"], user, reason=form.cleaned_data["reason"]),
        _("The document is waived."),
        stage_ref=False,
    )


@require_GET
@staff_view
def download(request: HttpRequest, user: User, app: Application, document_id: int) -> HttpResponseBase:
    path, doc = documents.stored_file(app, document_id)
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=documents.download_name(doc), content_type=doc.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
