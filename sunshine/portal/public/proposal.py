"""Which category to propose from the customer type and the requested capacity (domain.md §5).

Only a proposal shown on the online form (the customer may change it; a person confirms the
supply voltage in the supply scheme). Kept as a lookup table per province, newest first by the
date it took effect, so a province's rule change is a new row, not an edit of code.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

# For each province: (effective from, {id_type: (max kW/kVA for low voltage, low-voltage category)}).
# Individuals: low-voltage residential up to 100 kW (the plausibility limit of intake);
# enterprises: 380 V up to 160 kW for small and micro enterprises ("三零" scope, 2020 NDRC/NEA).
# Above: 10 kV single supply; dual supply is never proposed (the customer asks for it).
PROPOSAL_TABLE: dict[str, list[tuple[date, dict[str, tuple[Decimal, str]]]]] = {
    "default": [
        (
            date(2020, 9, 1),
            {
                "resident_id": (Decimal("100"), "lv_residential"),
                "uscc": (Decimal("160"), "lv_non_residential"),
            },
        )
    ],
}
HIGH_VOLTAGE = "hv_single"


def rules_in_force(province: str, on: date) -> dict[str, tuple[Decimal, str]]:
    versions = PROPOSAL_TABLE.get(province) or PROPOSAL_TABLE["default"]
    for effective, rules in sorted(versions, key=lambda v: v[0], reverse=True):
        if effective <= on:
            return rules
    return versions[-1][1]


def propose_category(id_type: str, capacity: Any, province: str, on: date) -> str | None:
    """The proposed category, or None while the type or capacity is unknown or not a number."""
    rules = rules_in_force(province, on)
    if id_type not in rules:
        return None
    try:
        value = Decimal(str(capacity).strip())
    except (ArithmeticError, ValueError):
        return None
    if not value.is_finite() or value <= 0:
        return None
    limit, category = rules[id_type]
    return category if value <= limit else HIGH_VOLTAGE


def table_for_page(province: str, on: date) -> dict[str, Any]:
    """The rules in force as the page script reads them (json_script)."""
    rules = rules_in_force(province, on)
    return {"rules": {k: [float(limit), cat] for k, (limit, cat) in rules.items()}, "above": HIGH_VOLTAGE}
