"""Pure arithmetic of the statistics: histograms, averages, medians and rates (no database)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

TWO = Decimal("0.01")


def add_hist(into: dict[int, int], hist: Mapping[str | int, int]) -> None:
    for k, v in hist.items():
        into[int(k)] = into.get(int(k), 0) + int(v)


def hist_of(values: Iterable[int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return out


def average(total: int, count: int) -> Decimal | None:
    """``total / count`` to two decimals, half up; None when nothing was counted (never 0)."""
    if count == 0:
        return None
    return (Decimal(total) / Decimal(count)).quantize(TWO, rounding=ROUND_HALF_UP)


def median(hist: Mapping[int, int]) -> Decimal | None:
    """The median of the values a histogram counts (the mean of the two middle ones for an even
    count), to two decimals; None for an empty histogram."""
    n = sum(hist.values())
    if n == 0:
        return None
    lo_rank, hi_rank = (n - 1) // 2, n // 2  # 0-based ranks of the middle value(s)
    lo = hi = None
    seen = 0
    for value in sorted(hist):
        count = hist[value]
        if lo is None and seen + count > lo_rank:
            lo = value
        if seen + count > hi_rank:
            hi = value
            break
        seen += count
    assert lo is not None and hi is not None
    return (Decimal(lo + hi) / 2).quantize(TWO, rounding=ROUND_HALF_UP)


def rate(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent, two decimals; None when ``whole`` is 0."""
    if whole == 0:
        return None
    return (Decimal(100 * part) / Decimal(whole)).quantize(TWO, rounding=ROUND_HALF_UP)
