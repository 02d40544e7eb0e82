"""Reports per unit (issue 19): the story of tests/test_reports.py (1–15 October 2026) spread over
two districts of 太原, ranked in the city's half-month and the province's; a unit's page and its
ad-hoc report; who may see which report.

Units of the story's applications: 晋源区 A1, B1, B3; 小店区 B2, B4, B5, B6, B7, B8. In the period:
  晋源区 accepted B3 (1); completed B1 (5 wd, on time: 100.0%, average 5.0); B3 overdue at the end;
         promises broken 0 late + 1 overdue = 1.
  小店区 accepted B2, B4, B5, B6, B7 (5); completed none; B8 overdue at the end: 1 broken.
  大同 nothing. Ranked by the on-time rate, a unit with nothing completed last.
"""

from __future__ import annotations

from datetime import date

import pytest

from sunshine.accounts.models import Role
from sunshine.applications.models import Application
from sunshine.reports.models import Report
from sunshine.reports.sections import Computer
from tests.conftest import make_user
from tests.test_reports import at, build_story

pytestmark = pytest.mark.django_db

JINYUAN = ["A1", "B1", "B3"]


@pytest.fixture
def story(personas, province, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    n = build_story()
    Application.objects.filter(number__in=[n[k] for k in JINYUAN]).update(unit=province["ty-jinyuan"])
    Application.objects.exclude(number__in=[n[k] for k in JINYUAN]).update(unit=province["ty-xiaodian"])
    return n


def ranking(filters: dict) -> list[list]:
    data = Computer(date(2026, 10, 1), date(2026, 10, 15), filters).compute()
    section = next(s for s in data["sections"] if s["key"] == "units")
    return section["rows"]


def test_the_city_ranks_its_districts_and_the_province_its_cities(story):
    with at("2026-10-16"):
        assert ranking({"unit": "ty"}) == [
            [1, "晋源区供电公司", 1, 1, 100.0, 5.0, 0, 1],
            [2, "小店区供电公司", 5, 0, None, None, 0, 1],
        ]
        assert ranking({}) == [
            [1, "太原供电公司", 6, 1, 100.0, 5.0, 0, 2],
            [2, "大同供电公司", 0, 0, None, None, 0, 0],
        ]


def test_a_district_has_no_ranking_section_and_its_own_figures(story):
    with at("2026-10-16"):
        data = Computer(date(2026, 10, 1), date(2026, 10, 15), {"unit": "ty-xiaodian"}).compute()
    keys = [s["key"] for s in data["sections"]]
    assert "units" not in keys
    headline = {row[0]: row[1] for row in data["sections"][0]["rows"]}
    assert (headline["受理申请（件）"], headline["办结申请（件）"], headline["期末超期环节（个）"]) == (5, 0, 1)
    assert data["meta"]["filters_zh"] == "单位：小店区供电公司"


def test_the_unit_page_walks_down_the_tree_within_the_viewers_units(story, client, province):
    city = make_user("city_leader", Role.LEADER, unit=province["ty"])
    county = make_user("county_leader", Role.LEADER, unit=province["ty-xiaodian"])
    client.force_login(city)
    with at("2026-10-16"):
        page = client.get("/workbench/reports/units/", {"period": "2026-10-01"})
    assert page.status_code == 200
    html = page.content.decode()
    assert [r["code"] for r in page.context["ranking"]] == ["ty-jinyuan", "ty-xiaodian"]
    assert page.context["unit"].code == "ty"
    assert page.context["figures"]["accepted"] == 6
    assert '<a href="?unit=ty-jinyuan&amp;period=2026-10-01">晋源区供电公司</a>' in html
    with at("2026-10-16"):
        down = client.get("/workbench/reports/units/", {"unit": "ty-jinyuan", "period": "2026-10-01"})
    assert down.status_code == 200
    assert (down.context["figures"]["completed"], down.context["figures"]["app_on_time"]) == (1, 100.0)
    assert [(r["code"], r["completed"], r["rank"]) for r in down.context["ranking"]] == [("ty-jinyuan-jinci", 0, 1)]
    client.force_login(county)
    with at("2026-10-16"):
        assert client.get("/workbench/reports/units/", {"unit": "ty"}).status_code == 403
        assert client.get("/workbench/reports/units/", {"unit": "ty-jinyuan"}).status_code == 403
        own = client.get("/workbench/reports/units/", {"period": "2026-10-01"})
    assert own.status_code == 200
    assert own.context["unit"].code == "ty-xiaodian"


def test_reports_of_the_installation_and_of_other_units_are_refused(story, client, province, personas):
    from sunshine.reports import services

    county = make_user("county_leader", Role.LEADER, unit=province["ty-xiaodian"])
    with at("2026-10-16"):
        whole, _created = services.generate_half_month(date(2026, 10, 1), email=False)
    client.force_login(county)
    assert client.get(f"/workbench/reports/{whole.pk}/").status_code == 403
    with at("2026-10-16"):
        # Without a unit the ad-hoc report is of the county's; another unit is refused.
        made = client.post("/workbench/reports/adhoc/", {"period_start": "2026-10-01", "period_end": "2026-10-15"})
        refused = client.post(
            "/workbench/reports/adhoc/",
            {"period_start": "2026-10-01", "period_end": "2026-10-15", "unit": "ty-jinyuan"},
        )
    assert made.status_code == 302
    assert refused.status_code == 403
    adhoc = Report.objects.get(kind="adhoc")
    assert adhoc.filters == {"unit": "ty-xiaodian"}
    assert client.get(f"/workbench/reports/{adhoc.pk}/").status_code == 200
    client.force_login(personas["leader"])  # the top unit: every report
    assert client.get(f"/workbench/reports/{whole.pk}/").status_code == 200
    assert client.get(f"/workbench/reports/{adhoc.pk}/").status_code == 200
    listing = client.get("/workbench/reports/")
    assert [p["start"].isoformat() for p in listing.context["periods"]] == ["2026-10-01"]
    client.force_login(county)
    assert client.get("/workbench/reports/").context["periods"] == []
