"""Public pages: home, online application, progress look-up (with the pause contest), complaints.

Thin views: parse the form, call ``flows`` (which throttles and calls one domain service),
render. No login; CSRF on every form; every attempt that could probe data is throttled.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sunshine.applications import progress as progress_reads
from sunshine.applications import selectors, validation
from sunshine.applications.models import Application
from sunshine.applications.validation import validate_intake
from sunshine.errors import DomainError, IdempotencyKeyReused, ValidationFailed
from sunshine.portal.public import flows, presenters
from sunshine.portal.public.messages import not_found_message
from sunshine.portal.public.proposal import propose_category, table_for_page
from sunshine.processes.selectors import processes_in_force

CATEGORY_ORDER = {"lv_residential": 0, "lv_non_residential": 1, "hv_single": 2, "hv_dual": 3}

# Form field name → the intake body's dotted path (validation messages are keyed by the path).
APPLY_FIELDS = {
    "id_type": "customer.id_type",
    "name": "customer.name",
    "id_number": "customer.id_number",
    "phone": "customer.phone",
    "address": "address",
    "requested_capacity": "requested_capacity",
    "capacity_unit": "capacity_unit",
    "business_type": "business_type",
    "category": "category",
    "verification_code": "verification_code",
}
PATH_TO_FIELD = {v: k for k, v in APPLY_FIELDS.items()}
SESSION_APPLIED = "portal_applied_number"


def _ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def _too_many(request: HttpRequest, exc: flows.Refused) -> HttpResponse:
    response = render(request, "portal_public/throttled.html", {"message": exc.message}, status=429)
    response["Retry-After"] = str(exc.retry_after or 60)
    return response


# --- home --------------------------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    processes = sorted(processes_in_force(timezone.localdate()), key=lambda p: CATEGORY_ORDER.get(p.category, 9))
    return render(request, "portal_public/home.html", {"promises": [presenters.promise(p) for p in processes]})


# --- online application ------------------------------------------------------------------------


def _apply_body(post: Any) -> dict[str, Any]:
    return {
        "category": post.get("category", ""),
        "business_type": post.get("business_type", ""),
        "channel": "online",
        "customer": {
            "name": post.get("name", ""),
            "id_type": post.get("id_type", ""),
            "id_number": post.get("id_number", ""),
            "phone": post.get("phone", ""),
        },
        "address": post.get("address", ""),
        "requested_capacity": post.get("requested_capacity", "").strip(),
        "capacity_unit": post.get("capacity_unit", ""),
        "key_project": False,
        "verification_code": post.get("verification_code", ""),
    }


def _apply_context(request: HttpRequest, values: dict[str, str], errors: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "proposal_table": table_for_page(),
        "choices": presenters.apply_choices(),
    }


@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        values = {"id_type": "resident_id", "business_type": "new_connection", "capacity_unit": "kW"}
        values["idempotency_key"] = uuid.uuid4().hex
        return render(request, "portal_public/apply.html", _apply_context(request, values, {}))
    post = request.POST
    values = {k: post.get(k, "") for k in [*APPLY_FIELDS, "idempotency_key"]}
    values["verification_code"] = ""
    if not values["idempotency_key"]:
        values["idempotency_key"] = uuid.uuid4().hex
    body = _apply_body(post)
    if not body["category"]:
        body["category"] = propose_category(body["customer"]["id_type"], body["requested_capacity"]) or ""
    try:
        # at most 64 characters, refused like the API's over-long Idempotency-Key, never cut
        key = validation.check_idempotency_key(
            values["idempotency_key"], field="form", max_len=validation.FORM_IDEMPOTENCY_KEY_MAX
        )
        app = flows.apply_online(
            body,
            client_ip=_ip(request),
            idempotency_key=f"form:{key}" if key else None,
            today=timezone.localdate(),
        )
    except flows.Refused as exc:
        return _too_many(request, exc)
    except ValidationFailed as exc:
        errors = {PATH_TO_FIELD.get(path, "form"): msgs for path, msgs in exc.fields.items()}
        if len(values["idempotency_key"]) > validation.FORM_IDEMPOTENCY_KEY_MAX:
            values["idempotency_key"] = uuid.uuid4().hex  # the page's own key from now on
        if not values.get("category") and ("requested_capacity" in errors or "id_type" in errors):
            # The category is optional (proposed from the type and capacity): while those are
            # wrong nothing can be proposed, and their own messages say what to fix.
            errors.pop("category", None)
        return render(request, "portal_public/apply.html", _apply_context(request, values, errors), status=422)
    except IdempotencyKeyReused:
        # This form was already sent with other details (e.g. edited after going back): a new
        # form gets a new key, so the customer can apply again on purpose.
        values["idempotency_key"] = uuid.uuid4().hex
        message = _("This form was already submitted. Check the details and submit again to make a new application.")
        context = _apply_context(request, values, {"form": [message]})
        return render(request, "portal_public/apply.html", context, status=409)
    except DomainError as exc:
        return render(
            request, "portal_public/apply.html", _apply_context(request, values, {"form": [exc.message]}), status=409
        )
    request.session[SESSION_APPLIED] = app.number
    return redirect("portal_public:applied")


@require_GET
def applied(request: HttpRequest) -> HttpResponse:
    """The success page, for the browser that applied (the number sits in its session)."""
    number = request.session.get(SESSION_APPLIED)
    app = (
        Application.objects.select_related("customer_manager", "process").filter(number=number).first()
        if number
        else None
    )
    if app is None:
        return redirect("portal_public:apply")
    progress = selectors.public_progress(app)
    return render(
        request,
        "portal_public/applied.html",
        {
            "progress": progress,
            "next_steps": presenters.next_steps(progress),
            "manager": presenters.manager_card(app),
            "phone_tail": app.contact_phone[-4:],
        },
    )


@require_POST
def apply_check(request: HttpRequest) -> HttpResponse:
    """htmx: the messages of one field as the user types (``?field=``), from the same
    validation as the API; an empty fragment when the field is fine."""
    field = request.GET.get("field", "")
    path = APPLY_FIELDS.get(field)
    messages: list[str] = []
    if path and path != "verification_code":
        body = _apply_body(request.POST)
        if path != "category" and not body["category"]:
            # only the capacity check reads it: judge against the category the form proposes
            body["category"] = (
                propose_category(body["customer"]["id_type"], body["requested_capacity"]) or "lv_residential"
            )
        value = request.POST.get(field, "")
        if str(value).strip():  # nothing typed yet: say nothing
            try:
                validate_intake(body, timezone.localdate())
            except ValidationFailed as exc:
                messages = exc.fields.get(path, [])
    return render(request, "portal_public/_field_errors.html", {"messages": messages, "field": field})


@require_POST
def send_code(request: HttpRequest, purpose: str) -> HttpResponse:
    """htmx: send a one-time code to the phone in the form; the answer is a status line."""
    ok, message = True, ""
    try:
        sent = flows.send_code(request.POST.get("phone", ""), client_ip=_ip(request), purpose=purpose)
        message = _("A code was sent to %(phone)s; it is valid for %(minutes)s minutes.") % {
            "phone": sent.masked_phone,
            "minutes": max(1, sent.expires_in // 60),
        }
    except ValidationFailed as exc:
        ok, message = False, next(iter(exc.fields.values()))[0]
    except flows.Refused as exc:
        ok, message = False, exc.message
    status = 200 if (ok or request.headers.get("HX-Request") == "true") else 429  # htmx swaps only 2xx answers
    return render(request, "portal_public/_code_status.html", {"ok": ok, "message": message}, status=status)


# --- progress ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def progress(request: HttpRequest) -> HttpResponse:
    """The form posts (so the phone ending never lands in a URL or an access log); a GET with
    ``?number=…&phone_tail=…`` still shows the result, as bookmarks of API v1 expect."""
    data = request.POST if request.method == "POST" else request.GET
    number = data.get("number", "")
    tail = data.get("phone_tail", "")
    context: dict[str, Any] = {"number": number.strip(), "phone_tail": tail.strip()}
    if "number" not in data and "phone_tail" not in data:
        return render(request, "portal_public/progress.html", context)
    try:
        found = flows.lookup(number, tail, client_ip=_ip(request))
    except flows.Refused as exc:
        return _too_many(request, exc)
    if found is None:
        context["not_found"] = not_found_message()
        return render(request, "portal_public/progress.html", context, status=404)
    app = progress_reads.application(found)
    today = timezone.localdate()
    version = progress_reads.version(found, today, get_language() or settings.LANGUAGE_CODE)
    kept = progress_reads.answer("page", version, lambda: selectors.public_progress(app, today))
    context.update(presenters.progress_page(app, kept))
    return render(request, "portal_public/progress.html", context)


@require_POST
def contest(request: HttpRequest) -> HttpResponse:
    number = request.POST.get("number", "")
    tail = request.POST.get("phone_tail", "")
    text = request.POST.get("text", "")
    try:
        case = flows.contest_pause(number, tail, text, client_ip=_ip(request))
    except flows.Refused as exc:
        return _too_many(request, exc)
    except (ValidationFailed, DomainError) as exc:
        message = next(iter(exc.fields.values()))[0] if isinstance(exc, ValidationFailed) else exc.message
        return render(
            request,
            "portal_public/contest_error.html",
            {"message": message, "number": number.strip(), "phone_tail": tail.strip()},
            status=422,
        )
    return render(request, "portal_public/contested.html", {"case": case, "number": number.strip().upper()})


# --- complaints ----------------------------------------------------------------------------------

COMPLAINT_FIELDS = ("name", "phone", "kind", "number", "text", "verification_code")


@require_http_methods(["GET", "POST"])
def complaints(request: HttpRequest) -> HttpResponse:
    kinds = [(k, flows.complaint_kind_label(k)) for k in flows.COMPLAINT_KINDS]
    if request.method == "GET":
        values = {"kind": request.GET.get("kind", "complaint"), "number": request.GET.get("number", "")[:20]}
        return render(request, "portal_public/complaints.html", {"values": values, "errors": {}, "kinds": kinds})
    values = {k: request.POST.get(k, "") for k in COMPLAINT_FIELDS}
    try:
        case = flows.open_complaint(values, client_ip=_ip(request))
    except flows.Refused as exc:
        return _too_many(request, exc)
    except ValidationFailed as exc:
        values["verification_code"] = ""
        return render(
            request,
            "portal_public/complaints.html",
            {"values": values, "errors": exc.fields, "kinds": kinds},
            status=422,
        )
    return render(
        request, "portal_public/complained.html", {"case": case, "kind": flows.complaint_kind_label(values["kind"])}
    )


# --- contractor choices (三不指定) ---------------------------------------------------------------

CHOICE_KINDS = ("design", "construction", "supply")


def _choice_context(app: Application, values: dict[str, str], errors: dict[str, list[str]]) -> dict[str, Any]:
    from sunshine.directory import selectors as directory
    from sunshine.directory.models import ContractorKind

    today = timezone.localdate()
    seed = directory.new_seed()  # a fresh neutral order for each visit (directory.rules.neutral_order)
    units = directory.contractor_page(today, seed=seed, page_size=1000).results
    current = {c.kind: c for c in app.contractor_choices.select_related("contractor")}
    kinds = []
    for kind in CHOICE_KINDS:
        mine = current.get(kind)
        kinds.append(
            {
                "kind": kind,
                "label": ContractorKind(kind).label,
                "units": [u for u in units if u.kind == kind],
                "current": mine,
                "value": values.get(kind, str(mine.contractor_id) if mine else ""),
                "answer": values.get(f"{kind}_answer", mine.answer if mine else ""),
                "errors": errors.get(kind, []) + errors.get(f"{kind}_answer", []),
            }
        )
    return {"app": app, "kinds": kinds, "errors": errors}


@require_POST
def choices(request: HttpRequest) -> HttpResponse:
    """登记选择的设计、施工、供货单位: opened from the progress page (its number and phone ending
    posted again: each visit is a throttled look-up), saved with ``step=save``."""
    number = request.POST.get("number", "").strip()
    tail = request.POST.get("phone_tail", "").strip()
    base = {"number": number.upper(), "phone_tail": tail}
    if request.POST.get("step") != "save":
        try:
            found = flows.lookup(number, tail, client_ip=_ip(request))
        except flows.Refused as exc:
            return _too_many(request, exc)
        if found is None:
            return render(
                request, "portal_public/choices_error.html", {**base, "message": not_found_message()}, status=404
            )
        app = progress_reads.application(found)
        return render(request, "portal_public/choices.html", {**base, **_choice_context(app, {}, {})})
    picks = [
        flows.Pick(k, request.POST.get(k, "").strip(), request.POST.get(f"{k}_answer", "").strip())
        for k in CHOICE_KINDS
    ]
    try:
        recorded = flows.record_choices(number, tail, picks, client_ip=_ip(request))
    except flows.Refused as exc:
        return _too_many(request, exc)
    except flows.Unproven:
        return render(request, "portal_public/choices_error.html", {**base, "message": not_found_message()}, status=404)
    except ValidationFailed as exc:
        app = Application.objects.get(number=number.upper())  # proven by the look-up above
        values = {k: request.POST.get(k, "") for k in CHOICE_KINDS}
        values.update({f"{k}_answer": request.POST.get(f"{k}_answer", "") for k in CHOICE_KINDS})
        context = {**base, **_choice_context(app, values, exc.fields)}
        return render(request, "portal_public/choices.html", context, status=422)
    except DomainError as exc:
        return render(request, "portal_public/choices_error.html", {**base, "message": exc.message}, status=409)
    return render(request, "portal_public/choices_done.html", {**base, "recorded": recorded})
