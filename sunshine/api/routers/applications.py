"""API v1: applications for staff (intake, list, detail, stage transitions, events)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from sunshine.accounts import units
from sunshine.accounts.models import Role, User
from sunshine.api import schemas
from sunshine.api.common import idempotency_key, json_body, roles, safe_number, staff
from sunshine.api.errors import CONTENT_TYPE, render
from sunshine.applications import access, contact, selectors, services
from sunshine.applications.models import Application
from sunshine.applications.validation import validate_intake
from sunshine.errors import NotFound

# Operation ids are fixed (API v1: add, never rename). These operations were first defined in
# sunshine/api/api.py, whose module name ninja puts in the default id, so they keep that id here.

router = Router(tags=["applications"])


def intake_body(result: services.IntakeResult) -> dict[str, Any]:
    """The answer's body, as ``application_detail`` builds it. A replay (same Idempotency-Key,
    same body) answers like the original: the same application, so a client retrying after a
    lost response sees what it would have seen."""
    app = result.application  # a new one comes with its customer, manager, process and stages
    if result.replayed:
        app = Application.objects.select_related("customer", "customer_manager", "process").get(pk=app.pk)
        return selectors.application_detail(app)
    return selectors.application_detail(app, stages=result.stages)


def _intake_response(result: services.IntakeResult) -> HttpResponse:
    """``201`` with the body rendered as ninja renders ``schemas.ApplicationOut`` (the API's
    renderer), without validating it against the schema again: ``application_detail`` builds
    its keys in the schema's order with values of the schema's types, so the bytes are the same
    (tests/test_intake_answer.py compares them with ninja's rendering)."""
    return HttpResponse(render(intake_body(result)), status=201, content_type=CONTENT_TYPE)


@router.post(
    "/applications",
    response={201: schemas.ApplicationOut},
    operation_id="sunshine_api_api_create_application",
)
def create_application(request: HttpRequest, payload: schemas.IntakeIn) -> HttpResponse:
    """The body is checked against its schema first; the ID's check character and birth date and
    the capacity's range for the category are the intake's own rules (422)."""
    return intake(request)


def intake(request: HttpRequest, parsed: Any = None) -> HttpResponse:
    """The view's work once ninja has authenticated the caller and checked the body against its
    schema; ``parsed``: the body as the API's parser parsed it, if it has (sunshine/api/fast.py)."""
    user = staff(request)
    access.require_role(user, roles(access.INTAKE_ROLES))
    body = json_body(request, parsed)  # as sent: the idempotency fingerprint is of the body itself
    data = validate_intake(body, timezone.localdate())
    key = idempotency_key(request)
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
    unit: str | None = Field(
        None, max_length=40, pattern=r"^[-a-zA-Z0-9_]+$", description="a unit's code: it and the units below it"
    )
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


def _unit_filter(user: User, code: str | None) -> list[int] | None:
    """The ids of the unit ``code`` and those below it (none for an unknown code); a unit outside
    the user's own is refused (a customer manager's list is theirs whatever the unit)."""
    if not code:
        return None
    tree = units.tree()
    node = tree.by_code(code)
    if node is None:
        return []  # no such unit: nothing in it
    if user.role != Role.CUSTOMER_MANAGER:
        access.require_unit(user, node.id)
    return tree.below(node.id)


@router.get("/applications", response=schemas.ApplicationPage, operation_id="sunshine_api_api_list_applications")
def list_applications(request: HttpRequest, filters: Query[ListFilters]) -> dict[str, Any]:
    user = staff(request)
    qs = selectors.filter_applications(
        access.visible_applications(user),
        unit_ids=_unit_filter(user, filters.unit),
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


@router.get("/applications/{number}", response=schemas.ApplicationOut, operation_id="sunshine_api_api_get_application")
def get_application(request: HttpRequest, number: str) -> dict[str, Any]:
    return selectors.application_detail(access.access_application(staff(request), safe_number(number)))


def _detail(number: str) -> dict[str, Any]:
    app = Application.objects.select_related("customer", "customer_manager", "process").get(number=number)
    return selectors.application_detail(app)


@router.post(
    "/applications/{number}/stages/{code}/complete",
    response=schemas.ApplicationOut,
    operation_id="sunshine_api_api_complete_stage",
)
def complete_stage(request: HttpRequest, number: str, code: str, payload: schemas.CompleteIn) -> dict[str, Any]:
    """A review or inspection stage needs an outcome, and ``failed`` at least one defect; other
    stages take neither (422)."""
    user = staff(request)
    app = access.access_application(user, safe_number(number))
    access.require_stage_role(user, app, code)
    services.complete_stage(
        number, code, user, outcome=payload.outcome, note=payload.note, defects=list(payload.defects)
    )
    return _detail(number)


@router.post(
    "/applications/{number}/stages/{code}/skip",
    response=schemas.ApplicationOut,
    operation_id="sunshine_api_api_skip_stage",
)
def skip_stage(request: HttpRequest, number: str, code: str, payload: schemas.ReasonIn) -> dict[str, Any]:
    user = staff(request)
    app = access.access_application(user, safe_number(number))
    access.require_stage_role(user, app, code)
    services.skip_stage(number, code, user, reason=payload.reason)
    return _detail(number)


@router.post(
    "/applications/{number}/pause",
    response=schemas.ApplicationOut,
    operation_id="sunshine_api_api_pause",
)
def pause(request: HttpRequest, number: str, payload: schemas.PauseIn) -> dict[str, Any]:
    user = staff(request)
    app = access.access_application(user, safe_number(number))
    access.require_role(user, roles(access.PAUSE_ROLES), app)
    services.pause(number, user, reason_code=payload.reason_code, reason=payload.reason)
    return _detail(number)


@router.post("/applications/{number}/resume", response=schemas.ApplicationOut, operation_id="sunshine_api_api_resume")
def resume(request: HttpRequest, number: str) -> dict[str, Any]:
    user = staff(request)
    app = access.access_application(user, safe_number(number))
    access.require_role(user, roles(access.PAUSE_ROLES), app)
    services.resume(number, user)
    return _detail(number)


@router.post(
    "/applications/{number}/cancel",
    response=schemas.ApplicationOut,
    operation_id="sunshine_api_api_cancel",
)
def cancel(request: HttpRequest, number: str, payload: schemas.ReasonIn) -> dict[str, Any]:
    user = staff(request)
    app = access.access_application(user, safe_number(number))
    access.require_role(user, roles(access.CANCEL_ROLES), app)
    services.cancel(number, user, reason=payload.reason)
    return _detail(number)


@router.post(
    "/applications/{number}/reassign",
    response=schemas.ApplicationOut,
    operation_id="sunshine_api_api_reassign",
)
def reassign(request: HttpRequest, number: str, payload: schemas.ReassignIn) -> dict[str, Any]:
    """``customer_manager`` must name an active customer manager (422 otherwise)."""
    user = staff(request)
    app = access.access_application(user, safe_number(number))
    access.require_role(user, roles(access.REASSIGN_ROLES), app)
    services.reassign(number, user, username=payload.customer_manager, reason=payload.reason)
    return _detail(number)


@router.post(
    "/applications/{number}/unit",
    response=schemas.ApplicationOut,
    operation_id="sunshine_api_move_unit",
)
def move_unit(request: HttpRequest, number: str, payload: schemas.MoveUnitIn) -> dict[str, Any]:
    """Move an application to another unit within the caller's (event ``unit_moved``); an
    unknown unit is a 422, another's unit a 403."""
    user = staff(request)
    app = access.access_application(user, safe_number(number))
    access.require_role(user, roles(access.MOVE_UNIT_ROLES), app)
    target = units.tree().by_code(payload.unit)
    if target is None:
        raise NotFound(_("No unit with this code."), "unit_not_found")
    access.require_unit(user, target.id)
    services.move_unit(number, user, unit_code=payload.unit, reason=payload.reason)
    return _detail(number)


@router.post(
    "/applications/{number}/contact",
    response=schemas.ApplicationOut,
    operation_id="sunshine_api_correct_contact",
)
def correct_contact(request: HttpRequest, number: str, payload: schemas.ContactIn) -> dict[str, Any]:
    """更正客户联系方式: set the customer's (and this application's) name and/or phone, with a
    reason (event ``contact_corrected``: who, which fields, why, the new phone's last 4 digits).
    The case's own customer manager, a clerk, a leader or an administrator. A blank reason, or
    nothing that differs from what is stored, is a 422."""
    user = staff(request)
    app = access.access_application(user, safe_number(number))
    access.require_role(user, roles(contact.CONTACT_ROLES), app)
    contact.correct_contact(app.number, user, name=payload.name, phone=payload.phone, reason=payload.reason)
    return _detail(app.number)


@router.get("/applications/{number}/events", response=schemas.EventList, operation_id="sunshine_api_api_events")
def events(request: HttpRequest, number: str) -> dict[str, Any]:
    return {"results": selectors.events_of(access.access_application(staff(request), safe_number(number)))}
