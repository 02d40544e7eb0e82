"""Staff record the customer's contractor choices on the case page (三不指定), in a card of its
own loaded by htmx; a "suggested by staff" answer opens a steering case, as on the portal.

Counter intake Mon 11-02 by the clerk (assigned to Alice); recorded on Wed 11-04 (case time
limit: 10 working days → Wed 11-18)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from sunshine.applications.models import Event
from sunshine.directory.models import ContractorChoice
from sunshine.feedback.models import SupervisionCase
from tests.test_portal_choices import unit
from tests.test_workbench_case import at, client_for, new_app, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def units(db):
    return {
        "design": unit("汾河设计院", "design"),
        "construction": unit("晋阳电力工程公司", "construction"),
        "supply": unit("三晋电气设备公司", "supply"),
    }


@pytest.fixture
def app(personas):
    return new_app(personas["clerk"])


def card(client: Client, app, **headers) -> str:
    with at("2026-11-04"):
        r = client.get(url(app, "choices"), **headers)
    assert r.status_code == 200
    return r.content.decode()


def test_the_case_page_loads_the_card_from_its_own_view(app, units, personas):
    c = client_for(personas["clerk"])
    with at("2026-11-04"):
        page = c.get(url(app)).content.decode()
    assert f'hx-get="/workbench/applications/{app.number}/choices/"' in page
    assert f'<a href="/workbench/applications/{app.number}/choices/" id="choices-link">' in page
    fragment = card(c, app, HTTP_HX_REQUEST="true")
    assert fragment.startswith("\n<section") or fragment.lstrip().startswith("<section")
    assert "<html" not in fragment
    selects = re.findall(r'<select id="id_choice_(\w+)"', fragment)
    assert selects == ["design", "construction", "supply"]
    assert fragment.count('<span class="muted">未登记</span>') == 3
    # without htmx the same card is a page of its own
    assert "<html" in card(c, app)


def test_staff_record_a_choice_and_a_suggestion_opens_a_steering_case(app, units, personas):
    c = client_for(personas["clerk"])
    with at("2026-11-04"):
        r = c.post(
            url(app, "choices"),
            {
                "design": str(units["design"].pk),
                "design_answer": "self",
                "supply": str(units["supply"].pk),
                "supply_answer": "staff",
                "construction": "",
            },
            follow=True,
        )
    assert r.redirect_chain == [(f"/workbench/applications/{app.number}/#choices", 302)]
    rows = ContractorChoice.objects.order_by("kind")
    assert [(c.kind, c.suggested_by_staff, c.channel, c.manager, c.recorded_by) for c in rows] == [
        ("design", False, "staff", personas["alice"], personas["clerk"]),
        ("supply", True, "staff", personas["alice"], personas["clerk"]),
    ]
    case = SupervisionCase.objects.get()
    assert (case.source, case.kind, case.application, case.manager, case.opened_by, str(case.due_on)) == (
        "choice",
        "steering",
        app,
        personas["alice"],
        personas["clerk"],
        "2026-11-18",
    )
    body = r.content.decode()
    assert "已登记客户选择的单位。" in body
    assert f"客户反映设备材料供应单位系工作人员推荐，已立稽查案件 {case.tracking_number}。" in body
    chosen = Event.objects.filter(application=app, type="contractor_chosen").order_by("id")
    assert [(e.data["kind"], e.data["channel"], e.data["suggested_by_staff"], e.actor) for e in chosen] == [
        ("design", "staff", False, personas["clerk"]),
        ("supply", "staff", True, personas["clerk"]),
    ]
    fragment = card(c, app, HTTP_HX_REQUEST="true")
    current = '<p class="choice-current" id="choice-current-supply">'
    assert current + "三晋电气设备公司 · 客户反映系工作人员推荐 · 2026-11-04</p>" in fragment


def test_an_answer_is_required_and_nothing_is_recorded_without_it(app, units, personas):
    with at("2026-11-04"):
        r = client_for(personas["clerk"]).post(url(app, "choices"), {"design": str(units["design"].pk)})
    assert r.status_code == 200
    assert "请回答“由谁选择”。" in r.content.decode()
    assert not ContractorChoice.objects.exists()


def test_an_engineer_sees_the_choices_but_records_nothing(app, units, personas):
    c = client_for(personas["engineer"])
    fragment = card(c, app, HTTP_HX_REQUEST="true")
    assert "<select" not in fragment and 'id="choice-form"' not in fragment
    with at("2026-11-04"):
        r = c.post(url(app, "choices"), {"design": str(units["design"].pk), "design_answer": "self"})
    assert r.status_code == 403
    assert not ContractorChoice.objects.exists()
