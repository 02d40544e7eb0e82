"""API v1 endpoints of follow-up calls, cases and satisfaction."""

from __future__ import annotations

from sunshine.feedback import services
from sunshine.feedback.models import FollowUp, SupervisionCase
from tests.test_feedback_followups import connected
from tests.test_services import at

ANSWERS = {
    "outcome": "completed",
    "sat_overall": 4,
    "sat_manager": 5,
    "sat_timeliness": 3,
    "steered_design": False,
    "steered_construction": False,
    "steered_supply": False,
    "extra_charge": True,
    "extra_charge_amount": "150.50",
    "extra_charge_what": "计量箱",
    "told_once": True,
    "comments": "",
}


def test_clerk_works_a_call_through_the_api(personas, api_as):
    app = connected(personas)
    f = FollowUp.objects.get(application=app)
    clerk = api_as("clerk")
    r = clerk.get("/api/v1/followups")
    assert r.status_code == 200
    assert r.json() == {
        "results": [
            {
                "id": f.pk,
                "number": app.number,
                "customer_name": "张三",
                "contact_phone": "13800138000",
                "due_on": "2026-11-11",
                "status": "open",
                "attempts": 0,
                "outcome": None,
                "assigned_to": "clerk",
            }
        ]
    }
    r = clerk.post(f"/api/v1/followups/{f.pk}/attempts", {"result": "busy"})
    assert r.status_code == 200 and r.json()["attempts"] == 1
    with at("2026-11-06"):
        r = clerk.post(f"/api/v1/followups/{f.pk}/result", ANSWERS)
    assert r.status_code == 200, r.content
    case = SupervisionCase.objects.get()
    assert r.json()["cases"] == [case.tracking_number]
    assert (r.json()["status"], r.json()["outcome"]) == ("done", "completed")
    assert case.kind == "overcharge" and case.subject == f"{app.number} 回访：客户反映被收取计量箱 150.50 元"
    r = api_as("auditor").get("/api/v1/satisfaction", **{"from": "2026-11-01", "to": "2026-11-30"})
    assert r.status_code == 200
    assert r.json() == {
        "from": "2026-11-01",
        "to": "2026-11-30",
        "calls": 1,
        "completed": 1,
        "unreachable": 0,
        "refused": 0,
        "wrong_number": 0,
        "overall": 4.0,
        "manager": 5.0,
        "timeliness": 3.0,
        "steered": 0,
        "overcharged": 1,
        "told_once": 1,
    }


def test_bad_answers_are_a_422_with_fields_and_change_nothing(personas, api_as):
    app = connected(personas)
    f = FollowUp.objects.get(application=app)
    r = api_as("clerk").post(
        f"/api/v1/followups/{f.pk}/result",
        {**ANSWERS, "sat_overall": "5", "told_once": "yes", "extra_charge_amount": 0},
    )
    assert r.status_code == 422
    assert set(r.json()["fields"]) == {"sat_overall", "told_once"}
    r = api_as("clerk").post(f"/api/v1/followups/{f.pk}/result", {**ANSWERS, "extra_charge_amount": "0"})
    assert r.status_code == 422
    assert r.json()["fields"] == {"extra_charge_amount": ["请填写收费金额（元）。"]}
    f.refresh_from_db()
    assert f.status == "open" and SupervisionCase.objects.count() == 0


def test_managers_may_not_touch_calls_or_cases(personas, api_as):
    app = connected(personas)
    f = FollowUp.objects.get(application=app)
    alice = api_as("alice")
    assert alice.get("/api/v1/followups").status_code == 403
    assert alice.post(f"/api/v1/followups/{f.pk}/attempts", {"result": "busy"}).status_code == 403
    assert alice.get("/api/v1/cases").status_code == 403
    assert alice.get("/api/v1/satisfaction", **{"from": "2026-11-01", "to": "2026-11-30"}).status_code == 403
    f.refresh_from_db()
    assert f.attempts == 0


def test_cases_api_lists_reads_notes_and_decides(personas, api_as):
    with at("2026-11-02"):
        c = services.open_case(
            source="staff", subject="乱收费", details="", manager=personas["alice"], kind="overcharge"
        )
    auditor = api_as("auditor")
    r = auditor.get("/api/v1/cases")
    assert r.status_code == 200
    assert r.json()["results"][0]["tracking_number"] == c.tracking_number
    assert r.json()["has_next"] is False
    assert api_as("leader").post(f"/api/v1/cases/{c.tracking_number}/notes", {"text": "x"}).status_code == 403
    assert auditor.post(f"/api/v1/cases/{c.tracking_number}/notes", {"text": "核实中"}).status_code == 200
    with at("2026-11-05"):
        r = auditor.post(
            f"/api/v1/cases/{c.tracking_number}/finding", {"finding": "not_upheld", "action_taken": "经查系正常收费"}
        )
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["finding"], body["closed_on"], body["due_on"]) == (
        "closed",
        "not_upheld",
        "2026-11-05",
        "2026-11-16",
    )
    assert [n["text"] for n in body["notes"]] == ["核实中"]
    r = auditor.post(f"/api/v1/cases/{c.tracking_number}/finding", {"finding": "upheld", "action_taken": "x"})
    assert r.status_code == 409 and r.json()["code"] == "case_closed"
    assert auditor.get("/api/v1/cases/JC000").status_code == 404
    assert auditor.get("/api/v1/cases", status="bogus").status_code == 422
