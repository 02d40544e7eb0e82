"""The score of one customer manager for one period: a pure function of counted facts.

Components (weights are configuration, ``EvaluationRule.weights``, normally adding up to 100):

- ``on_time``: share of the manager's utility stages completed in the period on or before their
  deadline. Deadlines already include customer-caused pauses, so a pause never hurts the manager.
- ``speed``: mean of working days used ÷ time limit over the same stages (utility time only:
  pauses excluded); fraction = 1.5 − mean, clipped to [0, 1] (half the limit or faster earns full
  marks, exactly the limit half, 1.5× the limit nothing).
- ``satisfaction``: mean of the customers' ratings of the manager in follow-up calls (1–5) made
  in the period; fraction = (mean − 1) ÷ 4.
- ``volume``: stages completed ÷ the most completed by any manager of the same service area.

A component with no data (no stage completed, no follow-up call) is left out and the weights of
the others are scaled up so full marks stay the same. Each component's points are rounded to two
decimals (half up) and the score is their sum, minus ``complaint_penalty`` per upheld complaint,
floored at 0. Any upheld steering (三不指定) or overcharge finding is a veto: the score is 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
COMPONENTS = ("on_time", "speed", "satisfaction", "volume")


def q2(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Facts:
    """What happened in one manager's applications during the period."""

    stages_completed: int = 0
    stages_on_time: int = 0
    # sum over completed stages of working days used ÷ limit, as an exact fraction parts list
    used_over_limit: tuple[tuple[int, int], ...] = ()
    satisfaction_sum: int = 0
    satisfaction_count: int = 0
    upheld_complaints: tuple[str, ...] = ()  # tracking numbers
    veto_findings: tuple[str, ...] = ()  # tracking numbers of upheld steering / overcharge findings
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.stages_completed or self.satisfaction_count or self.upheld_complaints or self.veto_findings)


def score(
    facts: Facts, *, area_max_volume: int, weights: dict[str, int], complaint_penalty: Decimal
) -> tuple[Decimal | None, dict[str, object]]:
    """Returns (score or None when there is nothing to score, breakdown explaining every point)."""
    if not facts.active:
        return None, {"no_activity": True}
    fractions: dict[str, Decimal] = {}
    detail: dict[str, dict[str, object]] = {}
    if facts.stages_completed:
        n = facts.stages_completed
        fractions["on_time"] = Decimal(facts.stages_on_time) / n
        detail["on_time"] = {"on_time": facts.stages_on_time, "completed": n}
        mean = sum((Decimal(u) / Decimal(lim) for u, lim in facts.used_over_limit), Decimal(0)) / n
        fractions["speed"] = min(Decimal(1), max(Decimal(0), Decimal("1.5") - mean))
        detail["speed"] = {"mean_used_over_limit": str(q2(mean)), "stages": n}
        fractions["volume"] = Decimal(n) / Decimal(max(area_max_volume, n, 1))
        detail["volume"] = {"completed": n, "area_max": max(area_max_volume, n)}
    if facts.satisfaction_count:
        mean_sat = Decimal(facts.satisfaction_sum) / facts.satisfaction_count
        fractions["satisfaction"] = (mean_sat - 1) / 4
        detail["satisfaction"] = {"average": str(q2(mean_sat)), "calls": facts.satisfaction_count}
    full = Decimal(sum(weights.get(c, 0) for c in COMPONENTS))
    present = Decimal(sum(weights.get(c, 0) for c in fractions))
    breakdown: dict[str, object] = {}
    total = Decimal(0)
    for c in COMPONENTS:
        if c not in fractions:
            breakdown[c] = {"no_data": True, "points": "0.00"}
            continue
        scaled_weight = Decimal(weights.get(c, 0)) * full / present if present else Decimal(0)
        points = q2(fractions[c] * scaled_weight)
        total += points
        breakdown[c] = {
            **detail[c],
            "fraction": str(fractions[c].quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)),
            "weight": str(q2(scaled_weight)),
            "points": str(points),
        }
    penalty = complaint_penalty * len(facts.upheld_complaints)
    breakdown["complaints"] = {"upheld": list(facts.upheld_complaints), "points": str(q2(-penalty))}
    result = max(Decimal(0), total - penalty)
    if facts.veto_findings:
        breakdown["veto"] = {"findings": list(facts.veto_findings), "points_before_veto": str(q2(result))}
        result = Decimal(0)
    return q2(result), breakdown


def competition_ranks(scores: list[tuple[str, Decimal]]) -> dict[str, int]:
    """Rank 1 is the best; equal scores share a rank and the next rank skips (1, 2, 2, 4)."""
    ordered = sorted(scores, key=lambda s: (-s[1], s[0]))
    ranks: dict[str, int] = {}
    previous: Decimal | None = None
    rank = 0
    for i, (name, value) in enumerate(ordered, start=1):
        if value != previous:
            rank, previous = i, value
        ranks[name] = rank
    return ranks
