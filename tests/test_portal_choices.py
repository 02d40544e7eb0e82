"""The customer records the units they chose (三不指定) on the portal, after the progress look-up
proves who they are, and answers "我自己选择的 / 工作人员推荐的" for each; "suggested by staff" opens
a steering case (稽查) about the manager holding the case, as the follow-up call's "steered" does.

Counter intake Thu 11-26 by the clerk (assigned to Alice); the customer records on Mon 11-30
(case time limit: 10 working days → Mon 12-14; no holidays in between)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from sunshine.applications.models import Event
from sunshine.directory.models import Contractor, ContractorChoice
from sunshine.feedback.models import SupervisionCase
from tests.test_portal_pages import at, new_app, text_of

pytestmark = pytest.mark.django_db

_codes = iter(range(10**9))


def unit(name: str, kind: str, **kw) -> Contractor:
    return Contractor.objects.create(
        kind=kind,
        name=name,
        credit_code=f"91140100{next(_codes):010d}",
        licence_class="ims_4" if kind == "construction" else "",
        contact_phone="0351-0000000",
        area_served="太原市",
        **kw,
    )


@pytest.fixture
def units(db):
    from datetime import date

    return {
        "design": unit("汾河设计院", "design"),
        "construction": unit("晋阳电力工程公司", "construction"),
        "supply": unit("三晋电气设备公司", "supply"),
        "expired": unit("过期设计院", "design", licence_expires_on=date(2026, 10, 31)),
        "inactive": unit("停用施工公司", "construction", active=False),
    }


@pytest.fixture
def app(personas):
    return new_app(personas["clerk"], "2026-11-26")


def post(data: dict, client: Client | None = None):
    with at("2026-11-30"):
        return (client or Client()).post("/progress/choices/", data)


def test_the_progress_page_offers_the_form_and_the_form_lists_qualified_units_only(app, units):
    with at("2026-11-30"):
        page = Client().post("/progress/", {"number": app.number, "phone_tail": "8000"})
    body = page.content.decode()
    assert 'action="/progress/choices/"' in body and "登记我选择的单位" in text_of(page)
    r = post({"number": app.number, "phone_tail": "8000"})
    assert r.status_code == 200
    html = r.content.decode()
    options = {
        kind: re.findall(r"<option value=\"\d+\"[^>]*>([^<]+)</option>", block)
        for kind, block in re.findall(r'<select id="id_(\w+)" name="\w+">(.*?)</select>', html, re.S)
    }
    assert options == {"design": ["汾河设计院"], "construction": ["晋阳电力工程公司"], "supply": ["三晋电气设备公司"]}
    assert "我自己选择的" in text_of(r) and "工作人员推荐的" in text_of(r)
    assert '<input type="hidden" name="step" value="save">' in html


def test_choices_are_recorded_as_events_and_staff_suggestion_opens_a_steering_case(app, units, personas):
    r = post(
        {
            "number": app.number,
            "phone_tail": "8000",
            "step": "save",
            "design": str(units["design"].pk),
            "design_answer": "self",
            "construction": str(units["construction"].pk),
            "construction_answer": "staff",
            "supply": "",
        }
    )
    assert r.status_code == 200, text_of(r)
    rows = ContractorChoice.objects.order_by("kind")
    assert [(c.kind, c.contractor.name, c.suggested_by_staff, c.channel, c.manager, c.recorded_by) for c in rows] == [
        ("construction", "晋阳电力工程公司", True, "portal", personas["alice"], None),
        ("design", "汾河设计院", False, "portal", personas["alice"], None),
    ]
    events = [e.data for e in Event.objects.filter(application=app, type="contractor_chosen").order_by("id")]
    assert events == [
        {
            "kind": "design",
            "contractor": "汾河设计院",
            "credit_code": units["design"].credit_code,
            "replaced": None,
            "suggested_by_staff": False,
            "channel": "portal",
            "manager": "alice",
        },
        {
            "kind": "construction",
            "contractor": "晋阳电力工程公司",
            "credit_code": units["construction"].credit_code,
            "replaced": None,
            "suggested_by_staff": True,
            "channel": "portal",
            "manager": "alice",
        },
    ]
    case = SupervisionCase.objects.get()
    assert (case.source, case.kind, case.application, case.manager, str(case.due_on)) == (
        "choice",
        "steering",
        app,
        personas["alice"],
        "2026-12-14",
    )
    assert case.subject == f"{app.number} 选择单位：客户反映施工单位系工作人员推荐"
    assert case.details == f"所选施工单位：晋阳电力工程公司（统一社会信用代码 {units['construction'].credit_code}）。"
    assert Event.objects.filter(application=app, type="case_opened").count() == 1
    page = text_of(r)
    assert "您的选择已登记" in page
    assert "施工单位 ：晋阳电力工程公司 · 工作人员推荐的" in page
    assert f"受理编号 {case.tracking_number}" in page and "稽查人员将在 2026-12-14 前答复。" in page
    # the same answer again changes nothing and opens nothing new
    again = post(
        {
            "number": app.number,
            "phone_tail": "8000",
            "step": "save",
            "construction": str(units["construction"].pk),
            "construction_answer": "staff",
        }
    )
    assert again.status_code == 200
    assert SupervisionCase.objects.count() == 1
    assert Event.objects.filter(application=app, type="contractor_chosen").count() == 2


def test_a_wrong_phone_ending_records_nothing(app, units):
    r = post(
        {
            "number": app.number,
            "phone_tail": "0000",
            "step": "save",
            "design": str(units["design"].pk),
            "design_answer": "staff",
        }
    )
    assert r.status_code == 404
    assert "未找到与该申请编号及手机号码后四位相符的申请。" in text_of(r)
    assert not ContractorChoice.objects.exists() and not SupervisionCase.objects.exists()
    assert post({"number": app.number, "phone_tail": "0000"}).status_code == 404


def test_a_unit_without_an_answer_or_not_qualified_is_refused_and_nothing_is_recorded(app, units):
    r = post(
        {
            "number": app.number,
            "phone_tail": "8000",
            "step": "save",
            "design": str(units["design"].pk),
            "design_answer": "",
            "construction": str(units["construction"].pk),
            "construction_answer": "self",
        }
    )
    assert r.status_code == 422
    assert "请回答“由谁选择”。" in text_of(r)
    # what was entered is kept
    assert f'<option value="{units["construction"].pk}" selected>' in r.content.decode()
    r = post(
        {
            "number": app.number,
            "phone_tail": "8000",
            "step": "save",
            "construction": str(units["construction"].pk),
            "construction_answer": "self",
            "design": str(units["expired"].pk),
            "design_answer": "self",
        }
    )
    assert r.status_code == 422
    assert "该单位不是资质有效的设计单位。" in text_of(r)
    assert not ContractorChoice.objects.exists()
    assert not Event.objects.filter(type="contractor_chosen").exists()
