"""The event vocabulary of an application's timeline, and the one way events are recorded.

Every type of event the system writes is a member of ``EventType``, with its payload (the
``data`` of the row) described by a ``TypedDict`` in ``PAYLOADS``. ``new()`` builds an event and
``record()`` checks each payload against its type (unknown keys, missing keys and values of the
wrong kind are refused with ``BadPayload``), chains the events into their applications' audit
trails (``audit.py``), inserts them and queues the reactions of other apps (``outbox.py``). No
module builds ``Event(...)`` by hand; the column only accepts these types (choices, and a
database CHECK constraint: migration ``0010_event_type_vocabulary``).

The names and payloads are part of API v1 (``GET /api/v1/applications/{number}/events``): add a
type or an optional key, never rename or remove one. Adding a type means a member here, its
payload, a migration (choices and constraint) and a label on the staff timeline
(``sunshine/workbench/case/events.py``). See docs/engine.md.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, NotRequired, Required, TypedDict, Union, get_args, get_origin, get_type_hints

if TYPE_CHECKING:
    from sunshine.accounts.models import User
    from sunshine.applications.models import Application, Event, StageInstance
    from sunshine.applications.writes import Batch


class EventType(StrEnum):
    # the case engine (applications/services.py)
    INTAKE = "intake"
    STAGE_STARTED = "stage_started"
    STAGE_COMPLETED = "stage_completed"
    STAGE_SKIPPED = "stage_skipped"
    PAUSED = "paused"
    RESUMED = "resumed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REASSIGNED = "reassigned"
    UNIT_MOVED = "unit_moved"
    CALENDAR_REPROJECTED = "calendar_reprojected"
    # staff pages
    PII_VIEWED = "pii_viewed"
    CONTACT_CORRECTED = "contact_corrected"
    # documents
    DOCUMENT_UPLOADED = "document_uploaded"
    DOCUMENT_RECEIVED = "document_received"
    DOCUMENT_WAIVED = "document_waived"
    # directory (charges, contractors)
    CHARGE_RECORDED = "charge_recorded"
    CONTRACTOR_CHOSEN = "contractor_chosen"
    # supervision: the rungs of the escalation ladder, and leader supervision
    WARNING = "warning"
    OVERDUE = "overdue"
    ESCALATION = "escalation"
    SUPERVISION_STARTED = "supervision_started"
    SUPERVISION_NOTE = "supervision_note"
    SUPERVISION_ENDED = "supervision_ended"
    # notifications (delivery of a message about the application)
    NOTIFICATION_SENT = "notification_sent"
    NOTIFICATION_FAILED = "notification_failed"
    # feedback: cases, follow-up calls, visits
    CASE_OPENED = "case_opened"
    CASE_DECIDED = "case_decided"
    PAUSE_CONTEST_DECIDED = "pause_contest_decided"
    FOLLOWUP_ATTEMPT = "followup_attempt"
    FOLLOWUP_COMPLETED = "followup_completed"
    VISIT_LOGGED = "visit_logged"


#: The rungs' event types (``sunshine.supervision.rungs``).
RUNG_TYPES = (EventType.WARNING, EventType.OVERDUE, EventType.ESCALATION)
#: Events that close an application.
CLOSING_TYPES = (EventType.COMPLETED, EventType.CANCELLED)


# --- payloads ---------------------------------------------------------------------------------
# Dates are ISO strings ("2026-11-05"), times ISO time stamps; None where the API says null.


class Intake(TypedDict):
    channel: str
    category: str
    process_version: int
    customer_manager: str | None
    possible_duplicate_of: str | None
    source: NotRequired[str]  # generated data (seed_demo, generate_load) names its generator


class StageStarted(TypedDict, total=False):
    deadline: str | None  # utility stages started forward
    returned_from: str  # a failed review or inspection sent the case back to the customer
    defects: list[str]


class StageCompleted(TypedDict):
    outcome: str | None
    defects: NotRequired[list[str]]
    note: NotRequired[str]
    deadline: NotRequired[str | None]


class Reasoned(TypedDict):
    reason: str


class Paused(TypedDict):
    reason_code: str
    reason: str


class Resumed(TypedDict):
    paused_working_days: int
    deadline: str | None


class Empty(TypedDict):
    pass


class Cancelled(TypedDict):
    reason: str
    stage_code: str | None


# stages_moved: the codes of the running utility stages whose holder changed with the application
# (the stages completed before stay with the manager who held them; StageInstance.manager).
Reassigned = TypedDict(
    "Reassigned", {"from": str | None, "to": str, "reason": str, "stages_moved": NotRequired[list[str]]}
)
# from/to: unit codes (the application's unit before and after a staff member moved it).
UnitMoved = TypedDict("UnitMoved", {"from": str, "to": str, "reason": str})
CalendarReprojected = TypedDict("CalendarReprojected", {"from": str | None, "to": str | None, "reason": str})


class PiiViewed(TypedDict):
    field: str


class ContactCorrected(TypedDict):
    """A staff member corrected the customer's name and/or phone (``fields``). Never the full
    phone: its last 4 digits at most."""

    fields: list[str]
    reason: str
    phone_tail: NotRequired[str]


class DocumentUploaded(TypedDict):
    kind: str
    name: str
    file: str
    size: int
    sha256: str


class DocumentReceived(TypedDict):
    kind: str
    name: str


class DocumentWaived(TypedDict):
    kind: str
    name: str
    reason: str


class ChargeRecorded(TypedDict):
    code: str
    name: str
    quantity: str | None
    unit: str
    amount: str
    schedule_version: int


class ContractorChosen(TypedDict):
    kind: str
    contractor: str
    credit_code: str
    replaced: str | None
    # the customer's answer: True "suggested by staff" (a steering case opens), False "chosen
    # myself", None not asked; where it was recorded (portal, staff, api); the customer manager
    # holding the case, for whom the concentration monitor counts it
    suggested_by_staff: NotRequired[bool | None]
    channel: NotRequired[str]
    manager: NotRequired[str | None]


class RungFired(TypedDict):
    rung: str
    recipients: list[str]
    template: str
    deadline: str
    due_at: str
    supervised: bool


class SupervisionStarted(TypedDict):
    leader: str
    reason: str
    target_date: str


class SupervisionNote(TypedDict):
    kind: str
    text: str
    reviewed_on: NotRequired[str]


class SupervisionEnded(TypedDict):
    leader: str
    note: str


class Notification(TypedDict):
    channel: str
    template: str
    recipient: str
    message: int
    attempts: int
    error: NotRequired[str]  # notification_failed only


class CaseOpened(TypedDict):
    tracking_number: str
    source: str
    kind: str
    due_on: str


class CaseDecided(TypedDict):
    tracking_number: str
    finding: str
    kind: str


class PauseContestDecided(TypedDict):
    tracking_number: str
    finding: str
    pause_started_on: str | None
    action_taken: str


class FollowupAttempt(TypedDict):
    result: str
    attempt: int


class FollowupCompleted(TypedDict):
    outcome: str
    cases: NotRequired[list[str]]
    sat_overall: NotRequired[int | None]
    sat_manager: NotRequired[int | None]
    sat_timeliness: NotRequired[int | None]
    steered: NotRequired[bool]
    extra_charge: NotRequired[bool | None]
    told_once: NotRequired[bool | None]


class VisitLogged(TypedDict):
    visited_on: str


PAYLOADS: dict[EventType, type] = {
    EventType.INTAKE: Intake,
    EventType.STAGE_STARTED: StageStarted,
    EventType.STAGE_COMPLETED: StageCompleted,
    EventType.STAGE_SKIPPED: Reasoned,
    EventType.PAUSED: Paused,
    EventType.RESUMED: Resumed,
    EventType.COMPLETED: Empty,
    EventType.CANCELLED: Cancelled,
    EventType.REASSIGNED: Reassigned,
    EventType.UNIT_MOVED: UnitMoved,
    EventType.CALENDAR_REPROJECTED: CalendarReprojected,
    EventType.PII_VIEWED: PiiViewed,
    EventType.CONTACT_CORRECTED: ContactCorrected,
    EventType.DOCUMENT_UPLOADED: DocumentUploaded,
    EventType.DOCUMENT_RECEIVED: DocumentReceived,
    EventType.DOCUMENT_WAIVED: DocumentWaived,
    EventType.CHARGE_RECORDED: ChargeRecorded,
    EventType.CONTRACTOR_CHOSEN: ContractorChosen,
    EventType.WARNING: RungFired,
    EventType.OVERDUE: RungFired,
    EventType.ESCALATION: RungFired,
    EventType.SUPERVISION_STARTED: SupervisionStarted,
    EventType.SUPERVISION_NOTE: SupervisionNote,
    EventType.SUPERVISION_ENDED: SupervisionEnded,
    EventType.NOTIFICATION_SENT: Notification,
    EventType.NOTIFICATION_FAILED: Notification,
    EventType.CASE_OPENED: CaseOpened,
    EventType.CASE_DECIDED: CaseDecided,
    EventType.PAUSE_CONTEST_DECIDED: PauseContestDecided,
    EventType.FOLLOWUP_ATTEMPT: FollowupAttempt,
    EventType.FOLLOWUP_COMPLETED: FollowupCompleted,
    EventType.VISIT_LOGGED: VisitLogged,
}


class BadPayload(ValueError):
    """An event of an unknown type, or whose data does not match its type's payload: a bug in
    the code that recorded it (nothing is written)."""


def _kinds(annotation: Any) -> tuple[type, ...] | None:
    """The Python types a JSON value of ``annotation`` may have (None: anything)."""
    if annotation is Any:
        return None
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        out: tuple[type, ...] = ()
        for arg in get_args(annotation):
            kinds = _kinds(arg)
            if kinds is None:
                return None
            out += kinds
        return out
    if annotation is type(None):
        return (type(None),)
    if origin is not None:
        return (origin,)
    if annotation is int:
        return (int,)
    return (annotation,)


@cache
def _spec(type_: EventType) -> tuple[dict[str, tuple[type, ...] | None], frozenset[str]]:
    payload = PAYLOADS[type_]
    fields: dict[str, tuple[type, ...] | None] = {}
    required: set[str] = set()
    # Evaluated here rather than read from __required_keys__: the annotations are postponed.
    for key, hint in get_type_hints(payload, include_extras=True).items():
        origin = get_origin(hint)
        if origin is NotRequired or origin is Required:
            if origin is Required:
                required.add(key)
            hint = get_args(hint)[0]
        elif payload.__total__:  # type: ignore[attr-defined]
            required.add(key)
        fields[key] = _kinds(hint)
    return fields, frozenset(required)


def validate(type_: str, data: Mapping[str, Any]) -> EventType:
    """The member of ``type_`` after checking ``data`` against its payload; ``BadPayload`` if not."""
    try:
        member = EventType(type_)
    except ValueError:
        raise BadPayload(f"unknown event type {type_!r}") from None
    fields, required = _spec(member)
    unknown = data.keys() - fields.keys()
    if unknown:
        raise BadPayload(f"{member}: unknown keys {sorted(unknown)}")
    missing = required - data.keys()
    if missing:
        raise BadPayload(f"{member}: missing keys {sorted(missing)}")
    for key, value in data.items():
        kinds = fields[key]
        if kinds is not None and not isinstance(value, kinds):
            raise BadPayload(f"{member}: {key} is {type(value).__name__}, not one of {[k.__name__ for k in kinds]}")
        if kinds is not None and bool not in kinds and isinstance(value, bool) and int in kinds:
            raise BadPayload(f"{member}: {key} is a bool, not an int")
    return member


def new(
    application: Application,
    type_: EventType,
    at: datetime,
    actor: User | None,
    stage: StageInstance | None = None,
    **data: Any,
) -> Event:
    """An unsaved event of ``application`` (pass it to ``record``); ``stage``: the stage instance
    it concerns (its code and round are stored)."""
    from sunshine.applications.models import Event
    from sunshine.applications.writes import make

    values = {"type": type_, "at": at, "data": data}
    if stage is not None:
        values["stage"], values["round"] = stage.code, stage.round
    return make(Event, values, {"application": application, "actor": actor})


def new_for(
    application_id: int,
    type_: EventType,
    at: datetime,
    actor: User | None = None,
    *,
    at_stage: tuple[str, int] | None = None,
    **data: Any,
) -> Event:
    """``new`` for an application known by its primary key only; ``at_stage``: (code, round)."""
    from sunshine.applications.models import Event
    from sunshine.applications.writes import make

    code, round_ = at_stage if at_stage is not None else (None, None)
    values = {"application_id": application_id, "type": type_, "at": at, "stage": code, "round": round_, "data": data}
    return make(Event, values, {"actor": actor})


def record(
    events: Sequence[Event],
    stages: Sequence[StageInstance] = (),
    *,
    chained: bool = False,
    rows: Batch | None = None,
    last: bool = False,
) -> None:
    """Check, chain (audit.py) and insert ``events``, then queue the reactions of the other apps
    to them and to ``stages`` (the stage rows the same change created or updated). Call inside the
    transaction of the change. ``chained``: the caller already ran ``audit.chain`` on them (the
    engine does, to save the new head with its own UPDATE of the application row). ``rows``: the
    change's other rows (``writes.Batch``), written with the events and the outbox entry (one
    statement on PostgreSQL). ``last``: nothing else is written in the change's transaction after
    this, so on PostgreSQL its COMMIT may go with the statement (``Batch.run(commit=…)``) when no
    reaction runs inside it (worker mode)."""
    from sunshine.applications import writes
    from sunshine.applications.models import Event
    from sunshine.applications.outbox import eager, entry_for, react

    for e in events:
        e.type = validate(e.type, e.data)
    if events and not chained:
        from sunshine.applications.audit import chain

        chain(events)
    entry = entry_for(events, stages) if events or stages else None
    if writes.enabled():
        batch = rows if rows is not None else writes.Batch()
        batch.insert(Event, events)
        if entry is not None:
            listed = [s for s in stages if s.pk is not None or batch.inserts(s)]
            batch.keys(entry, {"events": events, "stages": listed})
        batch.run(commit=last and not (entry is not None and eager()))
    else:
        if rows is not None:
            raise ValueError("rows (a writes.Batch) need SUNSHINE_FAST_WRITES")
        if events:
            Event.objects.bulk_create(events)
        if entry is not None:
            entry.events = [e.pk for e in events]
            entry.stages = [s.pk for s in stages if s.pk is not None]
            entry.save(force_insert=True)
    if entry is not None:
        react(entry, events, stages)
