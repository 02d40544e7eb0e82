"""Reads: the application as the API and pages show it, lists with filters, the timeline.

Each function issues a fixed number of queries whatever the number of stages (tests assert
the counts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from sunshine.accounts import units
from sunshine.applications.clock import Clock, stage_clock
from sunshine.applications.models import (
    OPEN_STATUSES,
    Application,
    Event,
    Outbox,
    Pause,
    StageInstance,
    StageStatus,
    Status,
)
from sunshine.calendar import workdays
from sunshine.processes.models import Owner


@dataclass(frozen=True)
class StageRow:
    stage: StageInstance
    clock: Clock
    pauses: list[Pause]

    @property
    def name(self) -> str:
        t = self.stage.template
        return t.name_en if (get_language() or "").startswith("en") else t.name_zh


def _clock_day(app: Application, today: date) -> date:
    """The day the clocks of an application stopped: its cancellation, or today."""
    if app.status == Status.CANCELLED and app.cancelled_at:
        return timezone.localdate(app.cancelled_at)
    return today


def stage_rows(
    app: Application,
    today: date | None = None,
    stages: list[StageInstance] | None = None,
    pauses: dict[int, list[Pause]] | None = None,
) -> list[StageRow]:
    """Every stage instance in timeline order with its clock (2 queries; none when ``stages``
    are given: the rows of an application just accepted, which has no pauses, or rows read
    with their ``pauses`` by stage id, each stage's in the order they started)."""
    today = today or timezone.localdate()
    day = _clock_day(app, today)
    cal = workdays.current()
    if stages is None:
        pauses = {}
        stages = list(StageInstance.objects.filter(application=app).select_related("template").order_by("seq"))
        for p in Pause.objects.filter(application=app).order_by("started_at", "id"):
            pauses.setdefault(p.stage_id, []).append(p)
    elif pauses is None:
        pauses = {}
    rows = []
    for s in stages:
        own = pauses.get(s.pk, [])
        running = next((p.started_on for p in own if p.ended_on is None), None)
        clock = stage_clock(
            cal,
            started_on=s.started_on,
            limit=s.time_limit_days if s.owner == Owner.UTILITY else None,
            finished_pause_days=s.paused_working_days,
            running_pause_from=running,
            completed_on=s.completed_on if s.status in (StageStatus.COMPLETED, StageStatus.SKIPPED) else None,
            today=day,
        )
        if app.status == Status.CANCELLED and clock.overdue:
            clock = Clock(clock.deadline, clock.paused_working_days, clock.working_days_used, False, None)
        rows.append(StageRow(s, clock, own))
    return rows


def stage_dict(row: StageRow) -> dict[str, Any]:
    s, c = row.stage, row.clock
    utility = s.owner == Owner.UTILITY
    skipped = s.status == StageStatus.SKIPPED
    return {
        "code": s.code,
        "name": row.name,
        "owner": s.owner,
        "status": s.status,
        "round": s.round,
        "started_at": s.started_at,
        "completed_at": s.completed_at,
        "time_limit_days": (s.time_limit_days or s.template.time_limit_days) if utility else None,
        "deadline": c.deadline if utility and not skipped else None,
        "deadline_provisional": bool(
            utility
            and not skipped
            and c.deadline
            and s.started_on
            and workdays.touches_provisional(s.started_on, c.deadline)
        ),
        "working_days_used": c.working_days_used,
        "paused_working_days": c.paused_working_days,
        "overdue": (bool(c.overdue) if utility and not skipped else None) if utility else None,
        "on_time": c.on_time if utility and not skipped else None,
        "outcome": s.outcome,
        "defects": s.defects,
        "note": s.note,
        "pauses": [
            {
                "reason_code": p.reason_code,
                "reason_label": p.get_reason_code_display(),
                "reason": p.reason,
                "started_at": p.started_at,
                "ended_at": p.ended_at,
                "working_days": p.working_days,
            }
            for p in row.pauses
        ],
    }


def application_results(app: Application, rows: list[StageRow]) -> dict[str, Any]:
    utility_rows = [r for r in rows if r.stage.owner == Owner.UTILITY]
    # Every utility stage counts, a skipped one too: an optional stage that ran for some days
    # before it was skipped used those days (one never started counts 0).
    used = sum(r.clock.working_days_used for r in utility_rows)
    limit = app.process.end_to_end_limit_days
    on_time: bool | None = None
    if app.status == Status.COMPLETED:
        if limit is not None:
            on_time = used <= limit
        else:
            on_time = all(r.clock.on_time for r in utility_rows if r.stage.status == StageStatus.COMPLETED)
    return {"utility_working_days": used, "process_time_limit_days": limit, "on_time": on_time}


def manager_dict(app: Application) -> dict[str, Any] | None:
    m = app.customer_manager
    if m is None:
        return None
    return {"username": m.username, "name": m.display_name, "phone": m.work_phone}


def unit_dict(unit_id: int | None) -> dict[str, str] | None:
    """The API's ``unit`` of an application: code, name and path (from the cached tree)."""
    node = units.tree().nodes.get(unit_id) if unit_id is not None else None
    return {"code": node.code, "name": node.name, "path": node.path} if node is not None else None


def application_detail(
    app: Application, today: date | None = None, *, stages: list[StageInstance] | None = None
) -> dict[str, Any]:
    """The API body of one application (api-v1.md); ``stages``: see ``stage_rows``."""
    rows = stage_rows(app, today, stages)
    return {
        "number": app.number,
        "category": app.category,
        "business_type": app.business_type,
        "channel": app.channel,
        "status": app.status,
        "current_stage": app.current_stage,
        "accepted_at": app.accepted_at,
        "completed_at": app.completed_at,
        "cancelled_at": app.cancelled_at,
        "customer": {
            "name": app.customer_name,
            "id_type": app.customer.id_type,
            "id_number": app.customer.id_number,
            "phone": app.contact_phone,
        },
        "address": app.address,
        "unit": unit_dict(app.unit_id),
        "requested_capacity": app.requested_capacity,
        "capacity_unit": app.capacity_unit,
        "key_project": app.key_project,
        "customer_manager": manager_dict(app),
        "possible_duplicate_of": app.possible_duplicate_of.number
        if app.possible_duplicate_of_id and app.possible_duplicate_of
        else None,
        "process_version": app.process.version,
        "stages": [stage_dict(r) for r in rows],
        **application_results(app, rows),
    }


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***; a company name keeps its first two characters."""
    if len(name) <= 1:
        return "*"
    keep = 2 if len(name) > 4 else 1
    return name[:keep] + "*" * (len(name) - keep)


def public_progress(
    app: Application,
    today: date | None = None,
    *,
    stages: list[StageInstance] | None = None,
    pauses: dict[int, list[Pause]] | None = None,
) -> dict[str, Any]:
    """What the applicant may see: no ID number, no phone, a masked name. ``stages`` and
    ``pauses``: see ``stage_rows``."""
    rows = stage_rows(app, today, stages, pauses)
    results = application_results(app, rows)
    m = app.customer_manager
    return {
        "number": app.number,
        "category": app.category,
        "category_label": app.get_category_display(),
        "status": app.status,
        "status_label": app.get_status_display(),
        "current_stage": app.current_stage,
        "accepted_at": app.accepted_at,
        "completed_at": app.completed_at,
        "customer_name": mask_name(app.customer_name),
        "customer_manager": {"name": m.display_name, "phone": m.work_phone} if m else None,
        "process_time_limit_days": results["process_time_limit_days"],
        "utility_working_days": results["utility_working_days"],
        "on_time": results["on_time"],
        "stages": [_public_stage(r, stage_dict(r)) for r in rows],
    }


def _public_stage(r: StageRow, d: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": r.stage.code,
        "name": r.name,
        "owner": r.stage.owner,
        "status": r.stage.status,
        "round": r.stage.round,
        "started_on": r.stage.started_on,
        "completed_on": r.stage.completed_on,
        "time_limit_days": d["time_limit_days"],
        "deadline": d["deadline"],
        "deadline_provisional": d["deadline_provisional"],
        "overdue": d["overdue"],
        "on_time": d["on_time"],
        "outcome": r.stage.outcome,
        "defects": r.stage.defects,
        "pause_reasons": [
            {
                "reason_code": p.reason_code,
                "reason_label": p.get_reason_code_display(),
                "reason": p.reason,
                "started_on": p.started_on,
                "ended_on": p.ended_on,
                "working_days": p.working_days,
            }
            for p in r.pauses
        ],
    }


def filter_applications(
    qs: QuerySet[Application],
    *,
    status: str | None = None,
    category: str | None = None,
    stage: str | None = None,
    overdue: bool | None = None,
    customer_manager: str | None = None,
    key_project: bool | None = None,
    today: date | None = None,
    unit_ids: list[int] | None = None,
) -> QuerySet[Application]:
    """``unit_ids``: a unit and those below it (``units.tree().below``)."""
    if unit_ids is not None:
        qs = qs.filter(unit_id__in=unit_ids)
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    if stage:
        qs = qs.filter(current_stage=stage)
    if customer_manager:
        qs = qs.filter(customer_manager__username=customer_manager)
    if key_project is not None:
        qs = qs.filter(key_project=key_project)
    if overdue is not None:
        cond = _overdue_q(qs, today or timezone.localdate())
        qs = qs.filter(cond) if overdue else qs.exclude(cond)
    return qs


def _overdue_q(qs: QuerySet[Application], today: date) -> Q:
    """Those of ``qs`` with a utility stage past its deadline, as a condition on ``qs`` itself:
    at a province's scale a manager's queue must not compute every overdue application first."""
    running = Exists(
        StageInstance.objects.filter(
            application=OuterRef("pk"), status=StageStatus.IN_PROGRESS, owner=Owner.UTILITY, deadline__lt=today
        )
    )
    paused = _paused_overdue_ids(today, within=qs.filter(status=Status.PAUSED).values("pk"))
    return (Q(status=Status.IN_PROGRESS) & Q(running)) | Q(pk__in=paused)


def overdue_application_ids(today: date) -> QuerySet[StageInstance, int] | list[int]:
    """Applications with a utility stage past its deadline.

    Running stages compare the stored deadline (one indexed query); paused ones need the
    running pause added, so they are checked in Python (few at any time).
    """
    running = StageInstance.objects.filter(
        status=StageStatus.IN_PROGRESS,
        owner=Owner.UTILITY,
        deadline__lt=today,
        application__status=Status.IN_PROGRESS,
    ).values_list("application_id", flat=True)
    paused_ids = _paused_overdue_ids(today)
    if not paused_ids:
        return running
    return list(running) + paused_ids


def paused_overdue(today: date, stages: QuerySet[StageInstance] | None = None, *fields: str) -> list[tuple[Any, ...]]:
    """The paused utility stages (of ``stages`` when given) past their deadline counting the
    running pause, as the values of ``fields`` for each. Running stages compare their stored
    deadline in SQL; a paused one's deadline moves with every working day of its pause, so it is
    computed here (few rows at any time, one query). The one copy of the overdue-while-paused
    clock: the queues, the statistics and the supervised projects all ask this."""
    cal = workdays.current()
    qs = stages if stages is not None else StageInstance.objects.all()
    qs = qs.filter(status=StageStatus.PAUSED, owner=Owner.UTILITY, pauses__ended_at__isnull=True)
    found = []
    for started_on, limit, finished, pause_from, *values in qs.values_list(
        "started_on", "time_limit_days", "paused_working_days", "pauses__started_on", *fields
    ):
        c = stage_clock(
            cal,
            started_on=started_on,
            limit=limit,
            finished_pause_days=finished,
            running_pause_from=pause_from,
            completed_on=None,
            today=today,
        )
        if c.overdue:
            found.append(tuple(values))
    return found


def _paused_overdue_ids(today: date, within: QuerySet[Application, Any] | None = None) -> list[int]:
    """Applications whose paused utility stage is past its deadline (of ``within`` when given)."""
    stages = StageInstance.objects.filter(application__in=within) if within is not None else None
    return [app_id for (app_id,) in paused_overdue(today, stages, "application_id")]


def list_rows(qs: QuerySet[Application], today: date | None = None) -> list[dict[str, Any]]:
    """Summaries for a page of a list: the application with its current stage's clock (2 queries)."""
    today = today or timezone.localdate()
    apps = list(
        qs.select_related("customer_manager").prefetch_related(
            Prefetch(
                "stages",
                queryset=StageInstance.objects.filter(
                    Q(status__in=[StageStatus.IN_PROGRESS, StageStatus.PAUSED])
                ).prefetch_related(Prefetch("pauses", queryset=Pause.objects.filter(ended_at__isnull=True))),
                to_attr="open_stages",
            )
        )
    )
    cal = workdays.current()
    out = []
    for app in apps:
        current = app.open_stages[0] if app.open_stages and app.is_open else None
        clock = None
        if current is not None and current.owner == Owner.UTILITY:
            running = current.pauses.all()
            clock = stage_clock(
                cal,
                started_on=current.started_on,
                limit=current.time_limit_days,
                finished_pause_days=current.paused_working_days,
                running_pause_from=running[0].started_on if running else None,
                completed_on=None,
                today=today,
            )
        out.append(
            {
                "number": app.number,
                "category": app.category,
                "business_type": app.business_type,
                "channel": app.channel,
                "status": app.status,
                "current_stage": app.current_stage,
                "accepted_at": app.accepted_at,
                "completed_at": app.completed_at,
                "customer_name": app.customer_name,
                "address": app.address,
                "unit": unit_dict(app.unit_id),
                "key_project": app.key_project,
                "customer_manager": manager_dict(app),
                "current_deadline": clock.deadline if clock else None,
                "deadline_provisional": bool(current and current.deadline_provisional),
                "overdue": bool(clock and clock.overdue),
            }
        )
    return out


def events_of(app: Application) -> list[dict[str, Any]]:
    return [
        {
            "type": e.type,
            "at": e.at,
            "actor": e.actor.username if e.actor else None,
            "stage": e.stage,
            "round": e.round,
            "data": e.data,
        }
        for e in Event.objects.filter(application=app).select_related("actor").order_by("id")
    ]


# --- CSV export ---------------------------------------------------------------------------------


def _export_time(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# The export's columns, named like the API's fields (docs/api) so a script reads both alike: each
# with the field it reads and how the value becomes text.
EXPORT_FIELDS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("number", "number", _text),
    ("category", "category", _text),
    ("business_type", "business_type", _text),
    ("channel", "channel", _text),
    ("status", "status", _text),
    ("current_stage", "current_stage", _text),
    ("customer_name", "customer_name", _text),
    ("address", "address", _text),
    ("requested_capacity", "requested_capacity", _text),
    ("capacity_unit", "capacity_unit", _text),
    ("key_project", "key_project", lambda v: "true" if v else "false"),
    ("customer_manager", "customer_manager__username", _text),
    ("accepted_at", "accepted_at", _export_time),
    ("completed_at", "completed_at", _export_time),
    ("cancelled_at", "cancelled_at", _export_time),
)
EXPORT_COLUMNS = tuple(column for column, _field, _fmt in EXPORT_FIELDS)
EXPORT_CHUNK = 2000


def export_rows(qs: QuerySet[Application], chunk: int = EXPORT_CHUNK) -> Iterator[list[str]]:
    """The rows of ``qs`` for a CSV export (``EXPORT_COLUMNS``), in id order, as text.

    Read in keyset chunks (``id > last`` … ``LIMIT chunk``), one query each: memory stays that of
    one chunk whatever the number of rows, and unlike a server-side cursor it also works behind a
    transaction-pooling proxy. Times are local (Asia/Shanghai)."""
    values = qs.order_by("pk").values_list("pk", *(field for _column, field, _fmt in EXPORT_FIELDS))
    formats = [fmt for _column, _field, fmt in EXPORT_FIELDS]
    last = 0
    while True:
        batch = list(values.filter(pk__gt=last)[:chunk])
        for row in batch:
            yield [fmt(value) for fmt, value in zip(formats, row[1:], strict=True)]
        if len(batch) < chunk:
            return
        last = batch[-1][0]


def open_counts() -> dict[tuple[str, str], int]:
    """Open applications by (status, category): one index-only count on ``app_status_category``."""
    rows = (
        Application.objects.filter(status__in=OPEN_STATUSES)
        .order_by()
        .values_list("status", "category")
        .annotate(n=Count("pk"))
    )
    return {(status, category): n for status, category, n in rows}


def overdue_stage_count(today: date) -> int:
    """Running utility stages past their deadline: one count on the partial index
    ``stage_open_deadline`` (a paused stage's clock is stopped, so it is not counted)."""
    return StageInstance.objects.filter(status=StageStatus.IN_PROGRESS, owner=Owner.UTILITY, deadline__lt=today).count()


def outbox_figures(now: datetime) -> dict[str, Any]:
    """The reactions' outbox as the operations team watches it (``/metrics``): entries waiting
    (due now or after a failure's back-off), those that failed at least once, and the creation
    time of the oldest (None when empty). One query over a table that holds only the changes
    whose reactions have not run yet."""
    row = Outbox.objects.aggregate(
        entries=Count("pk"),
        due=Count("pk", filter=Q(due_at__lte=now)),
        failing=Count("pk", filter=Q(attempts__gt=0)),
        oldest=Min("created_at"),
    )
    return row
