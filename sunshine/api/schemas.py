"""Schemas of API v1: documentation of bodies and the shape of every answer."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

CATEGORY_ORDER = {"lv_residential": 0, "lv_non_residential": 1, "hv_single": 2, "hv_dual": 3}

Category = Literal["lv_residential", "lv_non_residential", "hv_single", "hv_dual"]


# A decimal in a response: the API renders it as a JSON number (sunshine/api/errors.py,
# ApiEncoder), so the document says number, not pydantic's default string.
JsonNumber = Annotated[Decimal, WithJsonSchema({"type": "number"})]


# --- request bodies and query parameters -------------------------------------------------------
# Typed: ninja validates every request against these schemas before the view runs, so the
# OpenAPI document is the validator (docs/security.md, "Hostile input"). Lengths, patterns and
# choices are the server's own; a rule across fields or against stored data (an ID's check
# digit, a capacity plausible for its category, a contractor's qualification) stays with the
# service and answers 422 with the same error body. Patterns are matched with Python's ``re``
# (as the services strip and match), and no text may hold NUL (PostgreSQL text cannot).

NO_NUL = r"^[^\x00]*$"
# What Python's str.strip() and ``\s`` take for blank, written out: a JSON Schema reader (the
# fuzzer, a client's validator) reads ``\s`` as ECMAScript's set, which lacks \x1c–\x1f and
# \x85, so "\x1f" would look valid to it and be refused here.
BLANK = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# at least one character that is not blank (the services strip what they store)
NON_BLANK = rf"^[^\x00]*[^{BLANK}\x00][^\x00]*$"


class QueryIn(Schema):
    """Query parameters (text in the URL: a number or a date is read from its text)."""

    model_config = ConfigDict(regex_engine="python-re")


class In(Schema):
    """A JSON request body: strict, so a number sent as text or a boolean sent as 1 is refused as
    the document says, never silently converted."""

    model_config = ConfigDict(regex_engine="python-re", strict=True)


def _iso_date(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` (pydantic alone would read ``0`` as 1970-01-01)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("date_parsing", "Enter a date as YYYY-MM-DD.")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _integral(value: Any) -> Any:
    """JSON has one number type: 3.0 is the integer 3 (JSON Schema says so); 3.5 stays refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# A whole number in a strict body: 3 or 3.0, never "3" or true.
JsonInt = Annotated[int, BeforeValidator(_integral)]


# Free text: at most N characters (``TextN``), or required, with a character that is not blank
# (``RequiredN``).
Text20 = Annotated[str, Field(max_length=20, pattern=NO_NUL)]
Text200 = Annotated[str, Field(max_length=200, pattern=NO_NUL)]
Text300 = Annotated[str, Field(max_length=300, pattern=NO_NUL)]
Text500 = Annotated[str, Field(max_length=500, pattern=NO_NUL)]
Text2000 = Annotated[str, Field(max_length=2000, pattern=NO_NUL)]
Text5000 = Annotated[str, Field(max_length=5000, pattern=NO_NUL)]
Required100 = Annotated[str, Field(min_length=1, max_length=100, pattern=NON_BLANK)]
Required150 = Annotated[str, Field(min_length=1, max_length=150, pattern=NON_BLANK)]
Required500 = Annotated[str, Field(min_length=1, max_length=500, pattern=NON_BLANK)]
Required5000 = Annotated[str, Field(min_length=1, max_length=5000, pattern=NON_BLANK)]


# A mainland mobile number as normalise_phone reads it (sunshine/applications/validation.py):
# blanks and dashes anywhere, an optional +86 or 0086, then 1[3-9] and nine more digits.
_SEP = r"[\s-]*"
PHONE_PATTERN = rf"^{_SEP}(\+{_SEP}8{_SEP}6|0{_SEP}0{_SEP}8{_SEP}6)?{_SEP}1{_SEP}[3-9]({_SEP}[0-9]){{9}}{_SEP}$"
# an address of 5 characters at least once its surrounding blanks are stripped
ADDRESS_PATTERN = rf"^[{BLANK}]*[^{BLANK}\x00][^\x00]{{3,}}[^{BLANK}\x00][{BLANK}]*$"


class TokenIn(In):
    # No maximum: a name longer than any account is refused by the sign-in itself (401) and still
    # counted against the throttle (tests/test_throttle_keys.py).
    username: str = Field(min_length=1, pattern=NO_NUL)
    password: str = Field(min_length=1, pattern=NO_NUL)
    # The current code of the user's authenticator app; required once they enrolled one.
    otp: str | None = Field(None, max_length=32, pattern=NO_NUL)


class TokenOut(Schema):
    token: str
    expires_at: datetime


class CustomerIn(In):
    name: Required100
    id_type: Literal["resident_id", "uscc"]
    id_number: str = Field(
        min_length=18,
        max_length=18,
        pattern=r"^[0-9A-Za-z]{18}$",
        description="a resident ID (17 digits and a check digit or X) or a unified social credit code; "
        "the check character and a resident ID's birth date are the server's to check (422)",
    )
    phone: str = Field(
        max_length=40, pattern=PHONE_PATTERN, description="a mainland mobile number; +86, blanks and dashes are ignored"
    )


class IntakeIn(In):
    category: Category
    business_type: Literal["new_connection", "capacity_increase"]
    channel: Literal["counter", "online", "mobile_app", "hotline"]
    customer: CustomerIn
    address: str = Field(max_length=200, pattern=ADDRESS_PATTERN)
    requested_capacity: float = Field(
        gt=0,
        le=400_000,
        description="at most two decimal places; its range depends on the category (the server's check, 422)",
    )
    capacity_unit: Literal["kW", "kVA"]
    key_project: bool = False


class CompleteIn(In):
    outcome: Literal["passed", "failed"] | None = Field(
        None, description="required for a review or inspection stage, which alone can fail (422)"
    )
    note: Text2000 = ""
    defects: list[Text500] = Field([], max_length=100, description="blank ones are dropped")


class ReasonIn(In):
    reason: Required500


class PauseIn(In):
    reason_code: Literal["missing_documents", "customer_request", "government_approval", "force_majeure"]
    reason: Required500 = Field(description="shown to the customer")


class ReassignIn(In):
    customer_manager: Required150 = Field(description="the username of an active customer manager")
    reason: Required500


class MoveUnitIn(In):
    unit: str = Field(min_length=1, max_length=40, pattern=r"^[-a-zA-Z0-9_]+$", description="the code of a unit")
    # Not blank: the server's check (422), as JSON Schema and Python disagree on what is blank.
    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL)


class ContactIn(In):
    """更正客户联系方式: the name and/or the phone (a missing or empty one is kept), and why."""

    name: str = Field("", max_length=100, pattern=NO_NUL, description="the customer's name; empty: kept")
    phone: str = Field(
        "",
        max_length=40,
        pattern=rf"^$|{PHONE_PATTERN}",
        description="a mainland mobile number; +86, blanks and dashes are ignored; empty: kept",
    )
    # Not blank: the server's check (422), as JSON Schema and Python disagree on what is blank.
    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL)


class UnitRef(Schema):
    """The unit an application belongs to (``path``: the codes from the top, ``/sx/ty/jinyuan/``)."""

    code: str
    name: str
    path: str


class UnitOut(Schema):
    code: str
    name: str
    kind: Literal["province", "city", "county", "station", "hall"]
    path: str
    depth: int
    parent: str | None


class UnitList(Schema):
    results: list[UnitOut]


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
    unit: UnitRef | None
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
    unit: UnitRef | None
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
