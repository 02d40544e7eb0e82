"""The statistics of the hand-computed data set (see test_metrics) as the public sees them: the
API, the page, and the CSV and xlsx downloads read back; and the page never reads applications."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from openpyxl import load_workbook

from tests.test_metrics import at, build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _chinese():
    """Selectors outside a request speak the active language: Chinese, whatever ran before."""
    with translation.override("zh-hans"):
        yield


RANGE = {"from_date": "2026-09-28", "to_date": "2026-10-16"}


@pytest.fixture
def dataset(personas):
    return build(personas)


def test_the_api_gives_the_hand_computed_numbers(dataset, api_as):
    with at("2026-10-16", "19:00"):
        r = api_as(None).get("/api/v1/public/statistics", **{"from": "2026-09-28", "to": "2026-10-16"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["from"], body["to"], body["snapshot_on"]) == ("2026-09-28", "2026-10-16", "2026-10-16")
    o = body["overall"]
    assert {k: o[k] for k in o if k != "stages"} == {
        "accepted": 6,
        "completed": 4,
        "on_time": 3,
        "on_time_rate": 75,
        "completed_late": 1,
        "open_past_limit": 1,
        "average_working_days": 5,
        "median_working_days": 5,
        "average_calendar_days": 11.5,
        "median_calendar_days": 12,
    }
    lv = next(c for c in body["categories"] if c["category"] == "lv_residential")
    assert (lv["on_time_rate"], lv["average_calendar_days"], lv["median_calendar_days"]) == (66.67, 13.33, 13)
    survey = next(s for s in lv["stages"] if s["code"] == "survey")
    assert (survey["completed"], survey["on_time_rate"], survey["average_working_days"], survey["open_past_limit"]) == (
        3,
        66.67,
        2.67,
        1,
    )
    hv = next(c for c in body["categories"] if c["category"] == "hv_single")
    assert hv["on_time_rate"] is None and hv["average_working_days"] is None  # no data, never zero
    assert body["satisfaction"] is None  # no follow-up call answered: "no data yet"
    one = (
        api_as(None)
        .get("/api/v1/public/statistics", **{"from": "2026-09-28", "to": "2026-10-16", "category": "lv_residential"})
        .json()
    )
    assert [c["category"] for c in one["categories"]] == ["lv_residential"] and one["overall"]["accepted"] == 4


def test_bad_ranges_are_refused(api_as):
    client = api_as(None)
    r = client.get("/api/v1/public/statistics", **{"from": "2026-10-16", "to": "2026-09-28"})
    assert r.status_code == 422 and list(r.json()["fields"]) == ["from"]
    r = client.get("/api/v1/public/statistics", **{"from": "2020-01-01", "to": "2026-10-16"})
    assert r.status_code == 422 and list(r.json()["fields"]) == ["to"]
    assert client.get("/api/v1/public/statistics", **{"from": "yesterday"}).status_code == 422
    assert client.get("/api/v1/public/statistics", category="nuclear").status_code == 422


def figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-stat="([a-z_]+)">([^<]+)<', html))


def test_the_page_shows_the_numbers_and_reads_only_aggregates(dataset):
    client = Client()
    with at("2026-10-16", "19:00"), CaptureQueriesContext(connection) as ctx:
        r = client.get("/statistics/", RANGE)
    html = r.content.decode()
    assert r.status_code == 200
    sql = [q["sql"] for q in ctx.captured_queries]
    assert not any("applications_" in s for s in sql), sql
    assert len(sql) == 6
    assert figures(html) == {
        "accepted": "6",
        "completed": "4",
        "on_time_rate": "75.00%",
        "average_working_days": "5.00",
        "completed_late": "1",
        "open_past_limit": "1",
    }
    lv = html[html.index('data-category="lv_residential"') :]
    survey = lv[lv.index('data-stage="survey"') : lv.index("</tr>", lv.index('data-stage="survey"'))]
    assert re.findall(r'<td class="num"[^>]*>([^<]+)</td>', survey) == ["3", "66.67%", "1", "1", "2.67", "2.00"]
    assert "平均 13.33，中位数 13.00" in lv
    assert "暂无数据" in html  # satisfaction
    assert 'id="chart-data" type="application/json"' in html
    assert "style=" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag


def test_the_page_for_a_month(dataset):
    with at("2026-10-16", "19:00"):
        html = Client().get("/statistics/", {"month": "2026-10"}).content.decode()
    assert "2026-10-01" in html and "2026-10-31" in html
    assert figures(html)["accepted"] == "2" and figures(html)["completed"] == "4"


def test_the_page_without_data_says_so_instead_of_zero():
    with at("2026-10-16", "19:00"):
        html = Client().get("/statistics/").content.decode()
    f = figures(html)
    assert (
        f["on_time_rate"] == "暂无数据"
        and f["average_working_days"] == "暂无数据"
        and f["open_past_limit"] == "暂无数据"
    )


def test_the_page_costs_the_same_with_more_applications(personas, django_assert_max_num_queries):
    """The page's queries are constant: six, then one while cached, whatever was refreshed."""
    build(personas)
    with at("2026-10-16", "19:00"):
        with django_assert_max_num_queries(6):
            Client().get("/statistics/", RANGE)
        with django_assert_max_num_queries(1):
            Client().get("/statistics/", RANGE)


def test_csv_and_xlsx_carry_the_same_numbers(dataset):
    client = Client()
    with at("2026-10-16", "19:00"):
        r = client.get("/statistics/download.csv", RANGE)
        x = client.get("/statistics/download.xlsx", RANGE)
    assert r["Content-Disposition"] == 'attachment; filename="statistics-20260928-20261016.csv"'
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:4] == ["客户类别", "环节", "受理数", "办结数"]
    by = {(row[0], row[1]): row for row in rows[1:]}
    assert by[("全部类别", "整体")][2:] == ["6", "4", "3", "75.00", "1", "1", "5.00", "5.00", "11.50", "12.00"]
    assert by[("低压居民", "现场勘查")][2:] == ["", "3", "2", "66.67", "1", "1", "2.67", "2.00", "", ""]
    assert by[("高压单电源", "整体")][2:] == ["1", "0", "0", "", "0", "0", "", "", "", ""]
    wb = load_workbook(io.BytesIO(x.content))
    ws = wb.active
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    xby = {(v[0], v[1]): v for v in values}
    assert xby[("全部类别", "整体")][2:] == [6, 4, 3, 75, 1, 1, 5, 5, 11.5, 12]
    assert xby[("低压居民", "现场勘查")][2:] == [None, 3, 2, 66.67, 1, 1, 2.67, 2, None, None]
    assert len(values) == len(rows) - 1


def test_without_a_range_the_api_gives_this_month_so_far(dataset, api_as):
    with at("2026-10-16", "19:00"):
        body = api_as(None).get("/api/v1/public/statistics").json()
    assert (body["from"], body["to"]) == ("2026-10-01", "2026-10-16")
    assert (body["overall"]["accepted"], body["overall"]["completed"]) == (2, 4)


@pytest.mark.parametrize(
    ("today", "first", "last"),
    [
        ("2026-12-04", "2026-11-01", "2026-11-30"),
        ("2027-01-01", "2026-12-01", "2026-12-31"),
        ("2026-03-31", "2026-02-01", "2026-02-28"),
    ],
)
def test_without_a_period_the_page_shows_the_last_full_month(today, first, last):
    """Four days of the month so far say nothing: the default is the last whole month."""
    with at(today, "09:00"):
        html = Client().get("/statistics/").content.decode()
    assert f"统计期间：{first} 至 {last}。" in html
    assert f'value="{first[:7]}"' in html
