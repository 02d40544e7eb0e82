"""The public statistics for a date range, read from the aggregate tables only.

``statistics()`` issues a constant number of queries on ``metrics_*`` tables (plus the stage
names of the process templates and, when the feedback app provides it, the satisfaction of the
follow-up calls), whatever the number of applications, and caches its answer until the next
refresh. It never reads the applications.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Max
from django.utils.translation import get_language

from sunshine.metrics.models import DailyStat, OpenSnapshot, RefreshMark, UnitDailyStat
from sunshine.metrics.rules import add_hist, average, median, rate
from sunshine.processes.models import Category, Owner, StageTemplate

CACHE_SECONDS = 3600


def last_refresh() -> RefreshMark | None:
    return RefreshMark.objects.filter(name="statistics").first()


class _Acc:
    """Running totals of one category (or all) and one stage (or the whole application)."""

    def __init__(self) -> None:
        self.accepted = self.completed = self.on_time = self.late = 0
        self.wd_sum = self.cd_sum = 0
        self.wd_hist: dict[int, int] = {}
        self.cd_hist: dict[int, int] = {}
        self.open_past_limit: int | None = None

    def add(self, r: dict[str, Any]) -> None:
        self.accepted += r["accepted"]
        self.completed += r["completed"]
        self.on_time += r["on_time"]
        self.late += r["late"]
        self.wd_sum += r["working_days_sum"]
        self.cd_sum += r["calendar_days_sum"]
        add_hist(self.wd_hist, r["working_days_hist"])
        add_hist(self.cd_hist, r["calendar_days_hist"])

    def add_open(self, n: int) -> None:
        self.open_past_limit = (self.open_past_limit or 0) + n

    def numbers(self, *, whole: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "completed": self.completed,
            "on_time": self.on_time,
            "on_time_rate": rate(self.on_time, self.completed),
            "completed_late": self.late,
            "open_past_limit": self.open_past_limit,
            "average_working_days": average(self.wd_sum, self.completed),
            "median_working_days": median(self.wd_hist),
        }
        if whole:
            out = {
                "accepted": self.accepted,
                **out,
                "average_calendar_days": average(self.cd_sum, self.completed),
                "median_calendar_days": median(self.cd_hist),
            }
        return out


def _stage_names() -> tuple[dict[str, str], dict[str, list[str]]]:
    """Stage code → name, and per category the utility stage codes in process order (newest
    template version first wins)."""
    en = (get_language() or "").startswith("en")
    names: dict[str, str] = {}
    order: dict[str, list[str]] = defaultdict(list)
    for code, zh, en_name, category in (
        StageTemplate.objects.filter(owner=Owner.UTILITY)
        .order_by("process__category", "-process__effective_from", "-process__version", "position")
        .values_list("code", "name_zh", "name_en", "process__category")
    ):
        names.setdefault(code, en_name if en else zh)
        if code not in order[category]:
            order[category].append(code)
    return names, order


def statistics(from_date: date, to_date: date, category: str | None = None, unit: int | None = None) -> dict[str, Any]:
    """Accepted and completed applications, average and median utility working days and calendar
    days, on-time rates overall and per stage, completions beyond the limit and work still open
    past it, per category and overall, for the days ``from_date``..``to_date`` inclusive.

    An application counts as accepted on the day it was accepted and as completed on the day it
    was connected; a stage on the day it was completed. ``open_past_limit`` is the count at the
    latest refresh within the range (``snapshot_on``), None when no refresh ran in the range.
    Averages, medians and rates are None (never 0) when nothing completed. Rates are percent.

    ``unit`` (an ``accounts.Unit`` id below the top unit): the applications of that unit and
    every unit under it only (``UnitDailyStat`` summed over the subtree). The open-past-limit
    figures are kept for the whole company only: for a unit they are None (``snapshot_on`` None).
    The satisfaction of the follow-up calls stays the company's.
    """
    mark = last_refresh()
    stamp = mark.refreshed_at.isoformat() if mark and mark.refreshed_at else "never"
    key = f"metrics:stats:{from_date}:{to_date}:{category or ''}:{unit or ''}:{get_language()}:{stamp}"
    cached = cache.get(key)
    if cached is not None:
        return dict(cached)
    result = _compute(from_date, to_date, category, mark, unit)
    cache.set(key, result, CACHE_SECONDS)
    return result


def _compute(
    from_date: date, to_date: date, category: str | None, mark: RefreshMark | None, unit: int | None = None
) -> dict[str, Any]:
    from sunshine.accounts import units

    categories = [category] if category else list(Category.values)
    per: dict[tuple[str, str], _Acc] = defaultdict(_Acc)
    total: dict[str, _Acc] = defaultdict(_Acc)
    tree = units.tree() if unit is not None else None
    scoped = tree is not None and unit is not None and not tree.is_top(unit)
    if tree is not None and unit is not None and scoped:
        stats: Any = UnitDailyStat.objects.filter(unit_id__in=tree.below(unit))
    else:
        stats = DailyStat.objects.all()
    rows = stats.filter(day__gte=from_date, day__lte=to_date, category__in=categories).values(
        "category",
        "stage",
        "accepted",
        "completed",
        "on_time",
        "late",
        "working_days_sum",
        "calendar_days_sum",
        "working_days_hist",
        "calendar_days_hist",
    )
    for r in rows:
        d: dict[str, Any] = dict(r)
        per[(d["category"], d["stage"])].add(d)
        total[d["stage"]].add(d)
    snap_day = (
        None
        if scoped
        else OpenSnapshot.objects.filter(day__gte=from_date, day__lte=to_date, category__in=categories).aggregate(
            d=Max("day")
        )["d"]
    )
    if snap_day is not None:
        for cat, stage, n in OpenSnapshot.objects.filter(day=snap_day, category__in=categories).values_list(
            "category", "stage", "open_past_limit"
        ):
            per[(cat, stage)].add_open(n)
            total[stage].add_open(n)
        for cat in categories:
            per[(cat, "")].add_open(0)
        total[""].add_open(0)
    names, order = _stage_names()

    def stages_of(get: Any, codes: list[str]) -> list[dict[str, Any]]:
        out = []
        for code in codes:
            acc = get(code)
            if snap_day is not None and acc.open_past_limit is None:
                acc.add_open(0)
            out.append({"code": code, "name": names.get(code, code), **acc.numbers(whole=False)})
        return out

    labels = dict(Category.choices)
    blocks = []
    for cat in categories:
        codes = list(order.get(cat, []))
        codes += sorted({s for (c, s) in per if c == cat and s and s not in codes})
        blocks.append(
            {
                "category": cat,
                "category_label": str(labels[cat]),
                **per[(cat, "")].numbers(whole=True),
                "stages": stages_of(lambda code, cat=cat: per[(cat, code)], codes),
            }
        )
    all_codes: list[str] = []
    for cat in categories:
        for code in order.get(cat, []):
            if code not in all_codes:
                all_codes.append(code)
    all_codes += sorted({s for s in total if s and s not in all_codes})
    return {
        "from": from_date,
        "to": to_date,
        "category": category,
        "unit": tree.nodes[unit].code if tree is not None and unit is not None and unit in tree.nodes else None,
        "unit_name": tree.nodes[unit].name if tree is not None and unit is not None and unit in tree.nodes else None,
        "open_past_limit_company_only": scoped,
        "refreshed_at": mark.refreshed_at if mark else None,
        "snapshot_on": snap_day,
        "overall": {**total[""].numbers(whole=True), "stages": stages_of(lambda code: total[code], all_codes)},
        "categories": blocks,
        "satisfaction": _satisfaction(from_date, to_date),
    }


def _satisfaction(from_date: date, to_date: date) -> dict[str, Any] | None:
    """The follow-up calls' results over the range, all categories (None: no data yet)."""
    from sunshine.feedback.selectors import satisfaction

    result = satisfaction(from_date, to_date)
    if not result or not result.get("completed"):
        return None
    return {k: (Decimal(v) if isinstance(v, float) else v) for k, v in result.items()}


# Columns of the downloads (CSV and xlsx carry the same numbers as the page and the API).
TABLE_COLUMNS = [
    "category",
    "stage",
    "accepted",
    "completed",
    "on_time",
    "on_time_rate",
    "completed_late",
    "open_past_limit",
    "average_working_days",
    "median_working_days",
    "average_calendar_days",
    "median_calendar_days",
]


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The statistics as flat rows: per category (and overall) the whole application, then each
    stage. ``category``/``stage`` hold labels; missing numbers stay None (written empty)."""
    from django.utils.translation import pgettext

    out: list[dict[str, Any]] = []
    blocks = [
        *result["categories"],
        {**result["overall"], "category_label": pgettext("public statistics", "All categories")},
    ]
    for block in blocks:
        out.append(
            {
                **{c: block.get(c) for c in TABLE_COLUMNS},
                "category": block["category_label"],
                "stage": pgettext("public statistics", "whole application"),
            }
        )
        for s in block["stages"]:
            out.append(
                {**{c: s.get(c) for c in TABLE_COLUMNS}, "category": block["category_label"], "stage": s["name"]}
            )
    return out
