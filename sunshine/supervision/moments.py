"""Keeping the stored rung moments in step with the stages (called from the engine's reactions).

Set-based: whatever the number of stages passed, a fixed number of queries (the applications'
category and supervision, the existing moments, then one DELETE, one bulk UPDATE and one
INSERT at most). A fired moment is never touched again: a rung fires once per stage instance,
even when the deadline later moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from django.db.models import Exists, OuterRef

from sunshine.applications.models import OPEN_STATUSES, Application, StageInstance, StageStatus
from sunshine.processes.models import Owner
from sunshine.supervision import rungs
from sunshine.supervision.models import LeaderSupervision, RungMoment


def _ticking(stage: StageInstance) -> bool:
    return (
        stage.status == StageStatus.IN_PROGRESS
        and stage.owner == Owner.UTILITY
        and stage.deadline is not None
        and stage.started_on is not None
    )


def sync_stages(
    stages: Sequence[StageInstance],
    closed_applications: Iterable[int] = (),
    *,
    fresh: Iterable[int] = (),
    new_applications: Iterable[int] = (),
) -> int:
    """Store, move or drop the unfired moments of ``stages``; returns the rows written.

    A stage in progress gets the rungs of its category (the tighter list when its application
    is supervised) from its stored deadline; a paused, completed or skipped stage, or one of an
    application that is not open (a cancelled one leaves its stage in progress), loses its
    unfired moments.

    Hints from the caller that save queries (the engine's reaction knows them from its events):
    ``fresh`` are the pks of stages started in the caller's transaction, which cannot have
    moments yet; ``new_applications`` were created in it, so none is under supervision and the
    stage objects' cached applications tell category and status.
    """
    closed = set(closed_applications)
    fresh_pks = set(fresh)
    new_apps = set(new_applications)
    stages = [s for s in stages if s.pk is not None]
    if not stages and not closed:
        return 0
    written = 0
    if closed:
        written += RungMoment.objects.filter(stage__application_id__in=closed, fired_at__isnull=True).delete()[0]
    candidates = [s for s in stages if _ticking(s) and s.application_id not in closed]
    chosen = {s.pk for s in candidates}
    # A stage not yet started (or started just now) has no moments to drop.
    idle = [s.pk for s in stages if s.pk not in chosen and s.status != StageStatus.PENDING and s.pk not in fresh_pks]
    apps: dict[int, tuple[str, str, bool]] = {}
    for s in candidates:
        if s.application_id in new_apps and StageInstance.application.is_cached(s):
            apps[s.application_id] = (s.application.category, s.application.status, False)
    unknown = {s.application_id for s in candidates} - apps.keys()
    if unknown:
        supervised = LeaderSupervision.objects.filter(application=OuterRef("pk"), ended_at__isnull=True)
        apps.update(
            {
                pk: (category, status, sup)
                for pk, category, status, sup in Application.objects.filter(pk__in=unknown)
                .annotate(sup=Exists(supervised))
                .values_list("pk", "category", "status", "sup")
            }
        )
    desired: dict[int, dict[str, tuple[datetime, date]]] = {}
    for stage in candidates:
        category, status, sup = apps.get(stage.application_id, ("", "", False))
        if status not in OPEN_STATUSES:
            idle.append(stage.pk)
            continue
        assert stage.deadline is not None and stage.started_on is not None
        planned = rungs.moments(
            deadline=stage.deadline, started_on=stage.started_on, category=category, supervised=bool(sup)
        )
        desired[stage.pk] = {code: (at, stage.deadline) for code, (_rung, at) in planned.items()}
    if idle:
        written += RungMoment.objects.filter(stage_id__in=idle, fired_at__isnull=True).delete()[0]
    if not desired:
        return written
    stale: list[int] = []
    moved: list[RungMoment] = []
    seen: set[tuple[int, str]] = set()
    existing = [pk for pk in desired if pk not in fresh_pks]
    for moment in (
        RungMoment.objects.filter(stage_id__in=existing).only(
            "id", "stage_id", "rung_code", "due_at", "deadline", "fired_at"
        )
        if existing
        else ()
    ):
        seen.add((moment.stage_id, moment.rung_code))
        if moment.fired_at is not None:
            continue
        want = desired[moment.stage_id].get(moment.rung_code)
        if want is None:
            stale.append(moment.pk)
        elif (moment.due_at, moment.deadline) != want:
            moment.due_at, moment.deadline = want
            moved.append(moment)
    new = [
        RungMoment(stage_id=stage_id, rung_code=code, due_at=at, deadline=deadline)
        for stage_id, plan in desired.items()
        for code, (at, deadline) in plan.items()
        if (stage_id, code) not in seen
    ]
    if stale:
        RungMoment.objects.filter(pk__in=stale).delete()
    if moved:
        RungMoment.objects.bulk_update(moved, ["due_at", "deadline"])
    if new:
        RungMoment.objects.bulk_create(new)
    return written + len(stale) + len(moved) + len(new)


def sync_application(application_id: int) -> int:
    """Recompute the moments of one application's stage in progress (after supervision changed)."""
    stages = list(
        StageInstance.objects.filter(
            application_id=application_id,
            status__in=[StageStatus.IN_PROGRESS, StageStatus.PAUSED],
            owner=Owner.UTILITY,
        )
    )
    return sync_stages(stages)


def backfill(batch_size: int = 2000) -> int:
    """Store the moments of every open utility stage of every open application (for data
    loaded without the engine: demo seeding, bulk loads); returns the rows written."""
    qs = (
        StageInstance.objects.filter(
            status=StageStatus.IN_PROGRESS,
            owner=Owner.UTILITY,
            application__status__in=OPEN_STATUSES,
            deadline__isnull=False,
        )
        .exclude(started_on=None)
        .order_by("pk")
    )
    last, written = 0, 0
    while True:
        batch = list(qs.filter(pk__gt=last)[:batch_size])
        if not batch:
            return written
        last = batch[-1].pk
        written += sync_stages(batch)
