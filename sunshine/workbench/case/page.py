"""Everything the application page shows, read with a fixed number of queries whatever the
number of stages, pauses, events and documents (tests assert it)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils import timezone

from sunshine import caching
from sunshine.accounts.models import Role, User
from sunshine.applications import access, selectors
from sunshine.applications.clock import explain
from sunshine.applications.models import Application, Customer, Event, Pause, StageInstance, StageStatus, Status
from sunshine.calendar import workdays
from sunshine.calendar.explain import Explanation
from sunshine.calendar.models import CalendarDay
from sunshine.documents import services as documents
from sunshine.documents.models import Document, DocumentKind
from sunshine.errors import Forbidden
from sunshine.processes.models import Owner, ProcessTemplate, StageTemplate
from sunshine.supervision.models import LeaderSupervision
from sunshine.workbench.case import events as case_events
from sunshine.workbench.case import privacy, raw, stage_html
from sunshine.workbench.case.explanation import Step, steps
from sunshine.workbench.desk import kept


@dataclass
class TimelineEntry:
    row: selectors.StageRow
    events: list[Event] = field(default_factory=list)
    explanation: Explanation | None = None
    steps: list[Step] = field(default_factory=list)
    html: str = ""  # the stage's <li> on the page (stage_html.render)

    @property
    def stage(self) -> Any:
        return self.row.stage

    @property
    def clock(self) -> Any:
        return self.row.clock

    # What the deadline badges tag reads (deadline/status/paused/deadline_provisional).
    @property
    def deadline(self) -> date | None:
        return self.row.clock.deadline

    @property
    def status(self) -> str:
        return self.row.stage.status

    @property
    def paused(self) -> bool:
        return self.row.stage.status == StageStatus.PAUSED

    @property
    def deadline_provisional(self) -> bool:
        return self.row.stage.deadline_provisional

    @property
    def utility(self) -> bool:
        return self.row.stage.owner == Owner.UTILITY

    @property
    def css(self) -> str:
        s = self.row.stage.status
        if s in (StageStatus.COMPLETED, StageStatus.SKIPPED):
            return "done"
        if s in (StageStatus.IN_PROGRESS, StageStatus.PAUSED):
            return "current late" if self.row.clock.overdue else "current"
        return "pending"


def roles(of: Iterable[str]) -> set[str]:
    return set(of)


def _allowed(check: Any) -> bool:
    try:
        check()
    except Forbidden:
        return False
    return True


def stage_role_ok(user: User, app: Application, row: selectors.StageRow) -> bool:
    """``access.require_stage_role`` answered from the template already loaded with the row."""
    if user.role == Role.ADMIN:
        return True
    return _allowed(lambda: access.require_role(user, roles(row.stage.template.actor_roles), app))


@dataclass
class Actions:
    complete: selectors.StageRow | None = None
    skippable: list[selectors.StageRow] = field(default_factory=list)
    pause: bool = False
    resume: bool = False
    reassign: bool = False
    cancel: bool = False

    @property
    def any(self) -> bool:
        return bool(self.complete or self.skippable or self.pause or self.resume or self.reassign or self.cancel)


def actions_for(user: User, app: Application, rows: list[selectors.StageRow]) -> Actions:
    """Only what ``user`` may do now; the views check the same rules again on POST."""
    out = Actions()
    if not app.is_open:
        return out
    current = next((r for r in rows if r.stage.status in (StageStatus.IN_PROGRESS, StageStatus.PAUSED)), None)
    if current and current.stage.status == StageStatus.IN_PROGRESS and stage_role_ok(user, app, current):
        out.complete = current
    seen: set[str] = set()
    if app.status == Status.IN_PROGRESS:
        for r in rows:
            s = r.stage
            if (
                s.template.optional
                and s.status in (StageStatus.PENDING, StageStatus.IN_PROGRESS)
                and s.code not in seen
            ):
                seen.add(s.code)
                if stage_role_ok(user, app, r):
                    out.skippable.append(r)
    pause_ok = _allowed(lambda: access.require_role(user, roles(access.PAUSE_ROLES), app))
    out.pause = bool(
        pause_ok and app.status == Status.IN_PROGRESS and current is not None and current.stage.owner == Owner.UTILITY
    )
    out.resume = pause_ok and app.status == Status.PAUSED
    out.reassign = _allowed(lambda: access.require_role(user, roles(access.REASSIGN_ROLES), app))
    out.cancel = _allowed(lambda: access.require_role(user, roles(access.CANCEL_ROLES), app))
    return out


def _clock_day(app: Application, today: date) -> date:
    """The day the clocks stopped: the cancellation day of a cancelled application, else today."""
    if app.status == Status.CANCELLED and app.cancelled_at:
        return timezone.localdate(app.cancelled_at)
    return today


# Each year's named days of the calendar table, per calendar version, kept in this process at most
# caching.SECONDS (a name edited without a date changed is seen within that, as a kept page's)
_YEAR_NAMES: dict[tuple[int, str], tuple[float, dict[date, str]]] = {}


def day_names(cal: workdays.WorkCalendar, first: date, last: date) -> dict[date, str]:
    """``calendar.explain.day_names(first, last)`` (the statutory names of the provisional years,
    then the table's names of the days in [first, last]) from each year's names kept here: no
    query while they are; a test compares them."""
    version = cal.exceptions.version
    now = kept._now()  # the kept pages' clock (tests move it)
    out: dict[date, str] = {}
    for year in range(first.year, last.year + 1):
        if cal.is_provisional_year(year):
            out.update(workdays.statutory_holidays(year))
    years = range(first.year, last.year + 1)
    missing = [y for y in years if not kept._fresh(_YEAR_NAMES.get((y, version)), now)]
    by_year = {y: _YEAR_NAMES[(y, version)][1] for y in years if y not in missing}
    if missing:  # one statement for the years not kept
        read: dict[int, dict[date, str]] = {y: {} for y in missing}
        span = (date(missing[0], 1, 1), date(missing[-1], 12, 31))
        for d, n in CalendarDay.objects.filter(date__range=span).values_list("date", "name"):
            if n and d.year in read:
                read[d.year][d] = n
        if len(_YEAR_NAMES) + len(read) > 64:
            _YEAR_NAMES.clear()
        for y, names in read.items():
            _YEAR_NAMES[(y, version)] = (now, names)
        by_year |= read
    for names in by_year.values():
        out.update({d: n for d, n in names.items() if first <= d <= last})
    return out


@caching.register
def _forget_year_names() -> None:
    _YEAR_NAMES.clear()


def timeline(app: Application, rows: list[selectors.StageRow], events: list[Event], today: date) -> list[TimelineEntry]:
    by_stage: dict[tuple[str, int], list[Event]] = defaultdict(list)
    for e in events:
        if e.stage and e.round:
            by_stage[(e.stage, e.round)].append(e)
    entries = [TimelineEntry(r, by_stage.get((r.stage.code, r.stage.round), [])) for r in rows]
    explained = [
        t
        for t in entries
        if t.utility
        and t.stage.started_on
        and t.stage.time_limit_days is not None
        and t.stage.status != StageStatus.SKIPPED
    ]
    if not explained:
        return entries
    cal = workdays.current()
    clock_day = _clock_day(app, today)
    first = min(t.stage.started_on for t in explained)
    last = max([t.clock.deadline or clock_day for t in explained] + [clock_day])
    names = day_names(cal, first, last)
    for t in explained:
        s = t.stage
        # The header's 期限 is t.clock.deadline: the explanation takes the same clock's paused
        # days, and explain() computes the date with the same deadline_on.
        t.explanation = explain(
            cal,
            started_on=s.started_on,
            limit=s.time_limit_days,
            paused=t.clock.paused_working_days,
            pauses=[(p.started_on, p.ended_on) for p in t.row.pauses],
            today=clock_day,
            names=names,
        )
        t.steps = steps(t.explanation)
    return entries


_SUPERVISION_FIELDS = ["id", "application_id", "leader_id", "reason", "target_date", "started_at"]
_SUPERVISION_SQL = (
    "SELECT s.id, s.application_id, s.leader_id, s.reason, s.target_date, s.started_at, "
    "u.id, u.username, u.first_name, u.last_name "
    "FROM supervision_leadersupervision s JOIN accounts_user u ON u.id = s.leader_id "
    "WHERE s.application_id = %s AND s.ended_at IS NULL ORDER BY s.started_at DESC, s.id DESC"
)


def _supervision_of(app: Application) -> LeaderSupervision | None:
    """``supervision.selectors.leader_supervision_of`` (the active supervision with its leader; at
    most one, a constraint says) in one raw statement, with the fields the page shows."""
    for s, leader in raw.read(
        _SUPERVISION_SQL,
        [app.pk],
        [(LeaderSupervision, _SUPERVISION_FIELDS, "s"), (User, case_events.ACTOR_FIELDS, "u")],
    ):
        assert isinstance(s, LeaderSupervision)
        s.leader = leader  # type: ignore[assignment]
        return s
    return None


_KIND_FIELDS = [f.attname for f in DocumentKind._meta.concrete_fields]
_DOCUMENT_FIELDS = [f.attname for f in Document._meta.concrete_fields]
_KINDS_SQL = "SELECT {} FROM documents_documentkind k WHERE k.active = %s ORDER BY k.position, k.code".format(  # noqa: S608
    ", ".join(f"k.{f.column}" for f in DocumentKind._meta.concrete_fields)
)
_DOCUMENTS_SQL = "SELECT {} FROM documents_document d WHERE d.application_id = %s".format(  # noqa: S608
    ", ".join(f"d.{f.column}" for f in Document._meta.concrete_fields)
)


def _requirements(app: Application) -> list[documents.Requirement]:
    """``documents.required_documents(app)`` (the kinds ``app`` needs, in order, each with its
    document) in two raw statements; a test compares them."""
    id_type = app.customer.id_type
    kinds = [
        k
        for (k,) in raw.read(_KINDS_SQL, [True], [(DocumentKind, _KIND_FIELDS, "k")])
        if isinstance(k, DocumentKind) and app.category in k.categories and (not k.id_type or k.id_type == id_type)
    ]
    docs = {
        d.kind_id: d
        for (d,) in raw.read(_DOCUMENTS_SQL, [app.pk], [(Document, _DOCUMENT_FIELDS, "d")])
        if isinstance(d, Document)
    }
    return [documents.Requirement(k, docs.get(k.pk)) for k in kinds]


def _part(model: type[Any], alias: str) -> raw.Part:
    return (model, [f.attname for f in model._meta.concrete_fields], alias)


def _columns(part: raw.Part) -> str:
    model, _names, alias = part
    return ", ".join(f'{alias}."{f.column}"' for f in model._meta.concrete_fields)


# the application with its customer, manager, process and possible duplicate: what
# access.access_application reads (select_related), every column of each
_FULL_PARTS = [
    _part(Application, "a"),
    _part(Customer, "c"),
    _part(User, "m"),
    _part(ProcessTemplate, "p"),
    _part(Application, "d"),
]
_FULL_SQL = (  # noqa: S608 (the models' own names)
    "SELECT {} FROM applications_application a "
    "JOIN {} c ON c.id = a.customer_id LEFT JOIN {} m ON m.id = a.customer_manager_id "
    "JOIN {} p ON p.id = a.process_id LEFT JOIN applications_application d ON d.id = a.possible_duplicate_of_id "
    "WHERE a.id = %s"
).format(
    ", ".join(_columns(p) for p in _FULL_PARTS),
    Customer._meta.db_table,
    User._meta.db_table,
    ProcessTemplate._meta.db_table,
)


def full_row(user: User, ref: access.Ref) -> Application:
    """``access.access_application(user, ref.number)`` for an application whose light row ``ref``
    passed the access check: the same row and related rows (every column, the ORM's converters:
    decrypted), read in one raw statement. Gone or out of scope meanwhile: access_application's
    own answer (NotFound, Forbidden)."""
    rows = raw.read(_FULL_SQL, [ref.pk], _FULL_PARTS)
    if rows:
        app, customer, manager, process, duplicate = rows[0]
        assert isinstance(app, Application)
        app.customer = customer  # type: ignore[assignment]
        app.customer_manager = manager  # type: ignore[assignment]
        app.process = process  # type: ignore[assignment]
        app.possible_duplicate_of = duplicate  # type: ignore[assignment]
        if access.can_view(user, app):
            return app
    return access.access_application(user, ref.number)


# the stages with their templates in timeline order, and the pauses in the order they started:
# what selectors.stage_rows reads (select_related("template").order_by("seq"); order_by("started_at", "id"))
_STAGE_PARTS = [_part(StageInstance, "s"), _part(StageTemplate, "t")]
_STAGES_SQL = (  # noqa: S608 (the models' own names)
    "SELECT {} FROM {} s JOIN {} t ON t.id = s.template_id WHERE s.application_id = %s ORDER BY s.seq"
).format(", ".join(_columns(p) for p in _STAGE_PARTS), StageInstance._meta.db_table, StageTemplate._meta.db_table)
_PAUSE_PARTS = [_part(Pause, "p")]
_PAUSES_SQL = (
    f"SELECT {_columns(_PAUSE_PARTS[0])} FROM {Pause._meta.db_table} p "  # noqa: S608 (the models' own names)
    "WHERE p.application_id = %s ORDER BY p.started_at, p.id"
)


def stages_and_pauses(app: Application) -> tuple[list[StageInstance], dict[int, list[Pause]]]:
    """What ``selectors.stage_rows(app)`` reads through the ORM (the stages with their templates,
    the pauses by stage id), in two raw statements; a test compares them column by column."""
    stages = []
    for s, t in raw.read(_STAGES_SQL, [app.pk], _STAGE_PARTS):
        assert isinstance(s, StageInstance)
        s.template = t  # type: ignore[assignment]
        stages.append(s)
    pauses: dict[int, list[Pause]] = {}
    for (p,) in raw.read(_PAUSES_SQL, [app.pk], _PAUSE_PARTS):
        assert isinstance(p, Pause)
        pauses.setdefault(p.stage_id, []).append(p)
    return stages, pauses


def page_context(user: User, app: Application, today: date | None = None) -> dict[str, Any]:
    today = today or timezone.localdate()
    stages, pauses = stages_and_pauses(app)
    rows = selectors.stage_rows(app, today, stages, pauses)
    events = case_events.of_application(app)
    actions = actions_for(user, app, rows)
    managers: list[User] = []
    if actions.reassign:
        managers = list(
            User.objects.filter(role=Role.CUSTOMER_MANAGER, is_active=True)
            .exclude(pk=app.customer_manager_id or 0)
            .order_by("username")
        )
    stage_names = {r.stage.code: r.name for r in rows}
    case_events.render_lines(events, stage_names)
    requirements = _requirements(app)
    supervision = _supervision_of(app)
    doc_roles = _allowed(lambda: access.require_role(user, roles(documents.DOCUMENT_ROLES), app))
    waive_roles = _allowed(lambda: access.require_role(user, roles(documents.WAIVE_ROLES), app))
    entries = timeline(app, rows, events, today)
    for t in entries:
        t.html = stage_html.render(t, app.is_open)
    return {
        "app": app,
        "today": today,
        "timeline": entries,
        "events": events,
        "results": selectors.application_results(app, rows),
        "actions": actions,
        "managers": managers,
        "masked": privacy.masked(app),
        "may_reveal": privacy.may_reveal(user, app),
        "requirements": requirements,
        "supervision": supervision,
        "checklist": [(r, stage_names.get(r.kind.needed_by_stage, "")) for r in requirements],
        "missing": [r.kind.name for r in requirements if r.missing],
        "may_edit_documents": doc_roles and app.status != Status.CANCELLED,
        "may_waive_documents": waive_roles and app.status != Status.CANCELLED,
        "max_upload_mb": f"{documents.max_bytes() / 1024 / 1024:g}",
    }
