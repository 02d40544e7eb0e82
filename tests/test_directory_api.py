"""API v1 of the directory: /public/fees, the calculator, /public/contractors, and the staff
endpoints that record a charge or a contractor choice."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from sunshine.applications.models import Event
from sunshine.directory.models import Charge, Contractor, ContractorChoice
from sunshine.directory.seed import seed_demo_contractors
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


@pytest.fixture
def units(db):
    seed_demo_contractors(Contractor)
    return {c.name: c for c in Contractor.objects.all()}


def test_public_fees_lists_the_catalogue_in_force_and_the_abolished_charges(api_as, django_assert_max_num_queries):
    client = api_as(None)
    with at("2026-11-27"), django_assert_max_num_queries(4):
        r = client.get("/api/v1/public/fees")
    assert r.status_code == 200
    body = r.json()
    assert body["on"] == "2026-11-27"
    assert body["schedule"]["version"] == 1 and body["schedule"]["effective_from"] == "2021-03-01"
    hr10 = next(i for i in body["items"] if i["code"] == "high_reliability_10kv")
    assert hr10 == {
        "code": "high_reliability_10kv",
        "name": "高可靠性供电费（10 kV）",
        "legal_basis": "国办函〔2020〕129号保留项目；省发展改革委高可靠性供电费收费标准",
        "basis": "per_unit",
        "amount": 165,
        "unit": "kVA",
        "voltage_level": "10kV",
        "group": "high_reliability",
        "note": "按双（多）电源客户备用电源回路的容量计收",
    }
    assert [a["name"] for a in body["abolished"]][:2] == ["移表费", "计量装置赔偿费"]
    assert [v["version"] for v in body["versions"]] == [1]
    en = api_as(None, language="en").get("/api/v1/public/fees").json()
    assert en["abolished"][0]["name"] == "Meter relocation fee"
    before = client.get("/api/v1/public/fees", on="2020-01-01").json()
    assert before["schedule"] is None and before["items"] == []


def test_the_calculator_endpoint_is_exact(api_as):
    r = api_as(None).get("/api/v1/public/fees/high-reliability", capacity_kva="1250.5", voltage_level="10kV")
    assert r.status_code == 200
    assert r.json() == {
        "code": "high_reliability_10kv",
        "name": "高可靠性供电费（10 kV）",
        "capacity_kva": 1250.5,
        "rate_per_kva": 165,
        "amount": 206332.5,
        "schedule_version": 1,
    }
    bad = api_as(None).get("/api/v1/public/fees/high-reliability", capacity_kva="100", voltage_level="500kV")
    assert bad.status_code == 422 and list(bad.json()["fields"]) == ["voltage_level"]
    neg = api_as(None).get("/api/v1/public/fees/high-reliability", capacity_kva="-3", voltage_level="10kV")
    assert neg.status_code == 422 and list(neg.json()["fields"]) == ["capacity_kva"]


def test_public_contractors_are_qualified_only_in_a_seeded_neutral_order(api_as, units):
    client = api_as(None)
    with at("2026-11-27"):
        r = client.get("/api/v1/public/contractors", kind="construction")
        assert r.status_code == 200
        body = r.json()
        assert body["count"] == 5 and len(body["seed"]) == 16
        names = [c["name"] for c in body["results"]]
        assert "示例杏花岭机电安装有限公司" not in names  # licence expired 2026-10-31
        assert {c["kind"] for c in body["results"]} == {"construction"}
        assert body["results"][0].keys() == {
            "id",
            "kind",
            "kind_label",
            "name",
            "credit_code",
            "licence_class",
            "licence_class_label",
            "licence_number",
            "licence_expires_on",
            "contact_phone",
            "area_served",
        }
        assert "随机" in body["order"] and "不指定" in body["notice"]
        again = client.get("/api/v1/public/contractors", kind="construction", seed=body["seed"]).json()
        assert [c["name"] for c in again["results"]] == names
        paged = [
            c["name"]
            for p in (1, 2, 3)
            for c in client.get(
                "/api/v1/public/contractors", kind="construction", seed=body["seed"], page=p, page_size=2
            ).json()["results"]
        ]
        assert paged == names
    assert client.get("/api/v1/public/contractors", kind="broker").status_code == 422
    assert client.get("/api/v1/public/contractors", seed="not-hex").status_code == 422


def test_staff_record_a_charge_through_the_api(api_as, personas):
    clerk = api_as("clerk")
    number = clerk.post(
        "/api/v1/applications", intake_body(category="hv_dual", requested_capacity=2000, capacity_unit="kVA")
    ).json()["number"]
    r = clerk.post(f"/api/v1/applications/{number}/charges", {"item_code": "high_reliability_10kv", "quantity": 1000})
    assert r.status_code == 201, r.content
    assert r.json()["amount"] == 165000 and r.json()["item_code"] == "high_reliability_10kv"
    refused = clerk.post(f"/api/v1/applications/{number}/charges", {"item_code": "meter_relocation"})
    assert refused.status_code == 422 and refused.json()["code"] == "charge_not_in_catalogue"
    missing = clerk.post(f"/api/v1/applications/{number}/charges", {})
    assert missing.status_code == 422 and list(missing.json()["fields"]) == ["item_code"]
    assert Charge.objects.count() == 1


@pytest.mark.parametrize("who", ["engineer", "auditor", "bob"])
def test_roles_that_may_not_record_change_nothing(api_as, personas, units, who):
    number = api_as("clerk").post("/api/v1/applications", intake_body()).json()["number"]
    # the application went to Alice (fewest open, then username); Bob is not its manager
    events = Event.objects.count()
    unit = units["示例三晋电气设备有限公司"]
    client = api_as(who)
    r1 = client.post(f"/api/v1/applications/{number}/charges", {"item_code": "high_reliability_10kv", "quantity": 1})
    r2 = client.post(f"/api/v1/applications/{number}/contractor-choices", {"kind": "supply", "contractor_id": unit.pk})
    assert r1.status_code == 403 and r2.status_code == 403
    assert Charge.objects.count() == 0 and ContractorChoice.objects.count() == 0 and Event.objects.count() == events


def test_the_manager_records_a_contractor_choice(api_as, personas, units):
    number = api_as("clerk").post("/api/v1/applications", intake_body()).json()["number"]
    alice = api_as("alice")
    unit = units["示例三晋电气设备有限公司"]
    with at("2026-11-27", "15:00"):
        r = alice.post(
            f"/api/v1/applications/{number}/contractor-choices", {"kind": "supply", "contractor_id": unit.pk}
        )
    assert r.status_code == 200, r.content
    assert r.json() == {
        "kind": "supply",
        "contractor_id": unit.pk,
        "contractor": "示例三晋电气设备有限公司",
        "recorded_at": "2026-11-27T15:00:00+08:00",
        "answer": "",
        "case": None,
    }
    expired = units["示例杏花岭机电安装有限公司"]
    bad = alice.post(
        f"/api/v1/applications/{number}/contractor-choices", {"kind": "construction", "contractor_id": expired.pk}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "contractor_not_qualified"
    assert api_as(None).post(f"/api/v1/applications/{number}/charges", {}).status_code == 401
    assert date.today  # keep the import honest for type checkers


def test_the_api_records_the_customers_answer_and_staff_suggested_opens_a_steering_case(api_as, personas, units):
    """Issue 18: the staff API for contractor choices takes the customer's answer to "did you
    choose it yourself or did staff suggest it", as the case page and the portal do."""
    from sunshine.directory.models import ChoiceChannel
    from sunshine.feedback.models import SupervisionCase

    number = api_as("clerk").post("/api/v1/applications", intake_body()).json()["number"]
    alice = api_as("alice")
    path = f"/api/v1/applications/{number}/contractor-choices"
    supply = units["示例三晋电气设备有限公司"]
    with at("2026-11-27", "15:00"):
        mine = alice.post(path, {"kind": "supply", "contractor_id": supply.pk, "answer": "self"})
    assert mine.status_code == 200, mine.content
    assert (mine.json()["answer"], mine.json()["case"]) == ("self", None)
    choice = ContractorChoice.objects.get(kind="supply")
    assert (choice.suggested_by_staff, choice.channel, choice.manager) == (False, ChoiceChannel.API, personas["alice"])
    assert SupervisionCase.objects.count() == 0
    with at("2026-11-27", "15:05"):
        steered = alice.post(path, {"kind": "supply", "contractor_id": supply.pk, "answer": "staff"})
    assert steered.status_code == 200, steered.content
    case = SupervisionCase.objects.get()
    assert (steered.json()["answer"], steered.json()["case"]) == ("staff", case.tracking_number)
    assert ContractorChoice.objects.get(kind="supply").suggested_by_staff is True
    # the same again opens nothing more; an answer that is not one of the two is refused
    assert alice.post(path, {"kind": "supply", "contractor_id": supply.pk, "answer": "staff"}).json()["case"] is None
    assert SupervisionCase.objects.count() == 1
    bad = alice.post(path, {"kind": "supply", "contractor_id": supply.pk, "answer": "manager"})
    assert (bad.status_code, list(bad.json()["fields"])) == (422, ["answer"])
