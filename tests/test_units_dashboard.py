"""The dashboard per unit (issue 19): a leader's dashboard counts their subtree, with the units
directly below theirs as rows; those above a unit choose it with a selector (never one outside
their own), and the queue links carry it. The world of tests/test_units.py: 晋源区 two open
applications, 小店区 one, 平城区 (大同) one."""

from __future__ import annotations

import pytest
import time_machine

from tests import test_units

# the fixtures of tests/test_units.py
areas = test_units.areas
world = test_units.world

pytestmark = pytest.mark.django_db
NOW = "2026-11-03 10:00 +0800"


def dashboard(client, user, **params):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        page = client.get("/workbench/dashboard/", params)
    assert page.status_code == 200
    return page


def by_unit(page) -> list[tuple[str, int]]:
    return [(r["code"], r["open"]) for r in page.context["by_unit"]]


def test_each_leader_sees_their_subtree_and_the_units_below_it(client, world):
    province = dashboard(client, world["province_auditor"])
    assert province.context["totals"]["open"] == 4
    assert by_unit(province) == [("dt", 1), ("ty", 3)]
    city = dashboard(client, world["city_leader"])
    assert (city.context["unit"].code, city.context["totals"]["open"]) == ("ty", 3)
    assert by_unit(city) == [("ty-jinyuan", 2), ("ty-xiaodian", 1)]
    html = city.content.decode()
    assert '<span id="dashboard-unit">太原供电公司</span>' in html
    assert [code for code, _label in city.context["unit_choices"]] == [
        "ty",
        "ty-jinyuan",
        "ty-jinyuan-jinci",
        "ty-xiaodian",
    ]
    assert '<option value="ty-jinyuan-jinci">\u3000\u3000晋祠营业厅</option>' in html
    county = dashboard(client, world["county_leader"])
    assert county.context["totals"]["open"] == 2
    assert by_unit(county) == [("ty-jinyuan-jinci", 0)]


def test_the_selector_narrows_to_a_unit_below_and_never_reaches_outside(client, world):
    chosen = dashboard(client, world["city_leader"], unit="ty-xiaodian")
    assert (chosen.context["unit"].code, chosen.context["totals"]["open"]) == ("ty-xiaodian", 1)
    assert chosen.context["by_unit"] == []
    html = chosen.content.decode()
    assert 'href="/workbench/team/?unit=ty-xiaodian&amp;overdue=1"' in html
    # another city's unit, or an unknown code: the leader's own unit
    for code in ("dt-pingcheng", "dt", "sx", "nope"):
        page = dashboard(client, world["city_leader"], unit=code)
        assert (page.context["unit"].code, page.context["totals"]["open"]) == ("ty", 3)
    # a county leader has nothing to choose: no selector
    county = dashboard(client, world["county_leader"], unit="ty")
    assert county.context["unit"].code == "ty-jinyuan"


def test_the_team_queue_takes_the_unit_filter_within_the_viewers_scope(client, world):
    client.force_login(world["city_leader"])
    with time_machine.travel(NOW, tick=False):
        xiaodian = client.get("/workbench/team/", {"unit": "ty-xiaodian"})
        outside = client.get("/workbench/team/", {"unit": "dt-pingcheng"})
        everything = client.get("/workbench/team/")
    assert "共 1 件申请" in xiaodian.content.decode()
    assert "没有符合条件的申请。" in outside.content.decode()
    assert "共 3 件申请" in everything.content.decode()
