"""API v1 (api-v1.md): thin views — parse, load with an access check, call a service, render."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any, Literal

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import Field

from sunshine.accounts import totp
from sunshine.accounts.models import User
from sunshine.accounts.services import SecondStep, Throttled, hit_limit, issue_token, throttle_key, user_for_token
from sunshine.api import schemas
from sunshine.api.errors import ApiError, ApiRenderer, default_message, error_response
from sunshine.applications import access, selectors, services
from sunshine.applications.models import Application
from sunshine.applications.validation import validate_intake
from sunshine.errors import DomainError, NotFound, ValidationFailed
from sunshine.processes.selectors import processes_in_force

log = logging.getLogger(__name__)


class BearerAuth(HttpBearer):
    """A valid, unexpired token of an active user. A token whose user has no staff role is a
    known identity without permission: ``403`` (an unknown or expired token is ``401``)."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token)
        if user is None:
            return None
        if not access.is_staff_user(user):
            raise ApiError(403, "forbidden", _("This account has no staff role and may not use the API."))
        request.user = user
        return user


def session_auth(request: HttpRequest) -> User | None:
    """Staff signed in to the workbench may call the API from its pages (CSRF-checked)."""
    user = getattr(request, "user", None)
    if user is not None and access.is_staff_user(user) and not totp.must_enrol(user):
        from django.middleware.csrf import CsrfViewMiddleware

        if request.method not in ("GET", "HEAD", "OPTIONS"):
            reason = CsrfViewMiddleware(_empty_view).process_view(request, _empty_view, (), {})
            if reason is not None:
                return None
        return user
    return None


def _empty_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


api = NinjaAPI(
    title="阳光业扩服务平台 API",
    version="1",
    description="The HTTP API of the Sunshine new-connection platform (api-v1.md).",
    docs_url="/docs",
    openapi_url="/openapi.json",
    renderer=ApiRenderer(),
    auth=[BearerAuth(), session_auth],
    urls_namespace="api-v1",
)


# --- errors: one body for everything ---------------------------------------------------------


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)


def _database_unavailable(request: HttpRequest, exc: Any) -> HttpResponse:
    """The database is restarting or unreachable: 503 with Retry-After; the client retries the
    same request (an intake with the same Idempotency-Key gets the application it may already have)."""
    from sunshine.ops.unavailable import unavailable_response

    return unavailable_response(request, exc)


api.add_exception_handler(OperationalError, _database_unavailable)
api.add_exception_handler(InterfaceError, _database_unavailable)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message)


@api.exception_handler(ValidationFailed)
def _validation_failed(request: HttpRequest, exc: ValidationFailed) -> HttpResponse:
    return error_response(422, "validation_error", _("Some fields are not valid."), exc.fields)


@api.exception_handler(NinjaValidationError)
def _ninja_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body", "header", "payload")]
        fields.setdefault(".".join(loc) or "body", []).append(_pydantic_message(err))
    return error_response(422, "validation_error", _("Some fields are not valid."), fields)


def _pydantic_message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number.")
    if kind in ("greater_than_equal", "greater_than"):
        return _("Must be at least %(limit)s.") % {"limit": ctx.get("ge", ctx.get("gt"))}
    if kind in ("less_than_equal", "less_than"):
        return _("Must be at most %(limit)s.") % {"limit": ctx.get("le", ctx.get("lt"))}
    if kind in ("literal_error", "enum"):
        return _("Choose one of: %(allowed)s.") % {"allowed": ctx.get("expected", "")}
    if kind in ("bool_parsing", "bool_type"):
        return _("Enter true or false.")
    if kind.startswith("date"):
        return _("Enter a date as YYYY-MM-DD.")
    return _("This value is not valid.")


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    code, message = default_message(401)
    return error_response(401, code, message, headers={"WWW-Authenticate": "Bearer"})


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code, message = default_message(exc.status_code)
    if exc.status_code == 400:
        code, message = "malformed_json", _("The request body is not valid JSON.")
    return error_response(exc.status_code, code, message)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    code, message = default_message(404)
    return error_response(404, code, message)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("API error on %s %s", request.method, request.path)
    code, message = default_message(500)
    return error_response(500, code, message)


# --- helpers ----------------------------------------------------------------------------------


def json_body(request: HttpRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: absurdly deep nesting is bad input too, never a 500.
        raise ApiError(400, "malformed_json", _("The request body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", _("The request body must be a JSON object."))
    errors: dict[str, list[str]] = {}
    _reject_nul(body, "", errors)
    if errors:
        raise ValidationFailed(errors)
    return body


def _safe_number(number: str, public: bool = False) -> str:
    """A path ``number`` that cannot be one (NUL, absurd length) is simply not found."""
    if "\x00" in number or len(number) > 40:
        if public:
            raise ApiError(
                404, "application_not_found", _("No application matches this number and phone number ending.")
            )
        raise NotFound(_("No application with this number."), "application_not_found")
    return number


def _reject_nul(value: Any, path: str, errors: dict[str, list[str]]) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            errors.setdefault(path or "body", []).append(_("This value is not valid."))
    elif isinstance(value, dict):
        for k, v in value.items():
            _reject_nul(v, f"{path}.{k}" if path else str(k), errors)
    elif isinstance(value, list):
        for v in value:
            _reject_nul(v, path, errors)


def _text(body: dict[str, Any], name: str, required: bool = False, max_len: int = 2000) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed({name: [_("Enter text.")]})
    if required and not value.strip():
        raise ValidationFailed({name: [_("This field is required.")]})
    if len(value) > max_len:
        raise ValidationFailed({name: [_("Too long: %(n)s characters at most.") % {"n": max_len}]})
    return value


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def staff(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _roles(roles: Iterable[str]) -> set[str]:
    return set(roles)


def body_doc(schema: type[Schema]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schemas.inline(schema)}}}}


# --- auth ---------------------------------------------------------------------------------------

auth_router = Router(tags=["auth"])


_SECOND_STEP = {
    "otp_required": lambda: _("This account uses two-step sign-in: send the 6-digit code as otp."),
    "invalid_otp": lambda: _("Wrong code. Enter the 6 digits your authenticator app shows now."),
    "otp_enrolment_required": lambda: _(
        "Your role requires two-step sign-in: set it up in the workbench before using the API."
    ),
}


@auth_router.post("/token", auth=None, response={200: schemas.TokenOut}, openapi_extra=body_doc(schemas.TokenIn))
def token(request: HttpRequest) -> dict[str, Any]:
    body = json_body(request)
    errors = {}
    for name in ("username", "password"):
        if not isinstance(body.get(name), str) or not body.get(name):
            errors[name] = [_("This field is required.")]
    otp = body.get("otp")
    if otp is not None and not isinstance(otp, str):
        errors["otp"] = [_("Enter text.")]
    if errors:
        raise ValidationFailed(errors)
    try:
        issued = issue_token(body["username"], body["password"], client_ip(request), request, otp=otp or None)
    except Throttled as exc:
        raise ApiError(
            429,
            "throttled",
            _("Too many failed sign-ins; try again later."),
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    except SecondStep as exc:
        raise ApiError(401, exc.code, _SECOND_STEP[exc.code]()) from None
    if issued is None:
        raise ApiError(401, "invalid_credentials", _("Wrong username or password."))
    raw, expires = issued
    return {"token": raw, "expires_at": expires}


# --- applications ------------------------------------------------------------------------------

apps_router = Router(tags=["applications"])


def _intake_response(result: services.IntakeResult) -> Status:
    """A replay (same Idempotency-Key, same body) answers like the original: ``201`` with the
    same application, so a client retrying after a lost response sees what it would have seen."""
    app = result.application  # a new one comes with its customer, manager and process attached
    if result.replayed:
        app = Application.objects.select_related("customer", "customer_manager", "process").get(pk=app.pk)
    return Status(201, selectors.application_detail(app))


@apps_router.post("/applications", response={201: schemas.ApplicationOut}, openapi_extra=body_doc(schemas.IntakeIn))
def create_application(request: HttpRequest) -> Status:
    user = staff(request)
    access.require_role(user, _roles(access.INTAKE_ROLES))
    body = json_body(request)
    data = validate_intake(body, timezone.localdate())
    key = request.headers.get("Idempotency-Key", "").strip()[:200] or None
    result = services.intake(
        data,
        user,
        idempotency_scope=f"user:{user.pk}",
        idempotency_key=key,
        fingerprint=services.request_fingerprint(body),
    )
    return _intake_response(result)


# PostgreSQL text cannot hold NUL: such input is invalid, never a 500.
_NO_NUL = r"^[^\x00]*$"


class ListFilters(Schema):
    status: Literal["in_progress", "paused", "completed", "cancelled"] | None = None
    category: Literal["lv_residential", "lv_non_residential", "hv_single", "hv_dual"] | None = None
    stage: str | None = Field(None, max_length=150, pattern=_NO_NUL)
    overdue: bool | None = None
    customer_manager: str | None = Field(None, max_length=150, pattern=_NO_NUL)
    key_project: bool | None = None
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


@apps_router.get("/applications", response=schemas.ApplicationPage)
def list_applications(request: HttpRequest, filters: Query[ListFilters]) -> dict[str, Any]:
    user = staff(request)
    qs = selectors.filter_applications(
        access.visible_applications(user),
        status=filters.status,
        category=filters.category,
        stage=filters.stage,
        overdue=filters.overdue,
        customer_manager=filters.customer_manager,
        key_project=filters.key_project,
    ).order_by("-accepted_at", "-id")
    count = qs.count()
    start = (filters.page - 1) * filters.page_size
    return {
        "count": count,
        "page": filters.page,
        "page_size": filters.page_size,
        "results": selectors.list_rows(qs[start : start + filters.page_size]),
    }


@apps_router.get("/applications/{number}", response=schemas.ApplicationOut)
def get_application(request: HttpRequest, number: str) -> dict[str, Any]:
    return selectors.application_detail(access.access_application(staff(request), _safe_number(number)))


def _detail(number: str) -> dict[str, Any]:
    app = Application.objects.select_related("customer", "customer_manager", "process").get(number=number)
    return selectors.application_detail(app)


@apps_router.post(
    "/applications/{number}/stages/{code}/complete",
    response=schemas.ApplicationOut,
    openapi_extra=body_doc(schemas.CompleteIn),
)
def complete_stage(request: HttpRequest, number: str, code: str) -> dict[str, Any]:
    user = staff(request)
    app = access.access_application(user, _safe_number(number))
    access.require_stage_role(user, app, code)
    body = json_body(request)
    outcome = body.get("outcome")
    if outcome is not None and not isinstance(outcome, str):
        raise ValidationFailed({"outcome": [_("Choose one of: %(allowed)s.") % {"allowed": "passed, failed"}]})
    defects = body.get("defects") or []
    if not isinstance(defects, list) or not all(isinstance(d, str) for d in defects):
        raise ValidationFailed({"defects": [_("Give the defects as a list of texts.")]})
    services.complete_stage(number, code, user, outcome=outcome, note=_text(body, "note"), defects=defects)
    return _detail(number)


@apps_router.post(
    "/applications/{number}/stages/{code}/skip",
    response=schemas.ApplicationOut,
    openapi_extra=body_doc(schemas.ReasonIn),
)
def skip_stage(request: HttpRequest, number: str, code: str) -> dict[str, Any]:
    user = staff(request)
    app = access.access_application(user, _safe_number(number))
    access.require_stage_role(user, app, code)
    body = json_body(request)
    services.skip_stage(number, code, user, reason=_text(body, "reason", required=True, max_len=500))
    return _detail(number)


@apps_router.post(
    "/applications/{number}/pause", response=schemas.ApplicationOut, openapi_extra=body_doc(schemas.PauseIn)
)
def pause(request: HttpRequest, number: str) -> dict[str, Any]:
    user = staff(request)
    app = access.access_application(user, _safe_number(number))
    access.require_role(user, _roles(access.PAUSE_ROLES), app)
    body = json_body(request)
    code = body.get("reason_code")
    services.pause(
        number,
        user,
        reason_code=code if isinstance(code, str) else "",
        reason=_text(body, "reason", max_len=500),
    )
    return _detail(number)


@apps_router.post("/applications/{number}/resume", response=schemas.ApplicationOut)
def resume(request: HttpRequest, number: str) -> dict[str, Any]:
    user = staff(request)
    app = access.access_application(user, _safe_number(number))
    access.require_role(user, _roles(access.PAUSE_ROLES), app)
    services.resume(number, user)
    return _detail(number)


@apps_router.post(
    "/applications/{number}/cancel", response=schemas.ApplicationOut, openapi_extra=body_doc(schemas.ReasonIn)
)
def cancel(request: HttpRequest, number: str) -> dict[str, Any]:
    user = staff(request)
    app = access.access_application(user, _safe_number(number))
    access.require_role(user, _roles(access.CANCEL_ROLES), app)
    body = json_body(request)
    services.cancel(number, user, reason=_text(body, "reason", required=True, max_len=500))
    return _detail(number)


@apps_router.post(
    "/applications/{number}/reassign",
    response=schemas.ApplicationOut,
    openapi_extra=body_doc(schemas.ReassignIn),
)
def reassign(request: HttpRequest, number: str) -> dict[str, Any]:
    user = staff(request)
    app = access.access_application(user, _safe_number(number))
    access.require_role(user, _roles(access.REASSIGN_ROLES), app)
    body = json_body(request)
    services.reassign(
        number,
        user,
        username=_text(body, "customer_manager", required=True, max_len=150),
        reason=_text(body, "reason", max_len=500),
    )
    return _detail(number)


@apps_router.get("/applications/{number}/events", response=schemas.EventList)
def events(request: HttpRequest, number: str) -> dict[str, Any]:
    return {"results": selectors.events_of(access.access_application(staff(request), _safe_number(number)))}


# --- public -------------------------------------------------------------------------------------

public_router = Router(tags=["public"], auth=None)


@public_router.get("/applications/{number}", response=schemas.PublicProgress)
def public_progress(request: HttpRequest, number: str, phone_tail: str = "") -> dict[str, Any]:
    try:
        hit_limit(
            throttle_key("public-lookup", client_ip(request)),
            settings.SUNSHINE_PUBLIC_LOOKUPS,
            settings.SUNSHINE_PUBLIC_LOOKUP_WINDOW_SECONDS,
        )
    except Throttled as exc:
        log.warning("public look-up throttled for %s", client_ip(request))
        raise ApiError(
            429,
            "throttled",
            _("Too many look-ups from this device; try again later."),
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    app = (
        Application.objects.select_related("customer_manager", "process")
        .filter(number=_safe_number(number, public=True).strip().upper())
        .first()
    )
    tail = phone_tail.strip()
    if app is None or len(tail) != 4 or not app.contact_phone.endswith(tail):
        raise ApiError(404, "application_not_found", _("No application matches this number and phone number ending."))
    return selectors.public_progress(app)


@public_router.get("/time-limits", response=list[schemas.PublicProcess])
def time_limits(request: HttpRequest) -> list[dict[str, Any]]:
    en = (request.LANGUAGE_CODE or "").startswith("en")
    out = []
    for p in sorted(processes_in_force(timezone.localdate()), key=lambda p: schemas.CATEGORY_ORDER[p.category]):
        out.append(
            {
                "category": p.category,
                "category_label": p.get_category_display(),
                "version": p.version,
                "effective_from": p.effective_from,
                "source": p.source_note,
                "end_to_end_limit_days": p.end_to_end_limit_days,
                "stages": [
                    {
                        "code": s.code,
                        "name": s.name_en if en else s.name_zh,
                        "owner": s.owner,
                        "time_limit_days": s.time_limit_days,
                        "optional": s.optional,
                    }
                    for s in p.stages.all()
                ],
            }
        )
    return out


api.add_router("/auth", auth_router)
api.add_router("/", apps_router)
api.add_router("/public", public_router)

# Routers of the other capabilities, each owned by its module; each names its own paths
# (public ones start with "/public/").
from sunshine.api.routers import (  # noqa: E402
    audit,
    directory,
    evaluation,
    feedback,
    notifications,
    portal,
    reports,
    supervision,
)

for _module in (portal, directory, supervision, notifications, feedback, evaluation, reports, audit):
    api.add_router("/", _module.router)
