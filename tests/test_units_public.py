"""The public pages per unit (issue 19): the hotline and the service halls of a province, a city
or a county, chosen by the visitor; the demo's province (sunshine/ops/demo/units.py)."""

from __future__ import annotations

import pytest

from sunshine.accounts import units
from sunshine.accounts.models import Unit, UnitKind
from sunshine.ops.demo.units import ensure_units

pytestmark = pytest.mark.django_db


@pytest.fixture
def province(settings):
    settings.SUNSHINE_HOTLINE = "0351-4000000"
    found = ensure_units()
    hall = found["ty-jinyuan-jinci"]
    hall.address = "太原市晋源区晋祠路一段8号"
    units.save_unit(hall, None)
    units.save_unit(
        Unit(
            code="dt-yungang-xc",
            name="新荣供电所",
            kind=UnitKind.STATION,
            parent=found["dt-yungang"],
            hotline="0352-6000000",
        ),
        None,
    )
    return found


def page(client, **params):
    r = client.get("/service-halls/", params)
    assert r.status_code == 200
    return r


def test_each_level_shows_its_hotline_and_the_halls_under_it(client, province):
    top = page(client)
    assert (top.context["unit"].code, top.context["hotline"]) == ("sx", "0351-4000000")  # none of its own
    assert [(h["name"], h["address"], h["hotline"]) for h in top.context["halls"]] == [
        ("新荣供电所", "", "0352-6000000"),
        ("晋祠营业厅", "太原市晋源区晋祠路一段8号", "0351-12398"),  # 太原's hotline
    ]
    city = page(client, unit="ty")
    assert city.context["hotline"] == "0351-12398"
    assert [h["name"] for h in city.context["halls"]] == ["晋祠营业厅"]
    html = city.content.decode()
    assert '<a class="hotline" id="unit-hotline" href="tel:0351-12398">0351-12398</a>' in html
    assert "太原市晋源区晋祠路一段8号" in html
    county = page(client, unit="ty-xiaodian")  # no hall, no hotline of its own: the city's
    assert (county.context["hotline"], county.context["halls"]) == ("0351-12398", [])
    assert "本单位暂未登记营业厅，请拨打上面的服务热线。" in county.content.decode()
    assert page(client, unit="dt-yungang").context["hotline"] == "0352-12398"


def test_the_selector_offers_the_company_levels_only(client, province):
    r = page(client)
    codes = [code for code, _label in r.context["choices"]]
    assert codes[:3] == ["sx", "dt", "dt-pingcheng"]
    assert "ty-jinyuan-jinci" not in codes and "dt-yungang-xc" not in codes
    assert ("ty-jinyuan", "\u3000\u3000晋源区供电公司") in r.context["choices"]
    # a hall, or an unknown code: the top unit
    assert page(client, unit="ty-jinyuan-jinci").context["unit"].code == "sx"
    assert page(client, unit="nope").context["unit"].code == "sx"


def test_a_single_company_has_no_selector(client, settings):
    settings.SUNSHINE_HOTLINE = "0351-4000000"
    r = page(client)
    assert (r.context["choices"], r.context["hotline"], r.context["halls"]) == ([], "0351-4000000", [])
    assert 'id="place-unit"' not in r.content.decode()
