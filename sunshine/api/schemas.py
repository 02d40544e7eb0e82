"""Schemas of API v1: documentation of bodies and the shape of every answer."""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, WithJsonSchema

CATEGORY_ORDER = {"lv_residential": 0, "lv_non_residential": 1, "hv_single": 2, "hv_dual": 3}

Category = Literal["lv_residential", "lv_non_residential", "hv_single", "hv_dual"]


# A decimal in a response: the API renders it as a JSON number (sunshine/api/errors.py,
# ApiEncoder), so the document says number, not pydantic's default string.
JsonNumber = Annotated[Decimal, WithJsonSchema({"type": "number"})]


def inline(schema: type[Schema]) -> dict[str, Any]:
    """A JSON schema with its ``$defs`` inlined, for an ``openapi_extra`` request body."""
    raw = schema.model_json_schema()
    defs = raw.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(copy.deepcopy(defs[ref.split("/")[-1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(raw)
    return result


# The request bodies below are documentation of what the views check by hand (api-v1.md): the
# lengths, patterns and choices are the server's own; rules across fields (a capacity plausible
# for its category, an ID's check digit) are the server's alone.
_TEXT = r"\S"  # at least one character that is not blank


class TokenIn(Schema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1)
    # The current code of the user's authenticator app; required once they enrolled one.
    otp: str | None = None


class TokenOut(Schema):
    token: str
    expires_at: datetime


class CustomerIn(Schema):
    name: str = Field(min_length=1, max_length=100, pattern=_TEXT)
    id_type: Literal["resident_id", "uscc"]
    id_number: str = Field(min_length=18, max_length=18, pattern=r"^[0-9A-Za-z]{18}$")
    phone: str = Field(description="a mainland mobile number; +86, blanks and dashes are ignored", pattern=r"1[3-9]")


class IntakeIn(Schema):
    category: Category
    business_type: Literal["new_connection", "capacity_increase"]
    channel: Literal["counter", "online", "mobile_app", "hotline"]
    customer: CustomerIn
    address: str = Field(min_length=5, max_length=200, pattern=_TEXT)
    requested_capacity: float = Field(gt=0, description="at most two decimal places; its range depends on the category")
    capacity_unit: Literal["kW", "kVA"]
    key_project: bool = False


class CompleteIn(Schema):
    outcome: Literal["passed", "failed"] | None = None
    note: str = Field("", max_length=2000)
    defects: list[str] = []


class ReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=500, pattern=_TEXT)


class PauseIn(Schema):
    reason_code: Literal["missing_documents", "customer_request", "government_approval", "force_majeure"]
    reason: str = Field(min_length=1, max_length=500, pattern=_TEXT, description="shown to the customer")


class ReassignIn(Schema):
    customer_manager: str = Field(min_length=1, max_length=150, pattern=_TEXT, description="a username")
    reason: str = Field("", max_length=500)


class CustomerOut(Schema):
    name: str
    id_type: str
    id_number: str
    phone: str


class ManagerOut(Schema):
    username: str
    name: str
    phone: str


class PauseOut(Schema):
    reason_code: str
    reason_label: str
    reason: str
    started_at: datetime
    ended_at: datetime | None
    working_days: int | None


class StageOut(Schema):
    code: str
    name: str
    owner: Literal["utility", "customer"]
    status: Literal["pending", "in_progress", "paused", "completed", "skipped"]
    round: int
    started_at: datetime | None
    completed_at: datetime | None
    time_limit_days: int | None
    deadline: date | None
    deadline_provisional: bool
    working_days_used: int
    paused_working_days: int
    overdue: bool | None
    on_time: bool | None
    outcome: Literal["passed", "failed"] | None
    defects: list[str]
    note: str
    pauses: list[PauseOut]


class ApplicationOut(Schema):
    number: str
    category: Category
    business_type: str
    channel: str
    status: Literal["in_progress", "paused", "completed", "cancelled"]
    current_stage: str | None
    accepted_at: datetime
    completed_at: datetime | None
    cancelled_at: datetime | None
    customer: CustomerOut
    address: str
    requested_capacity: Any
    capacity_unit: str
    key_project: bool
    customer_manager: ManagerOut | None
    possible_duplicate_of: str | None
    process_version: int
    stages: list[StageOut]
    utility_working_days: int
    process_time_limit_days: int | None
    on_time: bool | None


class ApplicationRow(Schema):
    number: str
    category: Category
    business_type: str
    channel: str
    status: str
    current_stage: str | None
    accepted_at: datetime
    completed_at: datetime | None
    customer_name: str
    address: str
    key_project: bool
    customer_manager: ManagerOut | None
    current_deadline: date | None
    deadline_provisional: bool
    overdue: bool


class ApplicationPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[ApplicationRow]


class EventOut(Schema):
    type: str
    at: datetime
    actor: str | None
    stage: str | None
    round: int | None
    data: dict[str, Any]


class EventList(Schema):
    results: list[EventOut]


class PublicPause(Schema):
    reason_code: str
    reason_label: str
    reason: str
    started_on: date
    ended_on: date | None
    working_days: int | None


class PublicStage(Schema):
    code: str
    name: str
    owner: str
    status: str
    round: int
    started_on: date | None
    completed_on: date | None
    time_limit_days: int | None
    deadline: date | None
    deadline_provisional: bool
    overdue: bool | None
    on_time: bool | None
    outcome: str | None
    defects: list[str]
    pause_reasons: list[PublicPause]


class PublicManager(Schema):
    name: str
    phone: str


class PublicProgress(Schema):
    number: str
    category: str
    category_label: str
    status: str
    status_label: str
    current_stage: str | None
    accepted_at: datetime
    completed_at: datetime | None
    customer_name: str
    customer_manager: PublicManager | None
    process_time_limit_days: int | None
    utility_working_days: int
    on_time: bool | None
    stages: list[PublicStage]


class PublicStageLimit(Schema):
    code: str
    name: str
    owner: str
    time_limit_days: int | None
    optional: bool


class PublicProcess(Schema):
    category: str
    category_label: str
    version: int
    effective_from: date
    source: str
    end_to_end_limit_days: int | None
    stages: list[PublicStageLimit]
