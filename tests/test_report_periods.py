"""Half-month reports and the evaluation on short and awkward periods: nothing in them, one
application, the first days of a half-month, a past period whose applications all came later. A
report must never fail and never count days not yet lived.

Calendar: November 2026 has no holidays; Thu 12, Fri 13, Mon 16, Tue 17 are working days.
Residential survey limit 2 working days: an application accepted on Thu 12 has its survey due on
Mon 16 (13, 16) and is overdue by one working day on Tue 17.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sunshine.evaluation.periods import parse_period
from sunshine.evaluation.services import freeze
from sunshine.ops.demo.reports import ensure_demo_reports
from sunshine.reports import services
from sunshine.reports.models import Report, ReportStatus
from tests.test_reports import at, intake

SECTIONS = [
    "headline",
    "volume_category",
    "volume_node",
    "durations",
    "on_time",
    "overdue",
    "key_projects",
    "pauses",
    "followup",
    "cases",
    "ranking",
]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def rows(report: Report) -> dict[str, list[list[Any]]]:
    """The rows of the sections that have data (the others say 本期暂无数据)."""
    assert [s["key"] for s in report.data["sections"]] == SECTIONS
    for s in report.data["sections"]:
        assert s["empty"] == (not s["rows"]) and (s["note"] == "本期暂无数据") == s["empty"], s["key"]
    return {s["key"]: s["rows"] for s in report.data["sections"] if not s["empty"]}


def assert_done_with_files(report: Report) -> None:
    assert (report.status, report.error) == (ReportStatus.DONE, "")
    for fmt in ("xlsx", "pdf"):
        path = services.file_path(report, fmt)
        assert path is not None and path.stat().st_size > 0


def test_an_empty_half_month_is_done_with_no_data_everywhere(db, media):
    with at("2026-11-17"):
        report, created = services.generate_half_month(date(2026, 11, 1))
    assert created
    assert_done_with_files(report)
    assert rows(report) == {}


def test_a_past_half_month_whose_applications_all_came_later_is_done_and_empty(personas, media):
    """The report of 1–15 Oct, generated in November when the only application is from November
    (this made an empty VALUES list in the SQL of the working-day ordinals)."""
    intake("2026-11-12", "王一")
    with at("2026-11-17"):
        report, _created = services.generate_half_month(date(2026, 10, 1))
    assert_done_with_files(report)
    assert rows(report) == {}


def test_one_application_on_the_first_day_of_a_half_month(personas, media):
    """Accepted at 09:00 on Mon 16 Nov, the report of the current half-month so far at 10:00: its
    survey (due Wed 18) is not overdue, whatever the half-month's last day would make of it."""
    intake("2026-11-16", "王一")
    with at("2026-11-16"):
        report, _created = services.generate_half_month(date(2026, 11, 16))
    assert_done_with_files(report)
    assert rows(report) == {
        "headline": [
            ["受理申请（件）", 1, 0, 1.0],
            ["办结申请（件）", 0, 0, 0.0],
            ["期末在途（件）", 1, 0, 1.0],
            ["期末超期环节（个）", 0, 0, 0.0],
            ["办结按时率（%）", None, None, None],
            ["环节按时率（%）", 100.0, None, None],
            ["办结平均供电企业用时（工作日）", None, None, None],
        ],
        "volume_category": [["低压居民", 1, 0, 0, 1], ["合计", 1, 0, 0, 1]],
        "volume_node": [["低压居民", "业务受理", "供电企业", 1, 1, 0], ["低压居民", "现场勘查", "供电企业", 1, 0, 1]],
        "durations": [["低压居民", "业务受理", 1, 0.0, 0.0, 0.0, 1]],
        "on_time": [["低压居民", "业务受理", 1, 1, 0, 100.0], ["合计", "全部环节", 1, 1, 0, 100.0]],
    }


def test_the_first_days_of_a_half_month_carry_the_previous_half_months_open_application(personas, media):
    """What `make run` shows on Tue 17 Nov: the previous half-month and the current one so far."""
    number = intake("2026-11-12", "王一")
    with at("2026-11-17"):
        previous, current = ensure_demo_reports()
    assert (previous.period_start, previous.period_end) == (date(2026, 11, 1), date(2026, 11, 15))
    assert (current.period_start, current.period_end) == (date(2026, 11, 16), date(2026, 11, 30))
    assert_done_with_files(previous)
    assert_done_with_files(current)
    assert rows(previous) == {
        "headline": [
            ["受理申请（件）", 1, 0, 1.0],
            ["办结申请（件）", 0, 0, 0.0],
            ["期末在途（件）", 1, 0, 1.0],
            ["期末超期环节（个）", 0, 0, 0.0],  # due Mon 16: not yet overdue on the 15th
            ["办结按时率（%）", None, None, None],
            ["环节按时率（%）", 100.0, None, None],
            ["办结平均供电企业用时（工作日）", None, None, None],
        ],
        "volume_category": [["低压居民", 1, 0, 0, 1], ["合计", 1, 0, 0, 1]],
        "volume_node": [["低压居民", "业务受理", "供电企业", 1, 1, 0], ["低压居民", "现场勘查", "供电企业", 1, 0, 1]],
        "durations": [["低压居民", "业务受理", 1, 0.0, 0.0, 0.0, 1]],
        "on_time": [["低压居民", "业务受理", 1, 1, 0, 100.0], ["合计", "全部环节", 1, 1, 0, 100.0]],
    }
    assert rows(current) == {
        "headline": [
            ["受理申请（件）", 0, 1, -1.0],
            ["办结申请（件）", 0, 0, 0.0],
            ["期末在途（件）", 1, 1, 0.0],
            ["期末超期环节（个）", 1, 0, 1.0],
            ["办结按时率（%）", None, None, None],
            ["环节按时率（%）", None, 100.0, None],
            ["办结平均供电企业用时（工作日）", None, None, None],
        ],
        "volume_category": [["低压居民", 0, 0, 0, 1], ["合计", 0, 0, 0, 1]],
        "volume_node": [["低压居民", "现场勘查", "供电企业", 0, 0, 1]],
        # overdue by one working day as of today (Tue 17), not as of the 30th
        "overdue": [[number, "王一", "低压居民", "现场勘查", "李爱", "2026-11-12", "2026-11-16", 1, "未说明"]],
    }


# --- the customer-manager evaluation on the same short periods ---------------------------------


def _results(snapshot) -> dict[str, tuple[Any, ...]]:
    return {
        r.manager.username: (r.score, r.rank, r.ranked_in_area, r.veto, r.warning)
        for r in snapshot.results.select_related("manager")
    }


def test_the_evaluation_of_an_empty_month_ranks_no_one(personas):
    with at("2026-11-02"):
        snapshot = freeze(parse_period("2026-10"))
    assert (snapshot.starts_on, snapshot.ends_on) == (date(2026, 10, 1), date(2026, 10, 31))
    assert _results(snapshot) == {"alice": (None, None, 0, False, False), "bob": (None, None, 0, False, False)}
    assert all(r.breakdown == {"no_activity": True, "bottom": False} for r in snapshot.results.all())


def test_the_evaluation_of_the_first_day_of_a_month_with_one_application(personas):
    """Accepted at 09:00 on Mon 2 Nov (the acceptance stage completes at intake, on time, within
    its 1-day limit), November frozen at noon: alice has done everything on time, bob nothing."""
    intake("2026-11-02", "王一")
    with at("2026-11-02", "12:00"):
        snapshot = freeze(parse_period("2026-11"))
    assert _results(snapshot) == {
        "alice": (Decimal("100.00"), 1, 1, False, False),
        "bob": (None, None, 1, False, False),
    }
    alice = snapshot.results.get(manager__username="alice").breakdown
    assert alice["on_time"] == {
        "on_time": 1,
        "completed": 1,
        "fraction": "1.0000",
        "weight": "57.14",
        "points": "57.14",
    }
    assert alice["satisfaction"] == {"no_data": True, "points": "0.00"}
