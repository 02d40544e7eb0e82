"""Reads of frozen evaluations: the API, the staff pages and the portal's ratings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sunshine.accounts.models import User
from sunshine.evaluation.models import EvaluationResult, EvaluationSnapshot


def latest_snapshot(period: str) -> EvaluationSnapshot | None:
    return EvaluationSnapshot.objects.filter(period=period).order_by("-version").first()


def snapshot_results(snapshot: EvaluationSnapshot, *, only: User | None = None) -> list[dict[str, Any]]:
    """Results of a snapshot, best first within each area (unranked last). One query."""
    qs = EvaluationResult.objects.filter(snapshot=snapshot).select_related("manager", "area")
    if only is not None:
        qs = qs.filter(manager=only)
    rows = sorted(
        qs,
        key=lambda r: (r.area.code if r.area else "", r.rank is None, r.rank or 0, r.manager.username),
    )
    return [
        {
            "username": r.manager.username,
            "name": r.manager.get_full_name() or r.manager.username,
            "area": r.area.name if r.area else None,
            "score": r.score,
            "rank": r.rank,
            "ranked_in_area": r.ranked_in_area,
            "veto": r.veto,
            "warning": r.warning,
            "breakdown": r.breakdown,
        }
        for r in rows
    ]


def snapshots() -> list[EvaluationSnapshot]:
    return list(EvaluationSnapshot.objects.order_by("-starts_on", "period", "-version"))


def latest_public_ratings() -> dict[str, Decimal]:
    """Managers' customer ratings (1–5, mean of follow-up calls) from the latest frozen monthly
    snapshot that has any: what the portal shows next to a manager's name (测评公开)."""
    for snap in EvaluationSnapshot.objects.filter(period__regex=r"^\d{4}-\d{2}$").order_by("-starts_on", "-version")[
        :6
    ]:
        ratings: dict[str, Decimal] = {}
        for username, breakdown in snap.results.values_list("manager__username", "breakdown"):
            sat = (breakdown or {}).get("satisfaction") or {}
            if sat.get("average"):
                ratings[username] = Decimal(sat["average"])
        if ratings:
            return ratings
    return {}


def score_history(manager: User) -> list[dict[str, Any]]:
    """The manager's result in the latest version of every frozen period, newest first: a
    leader's view of how someone does over time. Two queries."""
    latest: dict[str, int] = {}
    for pk, period in EvaluationSnapshot.objects.order_by("period", "-version").values_list("pk", "period"):
        latest.setdefault(period, pk)
    results = (
        EvaluationResult.objects.filter(snapshot_id__in=latest.values(), manager=manager)
        .select_related("snapshot", "area")
        .order_by("-snapshot__starts_on", "snapshot__period")
    )
    return [
        {
            "period": r.snapshot.period,
            "version": r.snapshot.version,
            "area": r.area.name if r.area else None,
            "score": r.score,
            "rank": r.rank,
            "ranked_in_area": r.ranked_in_area,
            "bottom": bool((r.breakdown or {}).get("bottom")),
            "veto": r.veto,
            "warning": r.warning,
        }
        for r in results
    ]
