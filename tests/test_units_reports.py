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

from sunshine.accounts.models import Role, User
from sunshine.applications.models import Application
from sunshine.reports.models import Report
from sunshine.reports.sections import Computer
from tests.conftest import ApiClient, make_user
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


# --- the half-month stored per unit -------------------------------------------------------------


def test_the_scheduler_stores_each_citys_and_countys_half_month_for_its_own_leaders(story, province, mailoutbox):
    from django_tasks_db.models import DBTaskResult

    from sunshine.reports import services
    from sunshine.reports.tasks import generate_unit_report

    city = make_user("city_leader", Role.LEADER, unit=province["ty"], email="city@example.cn")
    county = make_user("county_leader", Role.LEADER, unit=province["ty-xiaodian"], email="county@example.cn")
    with at("2026-10-16"):
        whole = services.generate_due()
    assert (whole.unit_id, whole.filters) == (province["sx"].pk, {})
    queued = sorted(
        tuple(r.args_kwargs["args"])
        for r in DBTaskResult.objects.filter(task_path="sunshine.reports.tasks.generate_unit_report")
    )
    reporting = ["ty", "ty-jinyuan", "ty-xiaodian", "dt", "dt-pingcheng"]  # not the hall 晋祠营业厅
    assert queued == sorted((province[c].pk, "2026-10-01") for c in reporting)
    with at("2026-10-16"):
        for unit_id, start in queued:
            generate_unit_report.call(unit_id, start)  # what the workers do
        generate_unit_report.call(province["ty"].pk, "2026-10-01")  # twice: the same report
    stored = {r.unit.code: r for r in Report.objects.filter(kind="half_month").select_related("unit")}
    assert sorted(stored) == sorted(["sx", *reporting])
    ty = stored["ty"]
    assert (ty.filters, ty.version, ty.status) == ({"unit": "ty"}, 1, "done")
    assert ty.data["meta"]["title"] == "太原供电公司2026年10月上半月业扩报装工作半月报（10-01至10-15）"
    units_section = next(s for s in ty.data["sections"] if s["key"] == "units")
    assert [row[1] for row in units_section["rows"]] == ["晋源区供电公司", "小店区供电公司"]
    # each report went to its own unit's leaders (the top unit's: the story's leader)
    sent = sorted((m.subject, tuple(m.to)) for m in mailoutbox)
    assert (ty.data["meta"]["title"], ("city@example.cn",)) in sent
    assert (stored["ty-xiaodian"].data["meta"]["title"], ("county@example.cn",)) in sent
    assert all("city@example.cn" not in to for subject, to in sent if subject != ty.data["meta"]["title"])

    # the API lists a leader's unit's reports and those below it; another unit's is refused
    api_as = {u.username: ApiClient(u) for u in (city, county, User.objects.get(username="leader"))}.__getitem__
    listed = api_as("county_leader").get("/api/v1/reports").json()
    assert [(r["kind"], r["unit"]) for r in listed] == [("half_month", "ty-xiaodian")]
    assert api_as("county_leader").get(f"/api/v1/reports/{ty.pk}").status_code == 403
    assert api_as("county_leader").get(f"/api/v1/reports/{whole.pk}").status_code == 403
    city_listed = {r["unit"] for r in api_as("city_leader").get("/api/v1/reports").json()}
    assert city_listed == {"ty", "ty-jinyuan", "ty-xiaodian"}
    assert len(api_as("leader").get("/api/v1/reports").json()) == 6
    assert county.unit_id == province["ty-xiaodian"].pk and city.unit_id == province["ty"].pk


def test_a_leader_lists_their_units_half_months_and_opens_them_from_the_unit_page(story, client, province):
    from sunshine.reports import services

    city = make_user("city_leader", Role.LEADER, unit=province["ty"])
    county = make_user("county_leader", Role.LEADER, unit=province["ty-jinyuan"])
    with at("2026-10-16"):
        ty, _c = services.generate_half_month(date(2026, 10, 1), email=False, unit=province["ty"])
        jinyuan, _c = services.generate_half_month(date(2026, 10, 1), email=False, unit=province["ty-jinyuan"])
        again, created = services.generate_half_month(date(2026, 10, 1), email=False, unit=province["ty"])
        assert (again.pk, created) == (ty.pk, False)
        v2 = services.regenerate(ty.pk, actor=city, reason="补录投诉")
    assert (v2.unit_id, v2.version, v2.filters) == (province["ty"].pk, 2, {"unit": "ty"})
    client.force_login(city)
    listing = client.get("/workbench/reports/")
    assert [[r.pk for r in p["versions"]] for p in listing.context["periods"]] == [[v2.pk, ty.pk]]
    assert '<span id="half-unit">太原供电公司</span>' in listing.content.decode()
    detail = client.get(f"/workbench/reports/{ty.pk}/")
    assert [r.pk for r in detail.context["versions"]] == [v2.pk, ty.pk]
    assert client.get(f"/workbench/reports/{jinyuan.pk}/").status_code == 200  # below the city
    with at("2026-10-16"):
        page = client.get("/workbench/reports/units/", {"unit": "ty-jinyuan", "period": "2026-10-01"})
    assert page.context["stored"].pk == jinyuan.pk
    assert f'<a href="/workbench/reports/{jinyuan.pk}/">本单位已存档的半月报（第 1 版）</a>' in page.content.decode()
    client.force_login(county)
    assert client.get(f"/workbench/reports/{ty.pk}/").status_code == 403
    assert [[r.pk for r in p["versions"]] for p in client.get("/workbench/reports/").context["periods"]] == [
        [jinyuan.pk]
    ]
    with at("2026-10-16"):
        page = client.get("/workbench/reports/units/", {"period": "2026-10-16"})
    assert page.context["stored"] is None
    assert "本单位这个半月的半月报尚未生成。" in page.content.decode()
