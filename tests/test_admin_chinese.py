"""The admin in Chinese: section headings of every app (ours and the libraries'), holiday names,
the people fields, and a stage's roles as ticks with their names instead of a JSON list."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.test_workbench_desk_admin import accept_one, lv_residential


@pytest.fixture
def admin_client(personas) -> Client:
    c = Client()
    c.force_login(personas["admin"])
    return c


@pytest.mark.django_db
def test_every_section_of_the_admin_index_is_named_in_chinese(admin_client):
    html = admin_client.get("/admin/").content.decode()
    headings = re.findall(r'<caption>\s*<a [^>]*class="section"[^>]*>([^<]+)</a>', html)
    assert "员工与服务区域" in headings and "工作日历" in headings and "登录记录" in headings
    assert "两步登录设备" in headings and "任务队列" in headings and "业务流程与时限" in headings
    assert [h for h in headings if re.search(r"[A-Za-z]{3,}", h)] == []


@pytest.mark.django_db
def test_holidays_are_named_in_chinese_and_the_year_shows_who_confirmed_it(admin_client):
    days = admin_client.get("/admin/workcalendar/calendarday/?date__year=2026&kind__exact=holiday").content.decode()
    assert "国庆节" in days and "National Day" not in days
    years = admin_client.get("/admin/workcalendar/calendaryear/").content.decode()
    assert "确认人" in years and "Confirmed by" not in years


@pytest.mark.django_db
def test_a_stage_s_roles_are_ticks_with_names_and_read_as_names_once_in_use(admin_client, personas):
    template = lv_residential()
    url = f"/admin/processes/processtemplate/{template.pk}/change/"
    editable = admin_client.get(url).content.decode()
    assert re.search(r'<input type="checkbox" name="stages-0-actor_roles" value="clerk"[^>]*checked', editable)
    assert "受理员" in editable and '["clerk"' not in editable
    accept_one(personas)
    locked = admin_client.get(url).content.decode()
    assert '["' not in locked and "受理员" in locked
