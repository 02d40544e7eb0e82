"""Reads of supervision for pages, reports and other apps (fixed number of queries each)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from sunshine.accounts.models import Role, User
from sunshine.applications.access import scope_to_units
from sunshine.applications.models import Application, StageInstance, StageStatus
from sunshine.applications.selectors import paused_overdue
from sunshine.supervision import rungs
from sunshine.supervision.models import LeaderSupervision, NoteKind, RungMoment, SupervisionNote


def supervised_numbers(numbers: Iterable[str] | None = None, *, leader: User | None = None) -> set[str]:
    """Numbers of the applications under active leader supervision (among ``numbers`` if given)."""
    qs = LeaderSupervision.objects.filter(ended_at__isnull=True)
    if numbers is not None:
        qs = qs.filter(application__number__in=list(numbers))
    if leader is not None:
        qs = qs.filter(leader=leader)
    return set(qs.values_list("application__number", flat=True))


def leader_supervision_of(app: Application) -> LeaderSupervision | None:
    """The active supervision of ``app`` with its leader (None when not supervised)."""
    return LeaderSupervision.objects.filter(application=app, ended_at__isnull=True).select_related("leader").first()


def supervision_history(app: Application) -> list[LeaderSupervision]:
    return list(LeaderSupervision.objects.filter(application=app).select_related("leader", "ended_by"))


def notes_of(supervision: LeaderSupervision) -> list[SupervisionNote]:
    return list(supervision.notes.select_related("author").order_by("at", "id"))


@dataclass(frozen=True)
class SupervisedRow:
    number: str
    customer_name: str
    address: str
    category: str
    status: str
    key_project: bool
    manager: User | None
    leader: User
    reason: str
    target_date: date
    started_at: datetime
    stage: str | None
    stage_name: str | None
    stage_status: str | None
    deadline: date | None
    overdue: bool
    last_review: date | None

    @property
    def target_missed(self) -> bool:
        return self.status in ("in_progress", "paused") and timezone.localdate() > self.target_date


def supervised_projects(
    *, today: date | None = None, leader: User | None = None, viewer: User | None = None
) -> list[SupervisedRow]:
    """Active supervisions with the project's current stage and deadline: two queries.
    ``viewer``: only the projects of their unit's subtree."""
    today = today or timezone.localdate()
    qs = (
        LeaderSupervision.objects.filter(ended_at__isnull=True)
        .select_related("application__customer_manager", "leader")
        .annotate(last_review=Max("notes__reviewed_on", filter=Q(notes__kind=NoteKind.REVIEW)))
        .order_by("target_date", "application__number")
    )
    if leader is not None:
        qs = qs.filter(leader=leader)
    if viewer is not None:
        qs = scope_to_units(qs, viewer, "application__unit")
    supervisions = list(qs)
    current: dict[int, StageInstance] = {}
    for open_stage in (
        StageInstance.objects.filter(
            application_id__in=[s.application_id for s in supervisions],
            status__in=[StageStatus.IN_PROGRESS, StageStatus.PAUSED],
        )
        .select_related("template")
        .order_by("seq")
    ):
        current.setdefault(open_stage.application_id, open_stage)
    # A paused stage is overdue once the deadline, moved by its running pause, has passed.
    paused = [pk for pk, st in current.items() if st.status == StageStatus.PAUSED]
    paused_late: set[int] = set()
    if paused:
        of_these = StageInstance.objects.filter(application_id__in=paused)
        paused_late = {pk for (pk,) in paused_overdue(today, of_these, "application_id")}
    rows = []
    for s in supervisions:
        app = s.application
        stage = current.get(app.pk) if app.is_open else None
        deadline = stage.deadline if stage else None
        rows.append(
            SupervisedRow(
                number=app.number,
                customer_name=app.customer_name,
                address=app.address,
                category=app.category,
                status=app.status,
                key_project=app.key_project,
                manager=app.customer_manager,
                leader=s.leader,
                reason=s.reason,
                target_date=s.target_date,
                started_at=s.started_at,
                stage=stage.code if stage else None,
                stage_name=stage.template.name_zh if stage else None,
                stage_status=stage.status if stage else None,
                deadline=deadline,
                overdue=bool(stage and deadline and stage.status == StageStatus.IN_PROGRESS and today > deadline)
                or (stage is not None and app.pk in paused_late),
                last_review=s.last_review,
            )
        )
    return rows


@dataclass(frozen=True)
class RungRow:
    id: int
    number: str
    customer_name: str
    manager: str
    stage: str
    stage_name: str
    round: int
    rung: str
    label: str
    deadline: date
    due_at: datetime
    fired_at: datetime | None
    supervised: bool


def _moments_for(user: User | None, numbers: Iterable[str] | None) -> QuerySet[RungMoment]:
    qs = RungMoment.objects.select_related("stage__template", "stage__application__customer_manager")
    if user is not None and user.role == Role.CUSTOMER_MANAGER:
        qs = qs.filter(stage__application__customer_manager=user)
    elif user is not None:
        qs = scope_to_units(qs, user, "stage__application__unit")
    if numbers is not None:
        qs = qs.filter(stage__application__number__in=list(numbers))
    return qs


def _rows(moments: list[RungMoment]) -> list[RungRow]:
    supervised = set(
        LeaderSupervision.objects.filter(
            ended_at__isnull=True, application_id__in={m.stage.application_id for m in moments}
        ).values_list("application_id", flat=True)
    )
    out = []
    for m in moments:
        app = m.stage.application
        manager = app.customer_manager
        out.append(
            RungRow(
                id=m.pk,
                number=app.number,
                customer_name=app.customer_name,
                manager=manager.display_name if manager else "",
                stage=m.stage.code,
                stage_name=m.stage.template.name_zh,
                round=m.stage.round,
                rung=m.rung_code,
                label=rungs.label(m.rung_code),
                deadline=m.deadline,
                due_at=m.due_at,
                fired_at=m.fired_at,
                supervised=app.pk in supervised,
            )
        )
    return out


def upcoming_rungs(
    *,
    user: User | None = None,
    numbers: Iterable[str] | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
    horizon_days: int = 7,
    limit: int = 200,
) -> list[RungRow]:
    """Unfired rungs of running stages of open applications due up to ``until`` (default: the
    next ``horizon_days`` days; past ones not yet swept included), soonest first; a customer
    manager sees their own applications only. Two queries."""
    now = now or timezone.now()
    until = until or now + timedelta(days=horizon_days)
    moments = list(
        _moments_for(user, numbers)
        .filter(fired_at__isnull=True, due_at__lte=until, stage__status=StageStatus.IN_PROGRESS)
        .filter(stage__application__status="in_progress")
        .order_by("due_at", "id")[:limit]
    )
    return _rows(moments)


def fired_rungs(
    *,
    user: User | None = None,
    numbers: Iterable[str] | None = None,
    since: datetime | None = None,
    since_days: int = 7,
    limit: int = 200,
) -> list[RungRow]:
    """Rungs fired since ``since`` (default: the last ``since_days`` days), latest first."""
    since = since or timezone.now() - timedelta(days=since_days)
    moments = list(_moments_for(user, numbers).filter(fired_at__gte=since).order_by("-fired_at", "-id")[:limit])
    return _rows(moments)


def sweep_figures(now: datetime, since: datetime) -> dict[str, Any]:
    """The deadline sweep as the operations team watches it (``/metrics``): rungs due and not yet
    fired, the moment of the oldest of them (how far the sweep is behind; None when it is not),
    and rungs fired since ``since``. Two queries, each on its partial index
    (``rung_moment_unfired_due``, ``rung_moment_fired``), so the cost follows the due rungs."""
    due = RungMoment.objects.filter(fired_at__isnull=True, due_at__lte=now).aggregate(
        n=Count("pk"), oldest=Min("due_at")
    )
    fired = RungMoment.objects.filter(fired_at__isnull=False, fired_at__gte=since).count()
    return {"due": due["n"], "oldest_due": due["oldest"], "fired_since": fired}
