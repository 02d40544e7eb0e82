"""Evaluation periods: a month ``YYYY-MM`` or a quarter ``YYYY-Qn``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class BadPeriod(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    code: str
    kind: str  # "month" | "quarter"
    starts_on: date
    ends_on: date

    def previous(self) -> Period:
        return period_containing(self.starts_on - timedelta(days=1), self.kind)


def _month_end(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def parse_period(code: str) -> Period:
    """``"2026-10"`` → October 2026; ``"2026-Q4"`` → October–December 2026. Raises BadPeriod."""
    code = (code or "").strip().upper()
    if m := _MONTH.match(code):
        year, month = int(m[1]), int(m[2])
        return Period(code, "month", date(year, month, 1), _month_end(year, month))
    if m := _QUARTER.match(code):
        year, q = int(m[1]), int(m[2])
        return Period(code, "quarter", date(year, 3 * q - 2, 1), _month_end(year, 3 * q))
    raise BadPeriod(code)


def period_containing(day: date, kind: str = "month") -> Period:
    if kind == "quarter":
        return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
    return parse_period(f"{day.year}-{day.month:02d}")
