"""Promise-keeping statistics on a small fixed data set, every number computed by hand.

The calendar around National Day 2026 (State Council notice): off Fri 25 – Sun 27 September and
Thu 1 – Wed 7 October; Sun 20 September and Sat 10 October are working days; Sun 11 October is
off. So the working days are … Mon 28, Tue 29, Wed 30 Sep, Thu 8, Fri 9, Sat 10, Mon 12, Tue 13,
Wed 14, Thu 15, Fri 16 Oct …

All six applications come in at the counter (acceptance completes at intake: 0 working days,
on time). Low-voltage residential limits: survey 2, connection 2, end to end 5.

A1 lv_residential  accepted Mon 28 Sep. survey done Wed 30 Sep (2 wd, deadline 30 Sep, on time);
   connection done Fri 9 Oct (8, 9 Oct: 2 wd, deadline 9 Oct, on time). 4 wd, 11 calendar days,
   on time.
A2 lv_residential  accepted Tue 29 Sep. survey done Sat 10 Oct (30 Sep, 8, 9, 10 Oct: 4 wd,
   deadline 8 Oct: late); connection done Mon 12 Oct (1 wd, on time). 5 wd ≤ 5: on time
   end to end although one node was late. 13 calendar days.
A3 lv_residential  accepted Wed 30 Sep, survey paused that day (missing documents) and resumed
   Fri 9 Oct (the pause covers 8 and 9 Oct: 2 wd); survey done Mon 12 Oct (4 − 2 = 2 wd,
   deadline 12 Oct: on time); connection done Fri 16 Oct (13–16 Oct: 4 wd, deadline 14 Oct:
   late). 6 wd > 5: late. 16 calendar days.
A4 lv_residential  accepted Mon 12 Oct, survey still open on 16 Oct (deadline 14 Oct): open past
   its limit.
A5 hv_single       accepted Mon 28 Sep; scheme (15) done Fri 16 Oct (29, 30 Sep, 8–10, 12–16 Oct:
   10 wd, deadline 23 Oct, on time); now the customer designs (not counted). Open.
A6 lv_non_residential accepted Thu 8 Oct; survey (2) done Fri 9 Oct (1 wd); scheme (3) done
   Mon 12 Oct (10, 12 Oct: 2 wd); grid works skipped at once (not counted as a node); connection
   (2) done Wed 14 Oct (2 wd). 5 wd ≤ 15, on time, 6 calendar days.

Range 28 Sep – 16 Oct, statistics refreshed on Fri 16 Oct at 18:00:
  lv_residential: accepted 4, completed 3, working days 4, 5, 6 → average 5.00, median 5.00;
    calendar days 11, 13, 16 → average 13.33, median 13.00; on time 2 of 3 → 66.67 %;
    completed late 1; open past the limit 1 (A4's survey).
    survey: 3 completed (2, 4, 2 wd), 2 on time → 66.67 %, average 2.67, median 2.00, late 1,
      open past limit 1; connection: 3 (2, 1, 4), 2 on time → 66.67 %, average 2.33, median 2.00;
    acceptance: 4 completed, 4 on time, average 0.00.
  lv_non_residential: accepted 1, completed 1, 5 wd, 6 days, 100.00 %.
  hv_single: accepted 1, completed 0 → averages, medians and rate None (no data, not zero);
    scheme 1 completed on time, 10 wd.
  hv_dual: nothing.
  overall: accepted 6, completed 4, working days 4, 5, 6, 5 → average 5.00, median 5.00;
    calendar days 11, 13, 16, 6 → average 11.50, median 12.00; on time 3 of 4 → 75.00 %;
    late 1; open past limit 1. survey 4 completed (2, 4, 2, 1), 3 on time → 75.00 %, average
    2.25, median 2.00; scheme 2 (2, 10) → average 6.00, median 6.00, 100.00 %.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from sunshine.applications import services
from sunshine.applications.models import Application
from sunshine.applications.validation import validate_intake
from sunshine.metrics import rules
from sunshine.metrics.models import ApplicationFact, DailyStat, OpenSnapshot, StageFact
from sunshine.metrics.selectors import statistics
from sunshine.metrics.services import refresh
from tests.conftest import intake_body

D = date
FROM, TO = D(2026, 9, 28), D(2026, 10, 16)


@pytest.fixture(autouse=True)
def _chinese():
    """Selectors outside a request speak the active language: Chinese, whatever ran before."""
    with translation.override("zh-hans"):
        yield


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


def _intake(actor, when: str, n: int, category: str = "lv_residential") -> str:
    extra: dict[str, Any] = {}
    if category.startswith("hv"):
        extra = {"requested_capacity": 800, "capacity_unit": "kVA"}
    # distinct customers so no application is flagged as a duplicate of another
    ids = [
        "110101199003071006",
        "110101199003071073",
        "110101199003071145",
        "110101199003071217",
        "110101199003071284",
        "110101199003071356",
    ]
    with at(when):
        data = validate_intake(
            intake_body(category=category, customer__id_number=ids[n], address=f"太原市晋源区晋祠路{n}号", **extra),
            D.fromisoformat(when),
        )
        return services.intake(data, actor).application.number


def _done(number: str, code: str, actor, when: str, **kw: Any) -> None:
    with at(when, "16:00"):
        services.complete_stage(number, code, actor, **kw)


def build(personas: dict[str, Any], *, refresh_midway: bool = False) -> dict[str, str]:
    clerk, alice, eng = personas["clerk"], personas["alice"], personas["engineer"]
    a = {}
    a["A1"] = _intake(clerk, "2026-09-28", 0)
    a["A5"] = _intake(clerk, "2026-09-28", 4, "hv_single")
    a["A2"] = _intake(clerk, "2026-09-29", 1)
    a["A3"] = _intake(clerk, "2026-09-30", 2)
    with at("2026-09-30", "11:00"):
        services.pause(a["A3"], alice, reason_code="missing_documents", reason="缺少产权证明")
    _done(a["A1"], "survey", eng, "2026-09-30")
    a["A6"] = _intake(clerk, "2026-10-08", 5, "lv_non_residential")
    if refresh_midway:
        with at("2026-10-08", "18:00"):
            refresh()
    with at("2026-10-09", "09:00"):
        services.resume(a["A3"], alice)
    _done(a["A1"], "connection", eng, "2026-10-09")
    _done(a["A6"], "survey", eng, "2026-10-09")
    _done(a["A2"], "survey", eng, "2026-10-10")
    _done(a["A2"], "connection", eng, "2026-10-12")
    _done(a["A3"], "survey", eng, "2026-10-12")
    _done(a["A6"], "scheme", eng, "2026-10-12")
    with at("2026-10-12", "16:30"):
        services.skip_stage(a["A6"], "grid_works", eng, reason="无需电网配套工程")
    a["A4"] = _intake(clerk, "2026-10-12", 3)
    if refresh_midway:
        with at("2026-10-12", "18:00"):
            refresh()
    _done(a["A6"], "connection", eng, "2026-10-14")
    _done(a["A3"], "connection", eng, "2026-10-16")
    _done(a["A5"], "scheme", eng, "2026-10-16")
    with at("2026-10-16", "18:00"):
        refresh()
    return a


def dec(x: str) -> Decimal:
    return Decimal(x)


def stage_of(block: dict[str, Any], code: str) -> dict[str, Any]:
    return next(s for s in block["stages"] if s["code"] == code)


def cat_of(result: dict[str, Any], category: str) -> dict[str, Any]:
    return next(b for b in result["categories"] if b["category"] == category)


EXPECTED_LV_RES = {
    "accepted": 4,
    "completed": 3,
    "on_time": 2,
    "on_time_rate": dec("66.67"),
    "completed_late": 1,
    "open_past_limit": 1,
    "average_working_days": dec("5.00"),
    "median_working_days": dec("5.00"),
    "average_calendar_days": dec("13.33"),
    "median_calendar_days": dec("13.00"),
}
EXPECTED_OVERALL = {
    "accepted": 6,
    "completed": 4,
    "on_time": 3,
    "on_time_rate": dec("75.00"),
    "completed_late": 1,
    "open_past_limit": 1,
    "average_working_days": dec("5.00"),
    "median_working_days": dec("5.00"),
    "average_calendar_days": dec("11.50"),
    "median_calendar_days": dec("12.00"),
}


def check(result: dict[str, Any]) -> None:
    lv = cat_of(result, "lv_residential")
    assert {k: lv[k] for k in EXPECTED_LV_RES} == EXPECTED_LV_RES
    assert [s["code"] for s in lv["stages"]] == ["acceptance", "survey", "connection"]
    assert stage_of(lv, "acceptance") == {
        "code": "acceptance",
        "name": "业务受理",
        "completed": 4,
        "on_time": 4,
        "on_time_rate": dec("100.00"),
        "completed_late": 0,
        "open_past_limit": 0,
        "average_working_days": dec("0.00"),
        "median_working_days": dec("0.00"),
    }
    survey = stage_of(lv, "survey")
    assert {k: survey[k] for k in survey if k not in ("code", "name")} == {
        "completed": 3,
        "on_time": 2,
        "on_time_rate": dec("66.67"),
        "completed_late": 1,
        "open_past_limit": 1,
        "average_working_days": dec("2.67"),
        "median_working_days": dec("2.00"),
    }
    conn = stage_of(lv, "connection")
    assert (conn["completed"], conn["on_time_rate"], conn["average_working_days"], conn["median_working_days"]) == (
        3,
        dec("66.67"),
        dec("2.33"),
        dec("2.00"),
    )
    nr = cat_of(result, "lv_non_residential")
    assert (nr["accepted"], nr["completed"], nr["average_working_days"], nr["median_calendar_days"]) == (
        1,
        1,
        dec("5.00"),
        dec("6.00"),
    )
    assert nr["on_time_rate"] == dec("100.00")
    assert stage_of(nr, "grid_works")["completed"] == 0  # skipped: not a completed node
    hv = cat_of(result, "hv_single")
    assert (hv["accepted"], hv["completed"]) == (1, 0)
    assert hv["on_time_rate"] is None and hv["average_working_days"] is None and hv["median_calendar_days"] is None
    scheme = stage_of(hv, "scheme")
    assert (scheme["completed"], scheme["on_time"], scheme["average_working_days"]) == (1, 1, dec("10.00"))
    dual = cat_of(result, "hv_dual")
    assert (dual["accepted"], dual["completed"], dual["on_time_rate"], dual["open_past_limit"]) == (0, 0, None, 0)
    overall = result["overall"]
    assert {k: overall[k] for k in EXPECTED_OVERALL} == EXPECTED_OVERALL
    s = stage_of(overall, "survey")
    assert (s["completed"], s["on_time"], s["on_time_rate"], s["average_working_days"], s["median_working_days"]) == (
        4,
        3,
        dec("75.00"),
        dec("2.25"),
        dec("2.00"),
    )
    sc = stage_of(overall, "scheme")
    assert (sc["completed"], sc["average_working_days"], sc["median_working_days"], sc["on_time_rate"]) == (
        2,
        dec("6.00"),
        dec("6.00"),
        dec("100.00"),
    )
    assert result["snapshot_on"] == D(2026, 10, 16)


@pytest.fixture
def dataset(personas) -> dict[str, str]:
    return build(personas)


# --- pure arithmetic ----------------------------------------------------------------------------


def test_median_of_histograms():
    assert rules.median({}) is None
    assert rules.median({5: 1}) == dec("5.00")
    assert rules.median({2: 2, 4: 1}) == dec("2.00")  # 2, 2, 4
    assert rules.median({6: 1, 11: 1, 13: 1, 16: 1}) == dec("12.00")
    assert rules.median({1: 1, 2: 1}) == dec("1.50")
    assert rules.median({3: 4}) == dec("3.00")


def test_averages_and_rates_round_half_up_and_are_none_without_data():
    assert rules.average(40, 3) == dec("13.33")
    assert rules.average(8, 3) == dec("2.67")
    assert rules.average(0, 0) is None
    assert rules.rate(2, 3) == dec("66.67")
    assert rules.rate(1, 8) == dec("12.50")
    assert rules.rate(0, 0) is None


# --- the hand-computed data set ---------------------------------------------------------------------


@pytest.mark.django_db
def test_every_statistic_matches_the_hand_computed_values(dataset):
    with at("2026-10-16", "19:00"):
        result = statistics(FROM, TO)
    check(result)


@pytest.mark.django_db
def test_the_facts_agree_with_the_application_api(dataset, api_as):
    """Each application's utility working days and on-time verdict are the API's own."""
    with at("2026-10-16", "19:00"):
        client = api_as("auditor")  # the token is issued when it is used (it lives 12 hours)
        for number in dataset.values():
            body = client.get(f"/api/v1/applications/{number}").json()
            fact = ApplicationFact.objects.get(application__number=number)
            if body["status"] == "completed":
                assert (fact.utility_working_days, fact.on_time) == (body["utility_working_days"], body["on_time"])
            else:
                assert fact.completed_on is None and fact.on_time is None


@pytest.mark.django_db
def test_a_refresh_midway_gives_the_same_numbers_as_a_full_rebuild(personas):
    build(personas, refresh_midway=True)
    with at("2026-10-16", "19:00"):
        incremental = statistics(FROM, TO)
        check(incremental)
        rows = sorted(DailyStat.objects.values_list("day", "category", "stage", "completed", "working_days_sum"))
        refresh(full=True)
        assert (
            sorted(DailyStat.objects.values_list("day", "category", "stage", "completed", "working_days_sum")) == rows
        )
        check(statistics(FROM, TO))


@pytest.mark.django_db
def test_a_second_refresh_changes_nothing(dataset):
    before = sorted(DailyStat.objects.values_list("day", "category", "stage", "accepted", "completed", "on_time"))
    facts = StageFact.objects.count()
    with at("2026-10-16", "18:30"):
        refresh()
    after = sorted(DailyStat.objects.values_list("day", "category", "stage", "accepted", "completed", "on_time"))
    assert after == before
    # 6 acceptances, A1, A2, A3 and A6 survey and connection, A5 and A6 scheme
    assert StageFact.objects.count() == facts == 16


@pytest.mark.django_db
def test_a_month_and_a_category(dataset):
    with at("2026-10-16", "19:00"):
        october = statistics(D(2026, 10, 1), D(2026, 10, 31))
        lv = statistics(FROM, TO, "lv_residential")
    assert october["overall"]["accepted"] == 2  # A6 (8 Oct) and A4 (12 Oct)
    assert october["overall"]["completed"] == 4  # every completion was in October
    assert october["overall"]["open_past_limit"] == 1
    september = statistics(D(2026, 9, 1), D(2026, 9, 30))
    assert september["overall"]["accepted"] == 4 and september["overall"]["completed"] == 0
    assert september["overall"]["average_working_days"] is None
    assert september["overall"]["open_past_limit"] is None  # no refresh ran in September: unknown
    assert [b["category"] for b in lv["categories"]] == ["lv_residential"]
    assert {k: lv["overall"][k] for k in EXPECTED_LV_RES} == EXPECTED_LV_RES


@pytest.mark.django_db
def test_the_open_snapshot_counts_a_paused_stage_only_when_its_extended_deadline_passed(personas):
    clerk, alice = personas["clerk"], personas["alice"]
    number = _intake(clerk, "2026-10-12", 0)  # survey deadline 14 Oct
    with at("2026-10-13", "09:00"):
        services.pause(number, alice, reason_code="customer_request", reason="客户要求暂缓")
    with at("2026-10-16", "18:00"):
        refresh()  # paused since 13 Oct: the deadline moves with the pause, not past it
    assert OpenSnapshot.objects.get(day=D(2026, 10, 16), category="lv_residential", stage="").open_past_limit == 0
    with at("2026-10-19", "09:00"):
        services.resume(number, alice)  # 14, 15, 16, 19 Oct paused: deadline 20 Oct
    with at("2026-10-21", "18:00"):
        refresh()
    snap = OpenSnapshot.objects.get(day=D(2026, 10, 21), category="lv_residential", stage="survey")
    assert snap.open_past_limit == 1


@pytest.mark.django_db
def test_reading_the_statistics_never_touches_the_applications(dataset, django_assert_max_num_queries):
    with at("2026-10-16", "19:00"):
        with CaptureQueriesContext(connection) as ctx:
            statistics(FROM, TO)
        sql = [q["sql"] for q in ctx.captured_queries]
        # mark, day rows, latest snapshot day, its rows, stage names, follow-up satisfaction
        assert len(sql) == 6
        assert not any("applications_" in s for s in sql), sql
        assert all(("metrics_" in s or "processes_" in s or "feedback_" in s) for s in sql), sql
        with django_assert_max_num_queries(1):  # cached until the next refresh
            statistics(FROM, TO)
    assert Application.objects.count() == 6


@pytest.mark.django_db
def test_the_periodic_job_and_the_command_refresh(personas):
    from django.core.management import call_command

    from sunshine.jobs.schedule import discover
    from sunshine.metrics.tasks import refresh_statistics

    jobs = {j.name: j for j in discover()}
    assert jobs["metrics.refresh_statistics"].task == "sunshine.metrics.tasks.refresh_statistics"
    assert jobs["metrics.refresh_statistics"].cron == "*/10 * * * *"
    _intake(personas["clerk"], "2026-10-12", 0)
    with at("2026-10-12", "18:00"):
        assert refresh_statistics.call() == 1
        assert statistics(D(2026, 10, 12), D(2026, 10, 12))["overall"]["accepted"] == 1
    _intake(personas["clerk"], "2026-10-13", 1)
    with at("2026-10-13", "18:00"):
        call_command("refresh_statistics", stdout=io.StringIO())
        assert statistics(D(2026, 10, 12), D(2026, 10, 13))["overall"]["accepted"] == 2
        call_command("refresh_statistics", "--full", stdout=io.StringIO())
        assert statistics(D(2026, 10, 12), D(2026, 10, 13))["overall"]["accepted"] == 2
