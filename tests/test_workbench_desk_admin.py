"""Reference data in the admin: staff and service areas in Chinese; a process version in use is
read-only and changes go into a new version with an effective date."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client

from sunshine.applications import services as app_services
from sunshine.applications.validation import validate_intake
from sunshine.processes import services
from sunshine.processes.models import ProcessTemplate, StageTemplate
from tests.conftest import intake_body

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def admin_client(personas) -> Client:
    c = Client()
    c.force_login(personas["admin"])
    return c


def lv_residential() -> ProcessTemplate:
    return ProcessTemplate.objects.get(category="lv_residential", version=1)


def accept_one(personas) -> None:
    with time_machine.travel(datetime(2026, 11, 20, 10, tzinfo=TZ), tick=False):
        app_services.intake(validate_intake(intake_body(), date(2026, 11, 20)), personas["clerk"])


@pytest.mark.django_db
def test_staff_and_areas_read_in_chinese(admin_client, personas):
    html = admin_client.get("/admin/accounts/user/").content.decode()
    assert "角色" in html and "接收新派单" in html and "服务区域" in html
    assert "晋源区" in html  # Alice's area in the list
    html = admin_client.get(f"/admin/accounts/user/{personas['alice'].pk}/change/").content.decode()
    assert "阳光业扩" in html and "办公电话" in html
    html = admin_client.get("/admin/accounts/servicearea/").content.decode()
    assert "客户经理" in html
    assert '<td class="field-manager_count">2</td>' in html


@pytest.mark.django_db
def test_a_version_in_use_is_read_only(admin_client, personas):
    template = lv_residential()
    url = f"/admin/processes/processtemplate/{template.pk}/change/"
    html = admin_client.get(url).content.decode()
    assert 'name="effective_from"' in html  # not used yet: editable
    accept_one(personas)
    assert services.in_use(template)
    listing = admin_client.get("/admin/processes/processtemplate/").content.decode()
    assert listing.count('alt="True"') == 1  # only the residential version 1 is in use
    html = admin_client.get(url).content.decode()
    assert 'name="effective_from"' not in html
    assert 'name="stages-0-time_limit_days"' not in html
    assert "已有申请按此版本受理，此版本只读" in html
    assert f"/admin/processes/processtemplate/{template.pk}/new-version/" in html
    # a crafted POST changes nothing
    survey = template.stages.get(code="survey")
    admin_client.post(url, {"effective_from": "2030-01-01", "stages-0-time_limit_days": "9"})
    survey.refresh_from_db()
    template.refresh_from_db()
    assert (survey.time_limit_days, template.effective_from) == (2, date(2020, 1, 1))
    # and it cannot be deleted
    assert admin_client.get(f"/admin/processes/processtemplate/{template.pk}/delete/").status_code == 403


@pytest.mark.django_db
def test_new_version_copies_the_stages_with_an_effective_date(admin_client, personas):
    template = lv_residential()
    accept_one(personas)
    with time_machine.travel(datetime(2026, 11, 27, 10, tzinfo=TZ), tick=False):
        r = admin_client.post(
            f"/admin/processes/processtemplate/{template.pk}/new-version/",
            {"effective_from": "2027-01-01", "source_note": "2027年新规"},
        )
    copy = ProcessTemplate.objects.get(category="lv_residential", version=2)
    assert r.status_code == 302 and r["Location"] == f"/admin/processes/processtemplate/{copy.pk}/change/"
    assert (copy.effective_from, copy.source_note, copy.end_to_end_limit_days) == (date(2027, 1, 1), "2027年新规", 5)
    fields = ["position", "code", "name_zh", "owner", "time_limit_days", "optional", "has_outcome", "actor_roles"]
    assert list(copy.stages.order_by("position").values_list(*fields)) == list(
        template.stages.order_by("position").values_list(*fields)
    )
    # the copy is not used yet: editable
    html = admin_client.get(r["Location"]).content.decode()
    assert 'name="effective_from"' in html and 'name="stages-0-time_limit_days"' in html


@pytest.mark.django_db
def test_new_version_refuses_a_past_date_and_creates_nothing(admin_client):
    template = lv_residential()
    before = StageTemplate.objects.count()
    with time_machine.travel(datetime(2026, 11, 27, 10, tzinfo=TZ), tick=False):
        r = admin_client.post(
            f"/admin/processes/processtemplate/{template.pk}/new-version/",
            {"effective_from": "2026-11-26", "source_note": "x"},
        )
        assert r.status_code == 200
        assert "新版本的生效日期不能早于今天（今天是 2026-11-27）。" in r.content.decode()
        with pytest.raises(ValidationError):
            services.new_version(template, effective_from=date(2026, 12, 1), source_note="  ")
    assert ProcessTemplate.objects.filter(category="lv_residential").count() == 1
    assert StageTemplate.objects.count() == before


@pytest.mark.django_db
def test_new_version_admin_action_leads_to_the_form(admin_client):
    template = lv_residential()
    r = admin_client.post(
        "/admin/processes/processtemplate/",
        {"action": "make_new_version", "_selected_action": [template.pk]},
    )
    assert r.status_code == 302
    assert r["Location"] == f"/admin/processes/processtemplate/{template.pk}/new-version/"
    html = admin_client.get(r["Location"]).content.decode()
    assert "新版本复制本版本的全部环节和时限" in html


@pytest.mark.django_db
def test_process_admin_is_for_administrators_only(personas):
    c = Client()
    c.force_login(personas["leader"])
    template = lv_residential()
    r = c.get(f"/admin/processes/processtemplate/{template.pk}/new-version/")
    assert r.status_code == 302 and "/admin/login/" in r["Location"]
    r = c.post(
        f"/admin/processes/processtemplate/{template.pk}/new-version/",
        {"effective_from": "2030-01-01", "source_note": "x"},
    )
    assert ProcessTemplate.objects.filter(category="lv_residential").count() == 1
