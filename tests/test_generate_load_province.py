"""generate_load spreads its applications over a province (sunshine/ops/province.py): 山西's 11
cities and 117 counties as units, each county with its area, managers, team lead and leader;
every application in a county, held by a manager of that county."""

from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from sunshine.accounts.models import Role, ServiceArea, Unit, UnitKind, User
from sunshine.applications.models import Application
from sunshine.ops import province

NOW = "2026-11-27 10:00 +0800"


def test_the_province_data_names_eleven_cities_and_their_counties_once():
    rows = province.counties()
    assert len(province.SHANXI) == 11
    assert len(rows) == 117
    assert len({r[3] for r in rows}) == 117  # unit codes
    assert len({r[5] for r in rows}) == 117  # division codes
    assert len({province.unit_name(r[1], r[4]) for r in rows}) == 117  # names (城区 of 阳泉 and 晋城)
    # a keyword names one county only: no county's full address start contains another's keyword
    for _c, city_name, _p, code, name, _d in rows:
        words = province.keywords(city_name, name).split(",")
        holders = [r[3] for r in rows if any(w in province.full_name(r[1], r[4]) for w in words)]
        assert holders == [code]
    assert province.keywords("运城", "绛县") == "运城市绛县"  # 新绛县 contains 绛县
    assert province.keywords("运城", "新绛县") == "运城市新绛县,新绛县"


@pytest.mark.django_db
def test_a_small_load_spreads_over_the_tree_each_application_in_a_county_with_its_managers():
    with time_machine.travel(NOW, tick=False):
        call_command("generate_load", applications=1200, seed=4, batch_size=400, stdout=StringIO())
    top = Unit.objects.get(parent__isnull=True)
    assert (top.code, top.name) == ("sx", "国网山西省电力公司")
    assert Unit.objects.filter(kind=UnitKind.CITY, parent=top).count() == 11
    counties = {u.pk: u for u in Unit.objects.filter(kind=UnitKind.COUNTY)}
    assert len(counties) == 117
    assert all(u.depth == 3 and u.parent.parent_id == top.pk for u in counties.values())
    # each county: its area, three managers serving that area only, a team lead and a leader
    areas = {a.unit_id: a for a in ServiceArea.objects.filter(unit__kind=UnitKind.COUNTY)}
    assert set(areas) == set(counties)
    managers = User.objects.filter(username__startswith="load_mgr", role=Role.CUSTOMER_MANAGER)
    assert managers.count() == 3 * 117
    assert Counter(managers.values_list("unit_id", flat=True)) == {pk: 3 for pk in counties}
    assert not managers.filter(serves_all_areas=True).exists()
    for m in managers.prefetch_related("areas"):
        assert [a.pk for a in m.areas.all()] == [areas[m.unit_id].pk]
    for area in areas.values():
        assert area.team_lead is not None and area.team_lead.unit_id == area.unit_id
    leaders = User.objects.filter(username__startswith="leader.", role=Role.LEADER)
    assert Counter(leaders.values_list("unit__kind", flat=True)) == {UnitKind.COUNTY: 117, UnitKind.CITY: 11}
    assert User.objects.get(username="leader.ty-jinyuan").unit.name == "晋源区供电公司"

    rows = list(Application.objects.values_list("unit_id", "customer_manager__unit_id", "area__unit_id", "address"))
    assert len(rows) == 1200
    for unit_id, manager_unit, area_unit, address in rows:
        assert unit_id in counties, address
        assert manager_unit == unit_id and area_unit == unit_id, address
        county = counties[unit_id]
        assert county.name.removesuffix("供电公司").removeprefix(county.parent.name[2:4]) in address
    per_county = Counter(unit_id for unit_id, *_ in rows)
    per_city = Counter(counties[u].parent.code for u in per_county.elements())
    assert len(per_city) == 11
    assert len(per_county) >= 110  # a county draws 4 to 16 of the 1,200 on average
    # urban districts draw more than rural counties
    xiaodian, loufan = (Unit.objects.get(code=c).pk for c in ("ty-xiaodian", "ty-loufan"))
    assert per_county[xiaodian] > per_county[loufan]


@pytest.mark.django_db
def test_a_second_load_reuses_the_tree_and_a_handful_of_managers_spreads_over_cities():
    with time_machine.travel(NOW, tick=False):
        call_command("generate_load", applications=100, seed=5, batch_size=50, managers=5, stdout=StringIO())
        units = Unit.objects.count()
        call_command("generate_load", applications=100, seed=6, batch_size=50, managers=5, stdout=StringIO())
    assert Unit.objects.count() == units == 1 + 11 + 117 + 1  # and the demo's hall 晋祠营业厅
    assert ServiceArea.objects.count() == 117
    cities = set(Application.objects.values_list("unit__parent__code", flat=True))
    assert cities == {"ty", "dt", "yq", "cz", "jc"}  # the first county of each of five cities
    assert Application.objects.values("customer_manager").distinct().count() == 5
