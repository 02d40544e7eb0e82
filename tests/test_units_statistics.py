"""The public statistics per company unit (issue 19): the hand-computed data set of test_metrics
spread over the demo's province (sunshine/ops/demo/units.py). Its six applications are taken in
晋源区 (the address); A2 is put in 大同's 平城区 and A6 in 太原's 小店区 (data, then a full
refresh), and the open A4 is moved to 迎泽区 by the staff action (an event: the incremental
refresh follows it):

- 山西 (the top) = the whole company, as before: 6 accepted, 4 completed;
- 太原: A1, A3, A4, A5, A6 (5 accepted; A1, A3, A6 completed); 晋源区: A1, A3, A5;
  小店区: A6; 迎泽区: A4 (open); 大同 and 平城区: A2 (accepted and completed); 云冈区: nothing.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from django.utils import translation

from sunshine.applications import services
from sunshine.applications.models import Application
from sunshine.metrics.models import UnitDailyStat
from sunshine.metrics.selectors import statistics
from sunshine.metrics.services import refresh
from sunshine.ops.demo.units import ensure_units
from tests.test_metrics import at, build

pytestmark = pytest.mark.django_db

RANGE = {"from_date": "2026-09-28", "to_date": "2026-10-16"}
WHOLE = ["accepted", "completed", "on_time", "completed_late"]


@pytest.fixture(autouse=True)
def _chinese():
    with translation.override("zh-hans"):
        yield


@pytest.fixture
def province(personas):
    found = ensure_units()
    a = build(personas)
    Application.objects.filter(number=a["A2"]).update(unit=found["dt-pingcheng"])
    Application.objects.filter(number=a["A6"]).update(unit=found["ty-xiaodian"])
    with at("2026-10-16", "18:30"):
        refresh(full=True)
        services.move_unit(a["A4"], personas["admin"], unit_code="ty-yingze", reason="地址在迎泽区")
    with at("2026-10-16", "19:00"):
        refresh()
    return found


def figures(code: str | None, found) -> dict:
    from datetime import date

    unit = found[code].pk if code else None
    return statistics(date(2026, 9, 28), date(2026, 10, 16), None, unit)


def whole(result: dict) -> tuple:
    return tuple(result["overall"][k] for k in WHOLE)


def test_each_unit_counts_its_subtree(province):
    with at("2026-10-16", "19:30"):
        assert whole(figures(None, province)) == (6, 4, 3, 1)
        assert whole(figures("sx", province)) == (6, 4, 3, 1)  # the top is the whole company
        assert whole(figures("ty", province)) == (5, 3, 2, 1)
        assert whole(figures("ty-jinyuan", province)) == (3, 2, 1, 1)
        assert whole(figures("ty-yingze", province)) == (1, 0, 0, 0)
        assert whole(figures("ty-xiaodian", province)) == (1, 1, 1, 0)
        assert whole(figures("dt", province)) == (1, 1, 1, 0)
        assert whole(figures("dt-pingcheng", province)) == (1, 1, 1, 0)
        assert whole(figures("dt-yungang", province)) == (0, 0, 0, 0)
        jinyuan = figures("ty-jinyuan", province)
    lv = next(c for c in jinyuan["categories"] if c["category"] == "lv_residential")
    assert (lv["accepted"], lv["completed"], lv["on_time"]) == (2, 2, 1)  # A1, A3 (late)
    assert [c["accepted"] for c in jinyuan["categories"] if c["category"] == "hv_single"] == [1]  # A5
    # open work past its limit is published for the whole company only
    assert jinyuan["open_past_limit_company_only"] is True and jinyuan["snapshot_on"] is None
    assert jinyuan["overall"]["open_past_limit"] is None
    assert figures(None, province)["overall"]["open_past_limit"] == 1


def test_the_province_is_the_sum_of_its_cities(province):
    with at("2026-10-16", "19:30"):
        top, ty, dt = (figures(c, province) for c in ("sx", "ty", "dt"))
    for k in WHOLE:
        assert top["overall"][k] == ty["overall"][k] + dt["overall"][k], k
    stages = {s["code"]: s["completed"] for s in top["overall"]["stages"]}
    assert stages == {
        code: next(s for s in ty["overall"]["stages"] if s["code"] == code)["completed"]
        + next(s for s in dt["overall"]["stages"] if s["code"] == code)["completed"]
        for code in stages
    }
    # working days: the sums agree (average × completed)
    assert top["overall"]["average_working_days"] * 4 == (
        ty["overall"]["average_working_days"] * 3 + dt["overall"]["average_working_days"] * 1
    )


def test_a_full_refresh_gives_the_same_unit_rows(province):
    def rows():
        return sorted(
            UnitDailyStat.objects.values_list(
                "day", "unit__code", "category", "stage", "accepted", "completed", "on_time", "working_days_sum"
            )
        )

    before = rows()
    assert {r[1] for r in before} == {
        "ty-jinyuan",
        "ty-xiaodian",
        "ty-yingze",
        "dt-pingcheng",
    }  # the applications' own units
    with at("2026-10-16", "19:30"):
        refresh(full=True)
    assert rows() == before


def test_the_page_shows_the_chosen_unit_and_keeps_it_in_links(province):
    with at("2026-10-16", "19:30"):
        r = Client().get("/statistics/", {**RANGE, "unit": "ty-jinyuan"})
    html = r.content.decode()
    assert r.status_code == 200
    assert re.search(r'data-stat="accepted">3<', html) and re.search(r'data-stat="completed">2<', html)
    assert 'id="statistics-unit">晋源区供电公司<' in html
    assert 'id="open-company-only"' in html
    assert 'id="satisfaction-company-only">此项仅公布全公司数字，不分单位。<' in html  # follow-up calls: company-wide
    assert re.search(r'<option value="ty-jinyuan" selected>', html)
    assert "\u3000\u3000晋源区供电公司</option>" in html  # counties under their city
    assert "unit=ty-jinyuan" in re.search(r'id="download-csv" href="([^"]+)"', html).group(1)
    assert "unit=ty-jinyuan" in re.search(r'id="download-xlsx" href="([^"]+)"', html).group(1)
    with at("2026-10-16", "19:30"):
        text = Client().get("/statistics/download.csv", {**RANGE, "unit": "dt"}).content.decode()[1:]
        whole_page = Client().get("/statistics/", RANGE).content.decode()
    by = {(row[0], row[1]): row for row in csv.reader(io.StringIO(text))}
    assert by[("全部类别", "整体")][2:6] == ["1", "1", "1", "100.00"]
    assert re.search(r'data-stat="accepted">6<', whole_page) and 'company-only"' not in whole_page


def test_the_api_unit_filter(province, api_as):
    client = api_as(None)
    with at("2026-10-16", "19:30"):
        ty = client.get("/api/v1/public/statistics", **{"from": "2026-09-28", "to": "2026-10-16", "unit": "ty"})
        top = client.get("/api/v1/public/statistics", **{"from": "2026-09-28", "to": "2026-10-16", "unit": "sx"})
        bad = client.get("/api/v1/public/statistics", **{"from": "2026-09-28", "to": "2026-10-16", "unit": "nowhere"})
    assert ty.status_code == 200, ty.content
    body = ty.json()
    assert body["unit"] == "ty"
    assert (body["overall"]["accepted"], body["overall"]["completed"], body["overall"]["open_past_limit"]) == (
        5,
        3,
        None,
    )
    assert body["snapshot_on"] is None
    assert top.json()["unit"] is None and top.json()["overall"]["open_past_limit"] == 1
    assert top.json()["overall"]["accepted"] == 6
    assert bad.status_code == 422
    assert bad.json()["fields"] == {"unit": ["没有此代码的单位。"]}


def test_a_unit_page_costs_what_the_whole_company_page_costs(province, django_assert_max_num_queries):
    """Six queries (the same as without a unit: tests/test_openinfo_statistics.py), then one while cached."""
    with at("2026-10-16", "19:30"):
        with django_assert_max_num_queries(6):
            Client().get("/statistics/", {**RANGE, "unit": "ty"})
        with django_assert_max_num_queries(1):
            Client().get("/statistics/", {**RANGE, "unit": "ty"})


def test_a_single_company_stores_no_unit_rows(personas):
    """Every application in the one (top) unit: the statistics are DailyStat's, nothing more is kept."""
    build(personas)
    assert UnitDailyStat.objects.count() == 0
    with at("2026-10-16", "19:30"):
        from datetime import date

        top = Application.objects.values_list("unit_id", flat=True).first()
        assert whole(statistics(date(2026, 9, 28), date(2026, 10, 16), None, top)) == (6, 4, 3, 1)


def test_the_incremental_refresh_rebuilds_the_changed_units_as_a_full_one_would():
    """On generated load over 20 counties: the incremental refresh (which rebuilds only the unit
    rows of the (day, unit) pairs whose facts changed) ends with the rows a full rebuild makes,
    after open applications moved between counties."""
    from datetime import datetime
    from io import StringIO
    from zoneinfo import ZoneInfo

    import time_machine
    from django.core.management import call_command

    from sunshine.accounts.models import Unit
    from sunshine.applications.models import OPEN_STATUSES

    def rows():
        return sorted(
            UnitDailyStat.objects.values_list(
                "day", "unit_id", "category", "stage", "accepted", "completed", "on_time", "late", "working_days_sum"
            )
        )

    now = datetime(2026, 11, 27, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(now, tick=False):
        call_command("generate_load", applications=400, seed=3, batch_size=200, managers=20, stdout=StringIO())
        refresh()
        first = rows()
        moving = list(
            Application.objects.filter(status__in=OPEN_STATUSES).order_by("pk").values_list("number", "unit_id")[:12]
        )
        counties = list(
            Unit.objects.filter(pk__in=Application.objects.values("unit_id")).order_by("pk").values_list("code", "pk")
        )
        assert len(counties) == 20 and len(moving) == 12
        for i, (number, unit_id) in enumerate(moving):
            code = next(c for c, pk in counties[i % 20 :] + counties if pk != unit_id)
            services.move_unit(number, None, unit_code=code, reason="测试")
        refresh()
        incremental = rows()
        refresh(full=True)
        assert incremental == rows()
    assert incremental != first
    assert len({r[1] for r in incremental}) == 20
