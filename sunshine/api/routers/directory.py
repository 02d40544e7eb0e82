"""API v1 endpoints of the directory capability (added to the API in sunshine/api/api.py).

Public: the fee catalogue in force (and the 高可靠性供电费 calculator), the qualified contractors
in a neutral order. Staff: record a charge or a contractor choice on an application.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from sunshine.api.common import staff
from sunshine.api.errors import ApiError
from sunshine.api.schemas import NON_BLANK, In, IsoDate, JsonInt, JsonNumber, QueryIn
from sunshine.applications import access
from sunshine.directory import rules, selectors, services, texts
from sunshine.directory.models import ChoiceChannel, Contractor, FeeItem, FeeSchedule
from sunshine.errors import ValidationFailed
from sunshine.feedback import services as feedback

router = Router(tags=["directory"])

# --- schemas ------------------------------------------------------------------------------------


class FeeScheduleOut(Schema):
    version: int
    title: str
    effective_from: date
    published_reference: str


class FeeItemOut(Schema):
    code: str
    name: str
    legal_basis: str
    basis: Literal["fixed", "per_unit"]
    amount: JsonNumber = Field(description="fixed amount in yuan, or the rate in yuan per unit")
    unit: str
    voltage_level: str
    group: str
    note: str


class AbolishedOut(Schema):
    name: str
    description: str
    abolished_by: str


class FeesOut(Schema):
    on: date
    schedule: FeeScheduleOut | None
    items: list[FeeItemOut]
    abolished: list[AbolishedOut]
    versions: list[FeeScheduleOut]


class FeesQuery(QueryIn):
    on: IsoDate | None = Field(None, description="the catalogue in force on this date (default today)")


class CalculatorQuery(QueryIn):
    capacity_kva: float = Field(gt=0, le=10_000_000, description="capacity of the additional circuit(s), kVA")
    voltage_level: str = Field(
        max_length=8,
        pattern=r"^[0-9.]+kV$",
        description="a voltage level whose rate the catalogue in force publishes (422 for any other)",
    )
    on: IsoDate | None = None


class CalculatorOut(Schema):
    code: str
    name: str
    capacity_kva: JsonNumber
    rate_per_kva: JsonNumber
    amount: JsonNumber
    schedule_version: int


class ContractorOut(Schema):
    id: int
    kind: str
    kind_label: str
    name: str
    credit_code: str
    licence_class: str
    licence_class_label: str
    licence_number: str
    licence_expires_on: date | None
    contact_phone: str
    area_served: str


class ContractorPageOut(Schema):
    count: int
    page: int
    page_size: int
    seed: str = Field(description="pass it back to page through the same order")
    order: str
    notice: str
    results: list[ContractorOut]


_NO_NUL = r"^[^\x00]*$"


class ContractorQuery(QueryIn):
    kind: Literal["design", "construction", "supply"] | None = None
    licence_class: str | None = Field(None, max_length=10, pattern=r"^[a-z0-9_]*$")
    q: str | None = Field(None, max_length=100, pattern=_NO_NUL)
    seed: str | None = Field(None, max_length=32, pattern=r"^[0-9a-f]*$")
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


class ChargeIn(In):
    item_code: str = Field(
        min_length=1,
        max_length=60,
        pattern=NON_BLANK,
        description="an item of the fee catalogue in force (422 not_in_catalogue otherwise)",
    )
    quantity: float | None = Field(None, gt=0, le=1_000_000_000, description="required for a per-unit item only")
    amount: float | None = Field(None, ge=0, le=1_000_000_000_000, description="if given, the catalogue's amount")


class ChargeOut(Schema):
    id: int
    item_code: str
    name: str
    quantity: JsonNumber | None
    amount: JsonNumber
    recorded_at: Any


class ChoiceIn(In):
    kind: Literal["design", "construction", "supply"]
    contractor_id: JsonInt = Field(
        ge=1, le=2**63 - 1, description="a unit of that kind with a valid licence (422 contractor_not_qualified)"
    )
    # added (issue 18): the customer's answer to "did you choose it yourself or did staff suggest
    # it"; "staff" opens a steering case (稽查) as on the case page; absent or null: not asked
    answer: Literal["self", "staff"] | None = Field(
        None,
        description="the customer's answer: self (chose it themselves), staff (suggested by staff), null: not asked",
    )


class ChoiceOut(Schema):
    kind: str
    contractor_id: int
    contractor: str
    recorded_at: Any
    # added: the answer recorded ("self", "staff", "" when not asked) and the steering case it opened
    answer: str = ""
    case: str | None = Field(None, description="the tracking number of the steering case a 'staff' answer opened")


# --- helpers ------------------------------------------------------------------------------------


def _en(request: HttpRequest) -> bool:
    return (getattr(request, "LANGUAGE_CODE", "") or "").startswith("en")


def schedule_dict(s: FeeSchedule) -> dict[str, Any]:
    return {
        "version": s.version,
        "title": s.title,
        "effective_from": s.effective_from,
        "published_reference": s.published_reference,
    }


def item_dict(i: FeeItem, en: bool) -> dict[str, Any]:
    return {
        "code": i.code,
        "name": i.name_en if en else i.name_zh,
        "legal_basis": i.legal_basis,
        "basis": i.basis,
        "amount": i.amount,
        "unit": i.unit,
        "voltage_level": i.voltage_level,
        "group": i.group,
        "note": i.note,
    }


def contractor_dict(c: Contractor) -> dict[str, Any]:
    return {
        "id": c.pk,
        "kind": c.kind,
        "kind_label": c.get_kind_display(),
        "name": c.name,
        "credit_code": c.credit_code,
        "licence_class": c.licence_class,
        "licence_class_label": c.get_licence_class_display(),
        "licence_number": c.licence_number,
        "licence_expires_on": c.licence_expires_on,
        "contact_phone": c.contact_phone,
        "area_served": c.area_served,
    }


# --- public -------------------------------------------------------------------------------------


@router.get("/public/fees", auth=None, response=FeesOut)
def public_fees(request: HttpRequest, filters: Query[FeesQuery]) -> dict[str, Any]:
    on = filters.on or timezone.localdate()
    en = _en(request)
    schedule = selectors.schedule_in_force(on)
    return {
        "on": on,
        "schedule": schedule_dict(schedule) if schedule else None,
        "items": [item_dict(i, en) for i in selectors.items_of(schedule)],
        "abolished": [
            {"name": a.name_en if en else a.name_zh, "description": a.description, "abolished_by": a.abolished_by}
            for a in selectors.abolished_charges()
        ],
        "versions": [schedule_dict(s) for s in selectors.schedules()],
    }


@router.get("/public/fees/high-reliability", auth=None, response=CalculatorOut)
def high_reliability(request: HttpRequest, filters: Query[CalculatorQuery]) -> dict[str, Any]:
    """高可靠性供电费 = capacity of the additional circuit(s) (kVA) × the rate for the voltage."""
    capacity = rules.to_decimal(filters.capacity_kva)  # through its text: no binary noise
    schedule = selectors.schedule_in_force(filters.on or timezone.localdate())
    rate = next(
        (i for i in selectors.rates_of(selectors.items_of(schedule)) if i.voltage_level == filters.voltage_level),
        None,
    )
    if schedule is None or rate is None:
        raise ApiError(
            422,
            "validation_error",
            _("Some fields are not valid."),
            {"voltage_level": [texts.no_rate_text()]},
        )
    return {
        "code": rate.code,
        "name": rate.name_en if _en(request) else rate.name_zh,
        "capacity_kva": capacity,
        "rate_per_kva": rate.amount,
        "amount": rules.high_reliability_fee(capacity, rate.amount),
        "schedule_version": schedule.version,
    }


@router.get("/public/contractors", auth=None, response=ContractorPageOut)
def public_contractors(request: HttpRequest, filters: Query[ContractorQuery]) -> dict[str, Any]:
    page = selectors.contractor_page(
        timezone.localdate(),
        kind=filters.kind,
        licence_class=filters.licence_class,
        text=filters.q,
        seed=filters.seed,
        page=filters.page,
        page_size=filters.page_size,
    )
    return {
        "count": page.count,
        "page": page.page,
        "page_size": page.page_size,
        "seed": page.seed,
        "order": texts.neutral_order_text(),
        "notice": texts.no_designation_text(),
        "results": [contractor_dict(c) for c in page.results],
    }


# --- staff --------------------------------------------------------------------------------------

RECORD_ROLES: set[str] = {str(r) for r in access.INTAKE_ROLES}


@router.post("/applications/{number}/charges", response={201: ChargeOut})
def record_charge(request: HttpRequest, number: str, payload: ChargeIn) -> tuple[int, dict[str, Any]]:
    user = staff(request)
    app = access.access_application(user, number[:40])
    access.require_role(user, RECORD_ROLES, app)
    charge = services.record_charge(
        app.number, payload.item_code.strip(), user, quantity=payload.quantity, amount=payload.amount
    )
    item = charge.fee_item
    return 201, {
        "id": charge.pk,
        "item_code": item.code,
        "name": item.name_en if _en(request) else item.name_zh,
        "quantity": charge.quantity,
        "amount": charge.amount,
        "recorded_at": charge.recorded_at,
    }


@router.post("/applications/{number}/contractor-choices", response={200: ChoiceOut})
def record_choice(request: HttpRequest, number: str, payload: ChoiceIn) -> dict[str, Any]:
    user = staff(request)
    app = access.access_application(user, number[:40])
    access.require_role(user, RECORD_ROLES, app)
    case = None
    if payload.answer is None:
        choice = services.record_contractor_choice(app.number, payload.kind, payload.contractor_id, user)
    else:
        recorded = feedback.record_choice(
            app.number,
            payload.kind,
            payload.contractor_id,
            user,
            suggested_by_staff=feedback.CHOICE_ANSWERS[payload.answer],
            channel=ChoiceChannel.API,
        )
        choice, case = recorded.choice, recorded.case
    return {
        "kind": choice.kind,
        "contractor_id": choice.contractor_id,
        "contractor": choice.contractor.name,
        "recorded_at": choice.recorded_at,
        "answer": choice.answer,
        "case": case.tracking_number if case is not None else None,
    }


# --- statistics (监管公开/测评公开) ---------------------------------------------------------------

MAX_RANGE_DAYS = 3 * 366


class StatsQuery(QueryIn):
    from_date: IsoDate | None = Field(
        None,
        alias="from",
        description="first day (default: the 1st of this month); not after to, at most 3 years before it (422)",
    )
    to_date: IsoDate | None = Field(None, alias="to", description="last day, inclusive (default: today)")
    category: Literal["lv_residential", "lv_non_residential", "hv_single", "hv_dual"] | None = None
    unit: str | None = Field(
        None,
        max_length=40,
        description="code of a company unit (GET /api/v1/units): that unit and everything below it; "
        "unknown code → 422. open_past_limit is published for the whole company only (null for a unit "
        "below the top)",
    )


class StageStats(Schema):
    code: str
    name: str
    completed: int
    on_time: int
    on_time_rate: JsonNumber | None = Field(description="percent of completed on time; null when none completed")
    completed_late: int
    open_past_limit: int | None
    average_working_days: JsonNumber | None
    median_working_days: JsonNumber | None


class OverallStats(Schema):
    accepted: int
    completed: int
    on_time: int
    on_time_rate: JsonNumber | None
    completed_late: int = Field(description="completed beyond the limit")
    open_past_limit: int | None = Field(description="still open past the limit at snapshot_on; null: no snapshot")
    average_working_days: JsonNumber | None = Field(
        description="utility working days (pauses and customer steps excluded)"
    )
    median_working_days: JsonNumber | None
    average_calendar_days: JsonNumber | None
    median_calendar_days: JsonNumber | None
    stages: list[StageStats]


class CategoryStats(OverallStats):
    category: str
    category_label: str


class StatisticsOut(Schema):
    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to")
    category: str | None
    unit: str | None = Field(None, description="the unit asked for (code); null: the whole company")
    refreshed_at: Any
    snapshot_on: date | None
    overall: OverallStats
    categories: list[CategoryStats]
    satisfaction: dict[str, Any] | None = Field(description="follow-up call results; null: no data yet")


def statistics_range(from_date: date | None, to_date: date | None) -> tuple[date, date]:
    """The range asked for, defaulting to this month so far; refuses reversed or huge ranges."""
    today = timezone.localdate()
    to_d = to_date or today
    from_d = from_date or to_d.replace(day=1)
    if from_d > to_d:
        raise ValidationFailed({"from": [texts.range_reversed_text()]})
    if (to_d - from_d).days > MAX_RANGE_DAYS:
        raise ValidationFailed({"to": [texts.range_too_long_text()]})
    return from_d, to_d


@router.get("/public/statistics", auth=None, response=StatisticsOut, by_alias=True)
def public_statistics(request: HttpRequest, filters: Query[StatsQuery]) -> dict[str, Any]:
    """Read from the aggregate tables (refreshed every few minutes), never from the applications."""
    from sunshine.metrics.selectors import statistics

    from_d, to_d = statistics_range(filters.from_date, filters.to_date)
    unit_id = None
    if filters.unit:
        from sunshine.accounts import units

        tree = units.tree()
        node = tree.by_code(filters.unit)
        if node is None:
            raise ValidationFailed({"unit": [_("No unit with this code.")]})
        unit_id = None if tree.is_top(node.id) else node.id
    result = statistics(from_d, to_d, filters.category, unit_id)
    return {**result, "from_date": result["from"], "to_date": result["to"]}
