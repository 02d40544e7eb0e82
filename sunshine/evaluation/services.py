"""Freeze a period's evaluation: gather the facts with a few set-based queries, score, rank, warn."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from sunshine.accounts.models import Role, User
from sunshine.applications.models import StageInstance, StageStatus
from sunshine.calendar import workdays
from sunshine.evaluation.models import EvaluationResult, EvaluationRule, EvaluationSnapshot
from sunshine.evaluation.periods import Period
from sunshine.evaluation.scoring import Facts, competition_ranks, score
from sunshine.processes.models import Owner


class EvaluationError(Exception):
    pass


def rule_in_force(on: date) -> EvaluationRule:
    rule = EvaluationRule.objects.filter(effective_from__lte=on).order_by("-effective_from").first()
    if rule is None:
        raise EvaluationError(_("No evaluation rule is in force on %(date)s.") % {"date": on.isoformat()})
    return rule


def _stage_facts(period: Period) -> dict[int, dict[str, Any]]:
    """Utility stages completed in the period, per customer manager who held each stage while it
    ran (``StageInstance.manager``: a reassignment afterwards does not move a completed stage).
    A stage without a recorded holder (rows written outside the services, e.g. by a bulk load)
    counts for the application's manager."""
    cal = workdays.current()
    holder = Coalesce("manager_id", "application__customer_manager_id")
    rows = (
        StageInstance.objects.filter(
            owner=Owner.UTILITY,
            status=StageStatus.COMPLETED,
            completed_on__range=(period.starts_on, period.ends_on),
            time_limit_days__gt=0,
        )
        .annotate(holder=holder)
        .filter(holder__isnull=False)
        .values_list(
            "holder",
            "started_on",
            "completed_on",
            "deadline",
            "time_limit_days",
            "paused_working_days",
        )
    )
    facts: dict[int, dict[str, Any]] = defaultdict(lambda: {"n": 0, "on_time": 0, "ratios": []})
    for manager_id, started, completed, deadline, limit, paused in rows.iterator(chunk_size=5000):
        if started is None or completed is None:  # a completed stage always has both
            continue
        f = facts[manager_id]
        f["n"] += 1
        if deadline is not None and completed <= deadline:
            f["on_time"] += 1
        used = max(cal.working_days_in(started, completed) - paused, 0)
        f["ratios"].append((used, limit))
    return facts


def _feedback_facts(period: Period) -> tuple[dict[int, tuple[int, int]], dict[int, dict[str, list[str]]]]:
    """Per manager: the sum and count of customers' ratings of the manager in follow-up calls
    completed in the period, and the tracking numbers of upheld complaint, steering and
    overcharge cases decided (closed) in the period. Two grouped queries."""
    from sunshine.feedback.models import CaseKind, Finding, FollowUp, FollowUpOutcome, FollowUpStatus, SupervisionCase

    satisfaction: dict[int, tuple[int, int]] = {}
    rows = (
        FollowUp.objects.filter(
            status=FollowUpStatus.DONE,
            outcome=FollowUpOutcome.COMPLETED,
            completed_on__range=(period.starts_on, period.ends_on),
            manager__isnull=False,
            sat_manager__isnull=False,
        )
        .values("manager")
        .annotate(total=Sum("sat_manager"), calls=Count("id"))
        .values_list("manager", "total", "calls")
    )
    for manager_id, total, calls in rows:
        satisfaction[manager_id] = (int(total), int(calls))
    upheld: dict[int, dict[str, list[str]]] = {}
    cases = (
        SupervisionCase.objects.filter(
            finding=Finding.UPHELD,
            kind__in=[CaseKind.COMPLAINT, CaseKind.STEERING, CaseKind.OVERCHARGE],
            closed_on__range=(period.starts_on, period.ends_on),
            manager__isnull=False,
        )
        .order_by("closed_on", "tracking_number")
        .values_list("manager", "kind", "tracking_number")
    )
    for manager_id, kind, number in cases:
        upheld.setdefault(manager_id, {}).setdefault(kind, []).append(number)
    return satisfaction, upheld


def freeze(period: Period, *, actor: User | None = None, reason: str = "") -> EvaluationSnapshot:
    """Evaluate the period as of now and store it as a new version (version 1 the first time)."""
    rule = rule_in_force(period.ends_on)
    stage_facts = _stage_facts(period)
    satisfaction, upheld = _feedback_facts(period)
    manager_ids = set(stage_facts) | set(satisfaction) | set(upheld)
    managers = list(
        User.objects.filter(Q(pk__in=manager_ids) | Q(role=Role.CUSTOMER_MANAGER, is_active=True)).order_by("username")
    )
    areas = _primary_areas([m.pk for m in managers])
    facts: dict[int, Facts] = {}
    for m in managers:
        sf = stage_facts.get(m.pk, {"n": 0, "on_time": 0, "ratios": []})
        s_sum, s_count = satisfaction.get(m.pk, (0, 0))
        found = upheld.get(m.pk, {})
        facts[m.pk] = Facts(
            stages_completed=sf["n"],
            stages_on_time=sf["on_time"],
            used_over_limit=tuple(sf["ratios"]),
            satisfaction_sum=s_sum,
            satisfaction_count=s_count,
            upheld_complaints=tuple(found.get("complaint", [])),
            veto_findings=tuple(found.get("steering", []) + found.get("overcharge", [])),
        )
    area_max: dict[int | None, int] = defaultdict(int)
    for m in managers:
        area_max[areas.get(m.pk)] = max(area_max[areas.get(m.pk)], facts[m.pk].stages_completed)

    weights = {k: int(v) for k, v in rule.weights.items()}
    scored: dict[int, tuple[Decimal | None, dict[str, Any]]] = {
        m.pk: score(
            facts[m.pk],
            area_max_volume=area_max[areas.get(m.pk)],
            weights=weights,
            complaint_penalty=rule.complaint_penalty,
        )
        for m in managers
    }
    by_area: dict[int | None, list[tuple[str, Decimal]]] = defaultdict(list)
    for m in managers:
        value = scored[m.pk][0]
        if value is not None:
            by_area[areas.get(m.pk)].append((m.username, value))
    ranks: dict[str, int] = {}
    for entries in by_area.values():
        ranks.update(competition_ranks(entries))

    with transaction.atomic():
        last = (
            EvaluationSnapshot.objects.select_for_update().filter(period=period.code).aggregate(v=Max("version"))["v"]
            or 0
        )
        snapshot = EvaluationSnapshot.objects.create(
            period=period.code,
            starts_on=period.starts_on,
            ends_on=period.ends_on,
            version=last + 1,
            frozen_at=timezone.now(),
            frozen_by=actor,
            reason=reason,
            rule=rule.as_dict(),
        )
        previous_bottoms = _previous_bottoms(period, rule.consecutive_periods - 1)
        results = []
        for m in managers:
            value, breakdown = scored[m.pk]
            area_id = areas.get(m.pk)
            ranked = len(by_area[area_id])
            rank = ranks.get(m.username) if value is not None else None
            bottom = bool(rank is not None and ranked >= rule.min_ranked and rank > ranked - rule.bottom_n)
            breakdown = {**breakdown, "bottom": bottom}
            warning = bottom and all(m.pk in bottoms for bottoms in previous_bottoms)
            if warning:
                breakdown["warning"] = {
                    "consecutive_periods": rule.consecutive_periods,
                    "bottom_n": rule.bottom_n,
                }
            results.append(
                EvaluationResult(
                    snapshot=snapshot,
                    manager=m,
                    area_id=area_id,
                    score=value,
                    rank=rank,
                    ranked_in_area=ranked,
                    veto=bool(facts[m.pk].veto_findings),
                    warning=warning,
                    breakdown=breakdown,
                )
            )
        EvaluationResult.objects.bulk_create(results)
        warned = [r for r in results if r.warning]
        if warned:
            _warn_leaders(snapshot, warned)
    return snapshot


def _primary_areas(manager_ids: list[int]) -> dict[int, int]:
    """Each manager's first service area by code: the area the manager is ranked in."""
    through = User.areas.through
    rows = through.objects.filter(user_id__in=manager_ids).order_by("user_id", "servicearea__code")
    first: dict[int, int] = {}
    for user_id, area_id in rows.values_list("user_id", "servicearea_id"):
        first.setdefault(user_id, area_id)
    return first


def _previous_bottoms(period: Period, count: int) -> list[set[int]]:
    """Managers at the bottom in each of the ``count`` periods before this one (latest versions).
    A missing snapshot breaks the run: that period gives an empty set."""
    result: list[set[int]] = []
    p = period
    for _i in range(max(count, 0)):
        p = p.previous()
        snap = EvaluationSnapshot.objects.filter(period=p.code).order_by("-version").first()
        if snap is None:
            result.append(set())
            continue
        result.append(set(snap.results.filter(breakdown__bottom=True).values_list("manager_id", flat=True)))
    return result


def _warn_leaders(snapshot: EvaluationSnapshot, warned: list[EvaluationResult]) -> None:
    from sunshine.notifications.services import notify_staff

    leaders = list(User.objects.filter(role=Role.LEADER, is_active=True))
    names = "、".join(r.manager.get_full_name() or r.manager.username for r in warned)
    notify_staff(
        leaders,
        "elimination_warning",
        {
            "period": snapshot.period,
            "managers": names,
            "text": _("Elimination warning for %(period)s: %(names)s") % {"period": snapshot.period, "names": names},
        },
        key=f"elimination:{snapshot.period}:v{snapshot.version}",
    )
