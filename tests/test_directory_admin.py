"""The admin pages of the fee catalogue and the contractors: Chinese, credit codes checked,
pinyin search key filled in, charges and choices read-only."""

from __future__ import annotations

import pytest
from django.test import Client

from sunshine.directory.models import Contractor
from sunshine.directory.seed import demo_credit_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(personas) -> Client:
    c = Client()
    c.force_login(personas["admin"])
    return c


def test_the_catalogue_admin_speaks_chinese(admin_client):
    html = admin_client.get("/admin/directory/feeschedule/1/change/").content.decode()
    assert "收费项目" in html and "高可靠性供电费（10 kV）" in html and "发布文件" in html
    assert admin_client.get("/admin/directory/abolishedcharge/").status_code == 200


def test_a_contractor_added_in_the_admin_gets_its_pinyin_and_a_checked_credit_code(admin_client):
    form = {
        "kind": "construction",
        "name": "示例晋阳电力安装有限公司",
        "credit_code": "91140100MA0DEM00XX",
        "licence_class": "ims_4",
        "licence_number": "示例-1",
        "licence_expires_on": "2028-01-31",
        "contact_phone": "0351-5559999",
        "area_served": "太原市",
        "active": "on",
    }
    bad = admin_client.post("/admin/directory/contractor/add/", form)
    assert bad.status_code == 200 and "统一社会信用代码有误。" in bad.content.decode()
    assert Contractor.objects.count() == 0
    form["credit_code"] = demo_credit_code(99)
    ok = admin_client.post("/admin/directory/contractor/add/", form)
    assert ok.status_code == 302
    unit = Contractor.objects.get()
    assert unit.name_pinyin == "shilijinyangdianlianzhuangyouxiangongsi sljydlazyxgs"


def test_charges_and_choices_cannot_be_added_in_the_admin(admin_client):
    assert admin_client.get("/admin/directory/charge/add/").status_code == 403
    assert admin_client.get("/admin/directory/contractorchoice/add/").status_code == 403
    assert admin_client.get("/admin/directory/charge/").status_code == 200
