"""Keep the statistics tables current: fold new events into facts, rebuild the changed days.

``refresh()`` is what the periodic job and ``manage.py refresh_statistics`` run. It reads the
events added since the last run (by primary key, so the scan is an index range), recomputes the
facts of the applications they belong to, rebuilds the ``DailyStat`` rows of every day whose
facts changed, and takes today's ``OpenSnapshot``. Everything is idempotent: running it twice
changes nothing, and ``refresh(full=True)`` rebuilds all from scratch with the same result.

Only utility time counts: the working days of utility stages (customer stages are not counted)
minus the working days covered by customer-caused pauses, the same clock as the API
(``sunshine.applications.clock``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from sunshine.applications.clock import stage_clock
from sunshine.applications.models import OPEN_STATUSES, Application, Event, StageInstance, StageStatus, Status
from sunshine.applications.selectors import paused_overdue
from sunshine.calendar import workdays
from sunshine.metrics.models import ApplicationFact, DailyStat, OpenSnapshot, RefreshMark, StageFact, UnitDailyStat
from sunshine.metrics.rules import hist_of
from sunshine.processes.models import Owner

MARK = "statistics"
BATCH = 2000
# Events are re-read this far behind the mark: an event whose transaction committed after a
# later one (ids are assigned before commit) is still seen. Recomputing a fact is idempotent.
REREAD = 500


@dataclass(frozen=True)
class RefreshResult:
    applications: int
    days: int
    last_event_id: int


def refresh(*, full: bool = False, today: date | None = None) -> RefreshResult:
    """Bring the statistics up to date (see the module docstring); one run at a time."""
    now = timezone.now()
    today = today or timezone.localdate(now)
    with transaction.atomic():
        mark, _ = RefreshMark.objects.select_for_update().get_or_create(name=MARK)
        if full:
            ApplicationFact.objects.all().delete()
            StageFact.objects.all().delete()
            DailyStat.objects.all().delete()
            UnitDailyStat.objects.all().delete()
        start = 0 if full else max(mark.last_event_id - REREAD, 0)
        last = mark.last_event_id
        days: set[date] = set()
        # The incremental run rebuilds the unit rows of the (day, unit) pairs that changed only
        # (a day's unit rows are many at a province: one set per county); the full run all.
        pairs: set[tuple[date, int | None]] | None = None if full else set()
        apps_done = 0
        if full:
            ids = list(Application.objects.order_by("pk").values_list("pk", flat=True))
            last = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            for i in range(0, len(ids), BATCH):
                days |= _refresh_facts(ids[i : i + BATCH])
            apps_done = len(ids)
        else:
            while True:
                rows = list(
                    Event.objects.filter(pk__gt=start).order_by("pk").values_list("pk", "application_id")[: BATCH * 5]
                )
                if not rows:
                    break
                start = rows[-1][0]
                last = max(last, start)
                app_ids = sorted({a for _, a in rows})
                apps_done += len(app_ids)
                days |= _refresh_facts(app_ids, pairs)
        _rebuild_days(sorted(days), pairs)
        _snapshot(today)
        mark.last_event_id = last
        mark.refreshed_at = now
        mark.save(update_fields=["last_event_id", "refreshed_at"])
    return RefreshResult(apps_done, len(days), last)


def _local(dt: object) -> date | None:
    return timezone.localdate(dt) if dt is not None else None  # type: ignore[arg-type]


def _refresh_facts(app_ids: list[int], pairs: set[tuple[date, int | None]] | None = None) -> set[date]:
    """Recompute the facts of ``app_ids``; return the days whose aggregates change (old and new),
    and add to ``pairs`` (when given) the (day, unit) pairs whose unit rows change."""
    cal = workdays.current()
    days: set[date] = set()
    seen: set[tuple[date, int | None]] = pairs if pairs is not None else set()

    def touch(day: date, unit_id: int | None) -> None:
        days.add(day)
        seen.add((day, unit_id))

    for acc, comp, old_unit in ApplicationFact.objects.filter(pk__in=app_ids).values_list(
        "accepted_on", "completed_on", "unit_id"
    ):
        touch(acc, old_unit)
        if comp:
            touch(comp, old_unit)
    for comp, old_unit in StageFact.objects.filter(application_id__in=app_ids).values_list("completed_on", "unit_id"):
        touch(comp, old_unit)
    apps = list(
        Application.objects.filter(pk__in=app_ids).values_list(
            "pk", "category", "status", "accepted_at", "completed_at", "process__end_to_end_limit_days", "unit_id"
        )
    )
    stages: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in StageInstance.objects.filter(application_id__in=app_ids, owner=Owner.UTILITY).values_list(
        "pk", "application_id", "code", "status", "started_on", "completed_on", "time_limit_days", "paused_working_days"
    ):
        stages[row[1]].append(row)
    app_facts: list[ApplicationFact] = []
    stage_facts: list[StageFact] = []
    for pk, category, status, accepted_at, completed_at, e2e_limit, unit_id in apps:
        accepted_on = _local(accepted_at)
        assert accepted_on is not None
        touch(accepted_on, unit_id)
        used_total = 0
        all_on_time = True
        for spk, _, code, sstatus, started_on, completed_on, limit, paused in stages[pk]:
            if sstatus not in (StageStatus.COMPLETED, StageStatus.SKIPPED) or started_on is None:
                continue  # open stages do not count until they finish
            clock = stage_clock(
                cal,
                started_on=started_on,
                limit=limit,
                finished_pause_days=paused,
                running_pause_from=None,
                completed_on=completed_on,
                today=completed_on,
            )
            used_total += clock.working_days_used
            if sstatus == StageStatus.COMPLETED:
                on_time = bool(clock.on_time)
                all_on_time = all_on_time and on_time
                stage_facts.append(
                    StageFact(
                        stage_id=spk,
                        application_id=pk,
                        category=category,
                        unit_id=unit_id,
                        code=code,
                        completed_on=completed_on,
                        working_days=clock.working_days_used,
                        on_time=on_time,
                    )
                )
                touch(completed_on, unit_id)
        completed_on = _local(completed_at) if status == Status.COMPLETED else None
        fact = ApplicationFact(application_id=pk, category=category, unit_id=unit_id, accepted_on=accepted_on)
        if completed_on is not None:
            touch(completed_on, unit_id)
            fact.completed_on = completed_on
            fact.utility_working_days = used_total
            fact.calendar_days = (completed_on - accepted_on).days
            fact.on_time = used_total <= e2e_limit if e2e_limit is not None else all_on_time
        app_facts.append(fact)
    ApplicationFact.objects.filter(pk__in=app_ids).delete()
    StageFact.objects.filter(application_id__in=app_ids).delete()
    ApplicationFact.objects.bulk_create(app_facts, batch_size=1000)
    StageFact.objects.bulk_create(stage_facts, batch_size=1000)
    return days


def _rebuild_days(days: Iterable[date], pairs: set[tuple[date, int | None]] | None = None) -> None:
    """Rebuild the rows of ``days``; the unit rows of the (day, unit) ``pairs`` only when given."""
    days = list(days)
    for i in range(0, len(days), 62):
        _rebuild_chunk(days[i : i + 62], pairs)


def _rebuild_chunk(days: list[date], pairs: set[tuple[date, int | None]] | None = None) -> None:
    """The ``DailyStat`` rows of ``days`` and, from the same rows of facts, their ``UnitDailyStat``
    rows (per the fact's unit; facts without a unit count for the whole company only). The top
    unit's own rows are not stored: reading the top unit reads ``DailyStat`` and no other unit's
    subtree contains it (so a single-company installation stores no unit rows at all)."""
    from sunshine.accounts import units

    tree = units.tree()
    top = tree.top if tree.is_top(tree.top) else None
    rows: dict[tuple[date, str, str], DailyStat] = {}
    unit_rows: dict[tuple[date, int, str, str], UnitDailyStat] = {}
    wd: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    cd: dict[tuple[Any, ...], list[int]] = defaultdict(list)

    def both(day: date, unit_id: int | None, category: str, stage: str) -> list[tuple[tuple[Any, ...], Any]]:
        key = (day, category, stage)
        if key not in rows:
            rows[key] = DailyStat(day=day, category=category, stage=stage)
        out: list[tuple[tuple[Any, ...], Any]] = [(key, rows[key])]
        if unit_id is not None and unit_id != top and (pairs is None or (day, unit_id) in pairs):
            ukey = (day, unit_id, category, stage)
            if ukey not in unit_rows:
                unit_rows[ukey] = UnitDailyStat(day=day, unit_id=unit_id, category=category, stage=stage)
            out.append((ukey, unit_rows[ukey]))
        return out

    for day, category, unit_id, n in (
        ApplicationFact.objects.filter(accepted_on__in=days)
        .values_list("accepted_on", "category", "unit_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        for _key, r in both(day, unit_id, category, ""):
            r.accepted += n
    for day, category, unit_id, used, cal_days, on_time in ApplicationFact.objects.filter(
        completed_on__in=days
    ).values_list("completed_on", "category", "unit_id", "utility_working_days", "calendar_days", "on_time"):
        assert day is not None and used is not None and cal_days is not None  # completed facts have all three
        for key, r in both(day, unit_id, category, ""):
            r.completed += 1
            r.on_time += 1 if on_time else 0
            r.late += 0 if on_time else 1
            r.working_days_sum += used
            r.calendar_days_sum += cal_days
            wd[key].append(used)
            cd[key].append(cal_days)
    for day, category, unit_id, code, used, on_time in StageFact.objects.filter(completed_on__in=days).values_list(
        "completed_on", "category", "unit_id", "code", "working_days", "on_time"
    ):
        for key, r in both(day, unit_id, category, code):
            r.completed += 1
            r.on_time += 1 if on_time else 0
            r.late += 0 if on_time else 1
            r.working_days_sum += used
            wd[key].append(used)
    for key, r in rows.items():
        r.working_days_hist = hist_of(wd.get(key, []))
        r.calendar_days_hist = hist_of(cd.get(key, []))
    for ukey, u in unit_rows.items():
        u.working_days_hist = hist_of(wd.get(ukey, []))
        u.calendar_days_hist = hist_of(cd.get(ukey, []))
    DailyStat.objects.filter(day__in=days).delete()
    DailyStat.objects.bulk_create(rows.values(), batch_size=1000)
    if pairs is None:
        UnitDailyStat.objects.filter(day__in=days).delete()
    else:
        per_day: dict[date, set[int]] = defaultdict(set)
        for day, unit_id in pairs:
            if unit_id is not None and day in days:
                per_day[day].add(unit_id)
        if per_day:
            which = Q()
            for day, unit_ids in per_day.items():
                which |= Q(day=day, unit_id__in=sorted(unit_ids))
            UnitDailyStat.objects.filter(which).delete()
    UnitDailyStat.objects.bulk_create(unit_rows.values(), batch_size=1000)


def _snapshot(today: date) -> None:
    """Today's count of utility stages still open past their limit, per category and stage, and
    per category for whole applications (an application has one current stage)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    # Running stages: the stored deadline is exact (served by the partial index on open stages).
    for category, code, n in (
        StageInstance.objects.filter(
            status=StageStatus.IN_PROGRESS,
            owner=Owner.UTILITY,
            deadline__lt=today,
            application__status=Status.IN_PROGRESS,
        )
        .values_list("application__category", "code")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[(category, code)] += n
    # Paused stages: the running pause extends the deadline up to today.
    open_apps = StageInstance.objects.filter(application__status__in=OPEN_STATUSES)
    for category, code in paused_overdue(today, open_apps, "application__category", "code"):
        counts[(category, code)] += 1
    from sunshine.processes.models import Category

    snaps = [OpenSnapshot(day=today, category=c, stage="", open_past_limit=0) for c in Category.values]
    by_cat = {s.category: s for s in snaps}
    for (category, code), n in counts.items():
        snaps.append(OpenSnapshot(day=today, category=category, stage=code, open_past_limit=n))
        if category in by_cat:
            by_cat[category].open_past_limit += n
    OpenSnapshot.objects.filter(day=today).delete()
    OpenSnapshot.objects.bulk_create(snaps)
