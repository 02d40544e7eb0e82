"""Which category to propose from the customer type and the requested capacity (domain.md §5).

Only a proposal shown on the online form (the customer may change it; a person confirms the
supply voltage in the supply scheme). The same rule as the counter's intake form
(``workbench.desk.queries.propose_category``), with the ceilings of the intake plausibility table
(``applications.validation.CAPACITY_RANGE``): a person up to the residential ceiling → low-voltage
residential; anyone up to 160 kW (small and micro enterprises, "三零") → low-voltage
non-residential; beyond → 10 kV single supply. Dual supply is never proposed (the customer asks).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sunshine.applications.models import IdType
from sunshine.applications.validation import CAPACITY_RANGE
from sunshine.processes.models import Category


def ladder(id_type: str) -> list[tuple[Decimal, str]]:
    """(ceiling, category) steps for a customer type, lowest first."""
    steps = [(CAPACITY_RANGE[Category.LV_NON_RESIDENTIAL][1], str(Category.LV_NON_RESIDENTIAL))]
    if id_type == IdType.RESIDENT_ID:
        steps.insert(0, (CAPACITY_RANGE[Category.LV_RESIDENTIAL][1], str(Category.LV_RESIDENTIAL)))
    return steps


def propose_category(id_type: str, capacity: Any) -> str | None:
    """The proposed category, or None while the type or capacity is unknown or not a number."""
    if id_type not in IdType.values:
        return None
    try:
        value = Decimal(str(capacity).strip())
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value <= 0:
        return None
    for ceiling, category in ladder(id_type):
        if value <= ceiling:
            return category
    return str(Category.HV_SINGLE)


def table_for_page() -> dict[str, Any]:
    """The same ladder as the page script reads it (json_script)."""
    return {
        "rules": {t: [[float(c), cat] for c, cat in ladder(t)] for t in IdType.values},
        "above": str(Category.HV_SINGLE),
    }
