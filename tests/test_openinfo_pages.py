"""The public fee and contractor pages: content, the calculator, filters, neutral order,
language, constant query counts and no inline script or style."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.test import Client

from sunshine.directory.models import Contractor
from sunshine.directory.seed import seed_demo_contractors

pytestmark = pytest.mark.django_db


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


def assert_no_inline_code(html: str) -> None:
    assert "style=" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag


def test_the_fee_page_shows_the_catalogue_abolished_charges_and_an_exact_calculation(django_assert_max_num_queries):
    client = Client()
    with at("2026-11-27"), django_assert_max_num_queries(4):
        r = client.get("/fees/", {"capacity_kva": "1250.5", "voltage_level": "10kV"})
    html = r.content.decode()
    assert r.status_code == 200
    assert '<strong id="calc-result">206332.50</strong>' in html
    assert "= 1250.5 kVA × 165.00 元/kVA" in html
    assert "高可靠性供电费（10 kV）" in html and "165.00 元/kVA" in html
    assert "移表费" in html and "国办函〔2020〕129号" in html
    assert 'for="id_capacity_kva"' in html and 'for="id_voltage_level"' in html and 'for="id_on"' in html
    assert_no_inline_code(html)


def test_the_calculator_explains_bad_input_in_chinese():
    r = Client().get("/fees/", {"capacity_kva": "-3", "voltage_level": "10kV"})
    html = r.content.decode()
    assert 'id="calc-result"' not in html
    assert "确保该值大于或等于0.01" in html


def test_the_date_selector_shows_the_catalogue_of_that_day():
    html = Client().get("/fees/", {"on": "2020-06-01"}).content.decode()
    assert "该日期没有执行中的收费目录。" in html and "高可靠性供电费（10 kV）" not in html


def test_the_fee_page_speaks_english_on_request():
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/fees/").content.decode()
    assert "High-reliability supply fee (10 kV)" in html and "Meter relocation fee" in html


@pytest.fixture
def units(db):
    seed_demo_contractors(Contractor)


def test_the_contractor_page_lists_qualified_units_with_the_no_designation_notice(units, django_assert_max_num_queries):
    client = Client()
    with at("2026-11-27"), django_assert_max_num_queries(1):
        r = client.get("/contractors/", {"kind": "construction"})
    html = r.content.decode()
    assert r.status_code == 200
    assert html.count("data-credit-code=") == 5
    assert "示例杏花岭机电安装有限公司" not in html  # licence expired
    assert "本公司不指定设计单位、不指定施工单位、不指定设备材料供应单位" in html
    assert 'href="/complaints/"' in html and "0351-12398" in html
    assert "每次访问重新随机排序" in html
    seed = re.search(r'name="seed" value="([0-9a-f]+)"', html).group(1)
    order = re.findall(r'data-credit-code="([^"]+)"', html)
    again = client.get("/contractors/", {"kind": "construction", "seed": seed}).content.decode()
    assert re.findall(r'data-credit-code="([^"]+)"', again) == order
    assert_no_inline_code(html)


def test_the_query_count_does_not_grow_with_the_number_of_units(units, django_assert_max_num_queries):
    for i in range(40):
        Contractor.objects.create(
            kind="supply",
            name=f"示例批量{i}",
            credit_code=f"X{i:017d}",
            licence_class="business",
            contact_phone="0351-5550000",
            area_served="太原",
        )
    with django_assert_max_num_queries(1):
        r = Client().get("/contractors/")
    assert r.content.decode().count("data-credit-code=") == 20  # first page
    assert 'rel="next"' in r.content.decode()


def test_the_contractor_filter_by_licence_class_and_text(units):
    with at("2026-11-27"):
        html = Client().get("/contractors/", {"licence_class": "ims_2"}).content.decode()
        assert re.findall(r'<h2 class="contractor-name">([^<]+)</h2>', html) == ["示例晋祠输变电工程有限公司"]
        html = Client().get("/contractors/", {"q": "fenhe"}).content.decode()
        assert re.findall(r'<h2 class="contractor-name">([^<]+)</h2>', html) == ["示例汾河工程设计院"]
