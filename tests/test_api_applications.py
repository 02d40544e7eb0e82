"""API v1, staff application endpoints: the body shape, intake validation, idempotency, lists,
stage transitions, pauses, the timeline and the deadline semantics (api-v1.md).

Dates: 2026 calendar as announced (中秋 Fri 09-25..Sun 09-27 off, 国庆 10-01..10-07 off,
Sun 09-20 and Sat 10-10 worked).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine

from sunshine.applications.models import Application, Event, IdempotencyRecord
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _long_tokens(settings):
    """These tests travel over weeks with one sign-in per persona."""
    settings.SUNSHINE_TOKEN_TTL_HOURS = 24 * 400


APPS = "/api/v1/applications"

APP_KEYS = {
    "number",
    "category",
    "business_type",
    "channel",
    "status",
    "current_stage",
    "accepted_at",
    "completed_at",
    "customer",
    "address",
    "requested_capacity",
    "capacity_unit",
    "key_project",
    "customer_manager",
    "stages",
    "utility_working_days",
    "process_time_limit_days",
    "on_time",
}
STAGE_KEYS = {
    "code",
    "name",
    "owner",
    "status",
    "round",
    "started_at",
    "completed_at",
    "time_limit_days",
    "deadline",
    "working_days_used",
    "paused_working_days",
    "overdue",
    "on_time",
    "outcome",
}
EVENT_KEYS = {"type", "at", "actor", "stage", "round", "data"}
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00$")

# second and third valid identities (the first is the intake_body default)
ID_2 = "110105198001010016"
ID_3 = "110105199003051238"
USCC = "91140100MA0K000004"


def hv_body(**kw: Any) -> dict[str, Any]:
    body = intake_body(
        category="hv_single",
        channel="counter",
        requested_capacity=630,
        capacity_unit="kVA",
        customer__name="太原某某机械有限公司",
        customer__id_type="uscc",
        customer__id_number=USCC,
        address="太原市晋源区金胜路8号",
    )
    body.update(kw)
    return body


def create(api, body: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
    r = api.post(APPS, body or intake_body(), **headers)
    assert r.status_code == 201, r.content
    return r.json()


def stage(app: dict[str, Any], code: str, round_: int = 1) -> dict[str, Any]:
    return next(s for s in app["stages"] if s["code"] == code and s["round"] == round_)


def complete(api, number: str, code: str, **body: Any):
    return api.post(f"{APPS}/{number}/stages/{code}/complete", body)


def ok(r) -> dict[str, Any]:
    assert r.status_code == 200, r.content
    return r.json()


def error(r, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.content
    body = r.json()
    assert body["code"] == code, body
    assert set(body) <= {"code", "message", "fields"}
    return body


# --- intake -------------------------------------------------------------------------------------


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_counter_intake_body_shape(api_as):
    app = create(api_as("clerk"))
    assert set(app) >= APP_KEYS
    assert len(app["number"]) == 15 and app["number"].startswith("YK") and app["number"][2:].isdigit()
    assert app["number"][2:8] == "261127"
    assert app | {"number": None, "stages": None} == app | {
        "number": None,
        "stages": None,
        "category": "lv_residential",
        "business_type": "new_connection",
        "channel": "counter",
        "status": "in_progress",
        "current_stage": "survey",
        "accepted_at": "2026-11-27T10:00:00+08:00",
        "completed_at": None,
        "customer": {
            "name": "张三",
            "id_type": "resident_id",
            "id_number": "11010519491231002X",
            "phone": "13800138000",
        },
        "address": "太原市晋源区晋祠路一段1号",
        "requested_capacity": 8,
        "capacity_unit": "kW",
        "key_project": False,
        "customer_manager": {"username": "alice", "name": "李爱", "phone": "0351-1111111"},
        "utility_working_days": 0,
        "process_time_limit_days": 5,
        "on_time": None,
    }
    assert isinstance(app["requested_capacity"], int)
    for s in app["stages"]:
        assert set(s) >= STAGE_KEYS, s
    acceptance, survey, connection = app["stages"]
    assert acceptance == acceptance | {
        "code": "acceptance",
        "name": "业务受理",
        "owner": "utility",
        "status": "completed",
        "round": 1,
        "started_at": "2026-11-27T10:00:00+08:00",
        "completed_at": "2026-11-27T10:00:00+08:00",
        "time_limit_days": 1,
        "deadline": "2026-11-30",
        "working_days_used": 0,
        "paused_working_days": 0,
        "overdue": False,
        "on_time": True,
        "outcome": None,
    }
    # Fri 11-27 + 2 working days: Mon 11-30, Tue 12-01
    assert survey == survey | {
        "code": "survey",
        "owner": "utility",
        "status": "in_progress",
        "round": 1,
        "started_at": "2026-11-27T10:00:00+08:00",
        "completed_at": None,
        "time_limit_days": 2,
        "deadline": "2026-12-01",
        "working_days_used": 0,
        "paused_working_days": 0,
        "overdue": False,
        "on_time": None,
        "outcome": None,
    }
    assert connection == connection | {
        "code": "connection",
        "status": "pending",
        "started_at": None,
        "completed_at": None,
        "deadline": None,
        "time_limit_days": 2,
        "working_days_used": 0,
        "on_time": None,
        "outcome": None,
    }
    assert Application.objects.count() == 1


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_get_detail_is_the_same_shape(api_as):
    clerk = api_as("clerk")
    created = create(clerk)
    assert ok(clerk.get(f"{APPS}/{created['number']}")) == created


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_hv_online_intake_customer_stages_have_no_clock(api_as):
    app = create(api_as("clerk"), hv_body(channel="online"))
    assert app["current_stage"] == "acceptance"
    assert app["process_time_limit_days"] is None
    assert app["requested_capacity"] == 630 and app["capacity_unit"] == "kVA"
    assert [s["code"] for s in app["stages"]] == [
        "acceptance",
        "scheme",
        "customer_design",
        "design_review",
        "customer_construction",
        "mid_inspection",
        "customer_completion",
        "completion_inspection",
        "customer_formalities",
        "connection",
    ]
    assert [s["owner"] for s in app["stages"]] == [
        "utility",
        "utility",
        "customer",
        "utility",
        "customer",
        "utility",
        "customer",
        "utility",
        "customer",
        "utility",
    ]
    acceptance = app["stages"][0]
    assert acceptance["status"] == "in_progress" and acceptance["deadline"] == "2026-11-30"
    for s in app["stages"][1:]:
        assert s["status"] == "pending" and s["started_at"] is None and s["deadline"] is None
    for s in app["stages"]:
        if s["owner"] == "customer":
            assert (s["time_limit_days"], s["deadline"], s["overdue"], s["on_time"]) == (
                None,
                None,
                None,
                None,
            )
    assert stage(app, "scheme")["time_limit_days"] == 15
    assert stage(app, "design_review")["time_limit_days"] == 10


def test_intake_reports_every_failing_field_at_once(api_as):
    body = intake_body(
        customer__id_number="110105194912310021",
        customer__phone="12345",
        requested_capacity=-3,
        category="lv_industrial",
    )
    r = api_as("clerk", "en").post(APPS, body)
    assert r.status_code == 422, r.content
    err = r.json()
    assert set(err) == {"code", "message", "fields"}
    assert err["code"] == "validation_error"
    assert set(err["fields"]) == {"customer.id_number", "customer.phone", "requested_capacity", "category"}
    assert all(isinstance(m, str) and m for msgs in err["fields"].values() for m in msgs)
    assert not Application.objects.exists()


def test_intake_missing_everything(api_as):
    r = api_as("clerk").post(APPS, {})
    assert r.status_code == 422
    assert {
        "category",
        "business_type",
        "channel",
        "customer",
        "address",
        "requested_capacity",
        "capacity_unit",
    } <= set(r.json()["fields"])


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"requested_capacity": "abc"}, "requested_capacity"),
        ({"requested_capacity": 0}, "requested_capacity"),
        ({"requested_capacity": 500}, "requested_capacity"),
        ({"requested_capacity": True}, "requested_capacity"),
        ({"capacity_unit": "MW"}, "capacity_unit"),
        ({"key_project": "yes"}, "key_project"),
        ({"channel": "fax"}, "channel"),
        ({"business_type": "demolition"}, "business_type"),
        ({"customer__id_type": "passport"}, "customer.id_type"),
        ({"customer__name": "  "}, "customer.name"),
        ({"address": ""}, "address"),
        ({"customer__id_number": "20990101..."}, "customer.id_number"),
    ],
)
def test_intake_single_field_errors(api_as, overrides, path):
    r = api_as("clerk").post(APPS, intake_body(**overrides))
    assert r.status_code == 422, r.content
    assert path in r.json()["fields"]


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_idempotency_key_replays_the_original(api_as):
    clerk = api_as("clerk")
    first = clerk.post(APPS, intake_body(), HTTP_IDEMPOTENCY_KEY="order-123")
    assert first.status_code == 201
    again = clerk.post(APPS, intake_body(), HTTP_IDEMPOTENCY_KEY="order-123")
    assert again.status_code == 201, again.content
    assert again.json()["number"] == first.json()["number"]
    assert again.json() == first.json()
    assert Application.objects.count() == 1
    assert Event.objects.filter(type="intake").count() == 1


def test_idempotency_key_with_another_body_is_409(api_as):
    clerk = api_as("clerk")
    create(clerk, intake_body(), HTTP_IDEMPOTENCY_KEY="k-1")
    r = clerk.post(APPS, intake_body(requested_capacity=9), HTTP_IDEMPOTENCY_KEY="k-1")
    error(r, 409, "idempotency_key_reused")
    assert Application.objects.count() == 1


def test_without_key_every_post_is_new(api_as):
    clerk = api_as("clerk")
    a, b = create(clerk), create(clerk)
    assert a["number"] != b["number"]
    assert Application.objects.count() == 2


def test_idempotency_keys_are_per_caller(api_as):
    a = create(api_as("clerk"), intake_body(), HTTP_IDEMPOTENCY_KEY="same")
    b = create(api_as("leader"), intake_body(), HTTP_IDEMPOTENCY_KEY="same")
    assert a["number"] != b["number"]
    assert IdempotencyRecord.objects.count() == 2


# --- lists --------------------------------------------------------------------------------------


@pytest.fixture
def portfolio(api_as):
    """Five applications accepted on different days of 2026 (alternately alice's and bob's)."""
    clerk = api_as("clerk")
    made = {}
    with time_machine.travel("2026-11-02 09:00 +0800", tick=False):
        made["res_alice"] = create(clerk)  # alice, survey
    with time_machine.travel("2026-11-03 09:00 +0800", tick=False):
        made["nonres_bob"] = create(
            clerk, intake_body(category="lv_non_residential", key_project=True, customer__id_number=ID_2)
        )  # bob
    with time_machine.travel("2026-11-04 09:00 +0800", tick=False):
        made["hv_alice"] = create(clerk, hv_body(channel="online"))  # alice, acceptance
    with time_machine.travel("2026-11-05 09:00 +0800", tick=False):
        made["res_bob_paused"] = create(clerk, intake_body(customer__id_number=ID_3))  # bob
        ok(
            api_as("bob").post(
                f"{APPS}/{made['res_bob_paused']['number']}/pause",
                {"reason_code": "customer_request", "reason": "客户出差"},
            )
        )
    with time_machine.travel("2026-11-06 09:00 +0800", tick=False):
        made["cancelled"] = create(clerk, intake_body(address="太原市晋源区晋祠路二段2号"))  # alice
        ok(api_as("alice").post(f"{APPS}/{made['cancelled']['number']}/cancel", {"reason": "客户撤回"}))
    return {k: v["number"] for k, v in made.items()}


def numbers(r) -> list[str]:
    body = ok(r)
    assert set(body) == {"count", "page", "page_size", "results"}
    assert body["count"] >= len(body["results"])
    return [row["number"] for row in body["results"]]


@time_machine.travel("2026-11-06 15:00 +0800", tick=False)
def test_list_filters(api_as, portfolio):
    p = portfolio
    leader = api_as("leader")
    assert numbers(leader.get(APPS)) == [
        p["cancelled"],
        p["res_bob_paused"],
        p["hv_alice"],
        p["nonres_bob"],
        p["res_alice"],
    ]
    assert set(numbers(leader.get(APPS, status="paused"))) == {p["res_bob_paused"]}
    assert set(numbers(leader.get(APPS, status="cancelled"))) == {p["cancelled"]}
    assert set(numbers(leader.get(APPS, status="in_progress"))) == {
        p["res_alice"],
        p["nonres_bob"],
        p["hv_alice"],
    }
    assert set(numbers(leader.get(APPS, category="hv_single"))) == {p["hv_alice"]}
    assert set(numbers(leader.get(APPS, category="lv_residential"))) == {
        p["res_alice"],
        p["res_bob_paused"],
        p["cancelled"],
    }
    assert set(numbers(leader.get(APPS, stage="acceptance"))) == {p["hv_alice"]}
    assert set(numbers(leader.get(APPS, stage="survey"))) == {
        p["res_alice"],
        p["nonres_bob"],
        p["res_bob_paused"],
    }
    assert set(numbers(leader.get(APPS, customer_manager="bob"))) == {p["nonres_bob"], p["res_bob_paused"]}
    assert set(numbers(leader.get(APPS, key_project="true"))) == {p["nonres_bob"]}
    assert set(numbers(leader.get(APPS, key_project="false"))) == {
        p["res_alice"],
        p["hv_alice"],
        p["res_bob_paused"],
        p["cancelled"],
    }
    assert set(numbers(leader.get(APPS, status="in_progress", customer_manager="alice"))) == {
        p["res_alice"],
        p["hv_alice"],
    }
    # res_alice: survey started Mon 11-02, deadline Wed 11-04; nonres_bob: survey from 11-03, due 11-05;
    # hv_alice: acceptance from 11-04 due 11-05; paused one is not overdue (pause from 11-05).
    assert set(numbers(leader.get(APPS, overdue="true"))) == {p["res_alice"], p["nonres_bob"], p["hv_alice"]}
    rows = {row["number"]: row for row in ok(leader.get(APPS))["results"]}
    assert rows[p["res_alice"]]["overdue"] is True
    assert rows[p["res_bob_paused"]]["overdue"] is False
    assert rows[p["cancelled"]]["overdue"] is False


def test_list_overdue_the_day_after_the_deadline(api_as, portfolio):
    leader = api_as("leader")
    with time_machine.travel("2026-11-04 18:00 +0800", tick=False):  # res_alice's survey deadline
        assert portfolio["res_alice"] not in numbers(leader.get(APPS, overdue="true"))
    with time_machine.travel("2026-11-05 08:00 +0800", tick=False):
        assert portfolio["res_alice"] in numbers(leader.get(APPS, overdue="true"))


@time_machine.travel("2026-11-06 15:00 +0800", tick=False)
def test_list_pagination(api_as, portfolio):
    leader = api_as("leader")
    everything = numbers(leader.get(APPS))
    page1 = ok(leader.get(APPS, page=1, page_size=2))
    page3 = ok(leader.get(APPS, page=3, page_size=2))
    assert (page1["count"], page1["page"], page1["page_size"]) == (5, 1, 2)
    assert [r["number"] for r in page1["results"]] == everything[:2]
    assert [r["number"] for r in page3["results"]] == everything[4:]
    assert ok(leader.get(APPS, page=4, page_size=2)) == {"count": 5, "page": 4, "page_size": 2, "results": []}
    assert ok(leader.get(APPS))["page_size"] == 50


@time_machine.travel("2026-11-06 15:00 +0800", tick=False)
def test_customer_manager_lists_only_own(api_as, portfolio):
    p = portfolio
    assert set(numbers(api_as("alice").get(APPS))) == {p["res_alice"], p["hv_alice"], p["cancelled"]}
    assert set(numbers(api_as("bob").get(APPS))) == {p["nonres_bob"], p["res_bob_paused"]}
    # asking for the other manager's cases shows nothing rather than leaking them
    assert numbers(api_as("alice").get(APPS, customer_manager="bob")) == []
    assert ok(api_as("alice").get(APPS))["count"] == 3


@time_machine.travel("2026-11-06 15:00 +0800", tick=False)
def test_detail_of_another_managers_application_is_403_unknown_404(api_as, portfolio):
    error(api_as("bob").get(f"{APPS}/{portfolio['res_alice']}"), 403, "forbidden")
    error(api_as("bob").get(f"{APPS}/{portfolio['res_alice']}/events"), 403, "forbidden")
    ok(api_as("alice").get(f"{APPS}/{portfolio['res_alice']}"))
    error(api_as("bob").get(f"{APPS}/YK2611060000000"), 404, "application_not_found")


# --- stage transitions --------------------------------------------------------------------------


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_complete_current_stage_starts_the_next(api_as):
    app = create(api_as("clerk"))
    done = ok(complete(api_as("alice"), app["number"], "survey", note="现场已勘查"))
    assert done["current_stage"] == "connection"
    assert stage(done, "survey")["status"] == "completed"
    assert stage(done, "survey")["on_time"] is True
    assert stage(done, "survey")["completed_at"] == "2026-11-27T10:00:00+08:00"
    connection = stage(done, "connection")
    assert connection["status"] == "in_progress"
    assert connection["started_at"] == "2026-11-27T10:00:00+08:00"
    assert connection["deadline"] == "2026-12-01"
    finished = ok(complete(api_as("engineer"), app["number"], "connection"))
    assert finished["status"] == "completed" and finished["current_stage"] is None
    assert finished["completed_at"] == "2026-11-27T10:00:00+08:00"
    assert finished["on_time"] is True and finished["utility_working_days"] == 0
    error(complete(api_as("engineer"), app["number"], "connection"), 409, "application_closed")


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_complete_non_current_stage_is_409(api_as):
    app = create(api_as("clerk"))
    before = Event.objects.count()
    error(complete(api_as("alice"), app["number"], "connection"), 409, "stage_conflict")
    error(complete(api_as("alice"), app["number"], "acceptance"), 409, "stage_conflict")
    error(complete(api_as("alice"), app["number"], "no_such_stage"), 404, "stage_not_found")
    assert Event.objects.count() == before
    assert ok(api_as("alice").get(f"{APPS}/{app['number']}"))["current_stage"] == "survey"


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_complete_body_validation(api_as):
    app = create(api_as("clerk"))
    alice = api_as("alice")
    r = complete(alice, app["number"], "survey", outcome="failed", defects=["x"])
    assert r.status_code == 422 and "outcome" in r.json()["fields"]
    r = complete(alice, app["number"], "survey", defects="not a list")
    assert r.status_code == 422 and "defects" in r.json()["fields"]
    r = complete(alice, app["number"], "survey", note=5)
    assert r.status_code == 422 and "note" in r.json()["fields"]
    r = complete(alice, app["number"], "survey", outcome=3)
    assert r.status_code == 422 and "outcome" in r.json()["fields"]


def _hv_at_design_review(api_as) -> str:
    """An hv_single application whose design review is current."""
    number = create(api_as("clerk"), hv_body())["number"]
    alice = api_as("alice")
    ok(complete(alice, number, "scheme"))
    ok(complete(alice, number, "customer_design"))
    return number


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_review_needs_an_outcome_and_failed_needs_defects(api_as):
    number = _hv_at_design_review(api_as)
    engineer = api_as("engineer", "en")
    r = complete(engineer, number, "design_review", outcome="failed")
    assert r.status_code == 422
    assert set(r.json()["fields"]) == {"defects"}
    r = complete(engineer, number, "design_review", outcome="failed", defects=["  ", ""])
    assert r.status_code == 422 and set(r.json()["fields"]) == {"defects"}
    r = complete(engineer, number, "design_review")
    assert r.status_code == 422 and set(r.json()["fields"]) == {"outcome"}
    r = complete(engineer, number, "design_review", outcome="maybe")
    assert r.status_code == 422 and set(r.json()["fields"]) == {"outcome"}
    assert ok(engineer.get(f"{APPS}/{number}"))["current_stage"] == "design_review"


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_failed_review_adds_new_rounds_in_order(api_as):
    number = _hv_at_design_review(api_as)
    engineer = api_as("engineer")
    app = ok(complete(engineer, number, "design_review", outcome="failed", defects=["接地设计不符合规范"]))
    assert app["current_stage"] == "customer_design"
    assert [(s["code"], s["round"], s["status"]) for s in app["stages"]] == [
        ("acceptance", 1, "completed"),
        ("scheme", 1, "completed"),
        ("customer_design", 1, "completed"),
        ("design_review", 1, "completed"),
        ("customer_design", 2, "in_progress"),
        ("design_review", 2, "pending"),
        ("customer_construction", 1, "pending"),
        ("mid_inspection", 1, "pending"),
        ("customer_completion", 1, "pending"),
        ("completion_inspection", 1, "pending"),
        ("customer_formalities", 1, "pending"),
        ("connection", 1, "pending"),
    ]
    failed = stage(app, "design_review")
    assert failed["outcome"] == "failed" and failed["defects"] == ["接地设计不符合规范"]
    ok(complete(api_as("alice"), number, "customer_design"))
    app = ok(complete(engineer, number, "design_review", outcome="failed", defects=["仍不合格"]))
    assert [(s["code"], s["round"]) for s in app["stages"]][4:9] == [
        ("customer_design", 2),
        ("design_review", 2),
        ("customer_design", 3),
        ("design_review", 3),
        ("customer_construction", 1),
    ]
    ok(complete(api_as("alice"), number, "customer_design"))
    app = ok(complete(engineer, number, "design_review", outcome="passed"))
    assert app["current_stage"] == "customer_construction"
    assert stage(app, "design_review", 3)["outcome"] == "passed"
    assert stage(app, "design_review", 3)["on_time"] is True


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_skip_optional_and_not_optional(api_as):
    number = create(api_as("clerk"), intake_body(category="lv_non_residential"))["number"]
    alice = api_as("alice")
    # grid_works is optional and may be skipped before it starts
    app = ok(alice.post(f"{APPS}/{number}/stages/grid_works/skip", {"reason": "无需电网配套工程"}))
    assert stage(app, "grid_works")["status"] == "skipped"
    assert stage(app, "grid_works")["deadline"] is None and stage(app, "grid_works")["on_time"] is None
    assert app["current_stage"] == "survey"
    error(alice.post(f"{APPS}/{number}/stages/survey/skip", {"reason": "x"}), 409, "stage_not_optional")
    error(alice.post(f"{APPS}/{number}/stages/grid_works/skip", {"reason": "again"}), 409, "stage_conflict")
    r = alice.post(f"{APPS}/{number}/stages/survey/skip", {})
    assert r.status_code == 422 and "reason" in r.json()["fields"]
    ok(complete(alice, number, "survey"))
    app = ok(complete(alice, number, "scheme"))
    assert app["current_stage"] == "connection"


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_skip_current_optional_stage_advances(api_as):
    number = _hv_at_design_review(api_as)
    app = ok(api_as("engineer").post(f"{APPS}/{number}/stages/design_review/skip", {"reason": "低风险,免审"}))
    assert app["current_stage"] == "customer_construction"
    assert stage(app, "design_review")["status"] == "skipped"


# --- pause, resume, cancel ----------------------------------------------------------------------


def test_pause_resume_cancel(api_as):
    with time_machine.travel("2026-11-26 10:00 +0800", tick=False):  # Thu
        number = create(api_as("clerk"))["number"]  # survey deadline: Fri 11-27, Mon 11-30
        alice = api_as("alice")
    with time_machine.travel("2026-11-27 16:00 +0800", tick=False):  # Fri
        app = ok(alice.post(f"{APPS}/{number}/pause", {"reason_code": "missing_documents", "reason": "缺产权证明"}))
        assert app["status"] == "paused" and app["current_stage"] == "survey"
        survey = stage(app, "survey")
        assert survey["status"] == "paused" and survey["paused_working_days"] == 0
        assert survey["deadline"] == "2026-11-30"
        error(
            alice.post(f"{APPS}/{number}/pause", {"reason_code": "customer_request", "reason": "再停"}),
            409,
            "already_paused",
        )
        error(complete(alice, number, "survey"), 409, "application_paused")
    with time_machine.travel("2026-11-28 10:00 +0800", tick=False):  # Sat: still 0 days
        assert stage(ok(alice.get(f"{APPS}/{number}")), "survey")["paused_working_days"] == 0
    with time_machine.travel("2026-11-30 09:00 +0800", tick=False):  # Mon
        survey = stage(ok(alice.get(f"{APPS}/{number}")), "survey")
        assert survey["paused_working_days"] == 1 and survey["deadline"] == "2026-12-01"
        app = ok(alice.post(f"{APPS}/{number}/resume"))
        assert app["status"] == "in_progress"
        survey = stage(app, "survey")
        assert survey["status"] == "in_progress"
        assert survey["paused_working_days"] == 1
        assert survey["deadline"] == "2026-12-01"
        # (11-26, 11-30] = Fri, Mon = 2 working days, minus 1 paused
        assert survey["working_days_used"] == 1
        error(alice.post(f"{APPS}/{number}/resume"), 409, "not_paused")
    with time_machine.travel("2026-12-01 09:00 +0800", tick=False):
        app = ok(alice.post(f"{APPS}/{number}/cancel", {"reason": "客户撤回申请"}))
        assert app["status"] == "cancelled" and app["current_stage"] is None
        assert all(s["overdue"] in (False, None) for s in app["stages"])
        error(alice.post(f"{APPS}/{number}/cancel", {"reason": "again"}), 409, "application_closed")
        error(
            alice.post(f"{APPS}/{number}/pause", {"reason_code": "customer_request", "reason": "x"}),
            409,
            "application_closed",
        )
    types = [e["type"] for e in ok(alice.get(f"{APPS}/{number}/events"))["results"]]
    assert types == [
        "intake",
        "stage_started",
        "stage_completed",
        "stage_started",
        "paused",
        "resumed",
        "cancelled",
    ]


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_pause_validation(api_as):
    number = create(api_as("clerk"))["number"]
    r = api_as("alice").post(f"{APPS}/{number}/pause", {"reason_code": "bored"})
    assert r.status_code == 422
    assert set(r.json()["fields"]) == {"reason_code", "reason"}
    r = api_as("alice").post(f"{APPS}/{number}/cancel", {})
    assert r.status_code == 422 and set(r.json()["fields"]) == {"reason"}


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_pause_only_while_a_utility_stage_runs(api_as):
    number = create(api_as("clerk"), hv_body())["number"]
    ok(complete(api_as("alice"), number, "scheme"))  # customer_design now
    error(
        api_as("alice").post(f"{APPS}/{number}/pause", {"reason_code": "customer_request", "reason": "x"}),
        409,
        "stage_conflict",
    )


def test_pause_and_resume_same_day_covers_zero_days(api_as):
    with time_machine.travel("2026-11-30 09:00 +0800", tick=False):
        number = create(api_as("clerk"))["number"]
        alice = api_as("alice")
        ok(alice.post(f"{APPS}/{number}/pause", {"reason_code": "customer_request", "reason": "x"}))
    with time_machine.travel("2026-11-30 17:00 +0800", tick=False):
        app = ok(alice.post(f"{APPS}/{number}/resume"))
    survey = stage(app, "survey")
    assert survey["paused_working_days"] == 0 and survey["deadline"] == "2026-12-02"


# --- events -------------------------------------------------------------------------------------


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_events_oldest_first_with_the_contract_fields(api_as):
    number = create(api_as("clerk"), intake_body(category="lv_non_residential"))["number"]
    alice = api_as("alice")
    ok(alice.post(f"{APPS}/{number}/stages/grid_works/skip", {"reason": "不需要"}))
    ok(complete(alice, number, "survey"))
    body = ok(alice.get(f"{APPS}/{number}/events"))
    assert set(body) == {"results"}
    events = body["results"]
    for e in events:
        assert set(e) >= EVENT_KEYS
        assert TS.match(e["at"]), e["at"]
        assert isinstance(e["data"], dict)
    assert [(e["type"], e["stage"], e["round"], e["actor"]) for e in events] == [
        ("intake", None, None, "clerk"),
        ("stage_started", "acceptance", 1, "clerk"),
        ("stage_completed", "acceptance", 1, "clerk"),
        ("stage_started", "survey", 1, "clerk"),
        ("stage_skipped", "grid_works", 1, "alice"),
        ("stage_completed", "survey", 1, "alice"),
        ("stage_started", "scheme", 1, "alice"),
    ]
    assert events[0]["data"]["channel"] == "counter"
    assert events[4]["data"]["reason"] == "不需要"


# --- deadline semantics (normative) -------------------------------------------------------------


def test_online_intake_on_a_holiday(api_as):
    """Online lv_residential intake on Fri 2026-09-25 (中秋, off): acceptance (1 day) is due on
    the next working day, Mon 09-28; overdue from 09-29."""
    with time_machine.travel("2026-09-25 20:30 +0800", tick=False):
        app = create(api_as("clerk"), intake_body(channel="online"))
        number = app["number"]
        acceptance = stage(app, "acceptance")
        assert app["current_stage"] == "acceptance"
        assert acceptance["status"] == "in_progress"
        assert acceptance["started_at"] == "2026-09-25T20:30:00+08:00"
        assert acceptance["deadline"] == "2026-09-28"
        assert acceptance["overdue"] is False
    with time_machine.travel("2026-09-28 17:00 +0800", tick=False):
        acceptance = stage(ok(api_as("clerk").get(f"{APPS}/{number}")), "acceptance")
        assert acceptance["overdue"] is False and acceptance["working_days_used"] == 1
    with time_machine.travel("2026-09-29 08:00 +0800", tick=False):
        acceptance = stage(ok(api_as("clerk").get(f"{APPS}/{number}")), "acceptance")
        assert acceptance["overdue"] is True and acceptance["working_days_used"] == 2
        assert numbers(api_as("leader").get(APPS, overdue="true")) == [number]
        app = ok(complete(api_as("clerk"), number, "acceptance"))
        acceptance = stage(app, "acceptance")
        assert acceptance["on_time"] is False and acceptance["overdue"] is False
        assert acceptance["working_days_used"] == 2
        # survey from Tue 09-29: 09-30 is day 1, 10-01..10-07 off, Thu 10-08 is day 2
        assert stage(app, "survey")["deadline"] == "2026-10-08"
        assert numbers(api_as("leader").get(APPS, overdue="true")) == []
    with time_machine.travel("2026-10-08 12:00 +0800", tick=False):
        assert stage(ok(api_as("clerk").get(f"{APPS}/{number}")), "survey")["overdue"] is False
        ok(complete(api_as("engineer"), number, "survey"))
    with time_machine.travel("2026-10-10 12:00 +0800", tick=False):  # Sat, worked (调休)
        # connection from Thu 10-08: Fri 10-09, Sat 10-10 -> due 10-10
        app = ok(api_as("clerk").get(f"{APPS}/{number}"))
        assert stage(app, "connection")["deadline"] == "2026-10-10"
        app = ok(complete(api_as("engineer"), number, "connection"))
    assert app["status"] == "completed"
    # acceptance 2 + survey (09-29, 10-08] = 2 + connection (10-08, 10-10] = 2
    assert app["utility_working_days"] == 6
    assert app["process_time_limit_days"] == 5
    assert app["on_time"] is False


def test_pause_friday_resume_monday_extends_by_one(api_as):
    with time_machine.travel("2026-12-03 10:00 +0800", tick=False):  # Thu
        number = create(api_as("clerk"))["number"]
        # survey from Thu 12-03: Fri 12-04, Mon 12-07
        assert stage(ok(api_as("alice").get(f"{APPS}/{number}")), "survey")["deadline"] == "2026-12-07"
    with time_machine.travel("2026-12-04 11:00 +0800", tick=False):  # Fri
        ok(
            api_as("alice").post(
                f"{APPS}/{number}/pause", {"reason_code": "government_approval", "reason": "等待规划许可"}
            )
        )
    with time_machine.travel("2026-12-07 09:00 +0800", tick=False):  # Mon
        app = ok(api_as("alice").post(f"{APPS}/{number}/resume"))
    survey = stage(app, "survey")
    assert survey["paused_working_days"] == 1
    assert survey["deadline"] == "2026-12-08"
    with time_machine.travel("2026-12-08 17:00 +0800", tick=False):
        assert stage(ok(api_as("alice").get(f"{APPS}/{number}")), "survey")["overdue"] is False
    with time_machine.travel("2026-12-09 08:00 +0800", tick=False):
        survey = stage(ok(api_as("alice").get(f"{APPS}/{number}")), "survey")
        assert survey["overdue"] is True
        # (12-03, 12-09] = 4 working days, minus 1 paused
        assert survey["working_days_used"] == 3
        assert number in numbers(api_as("leader").get(APPS, overdue="true"))
    events = ok(api_as("alice").get(f"{APPS}/{number}/events"))["results"]
    resumed = next(e for e in events if e["type"] == "resumed")
    assert resumed["stage"] == "survey" and resumed["round"] == 1 and resumed["actor"] == "alice"


def test_a_paused_stage_becomes_overdue_only_after_its_extended_deadline(api_as):
    with time_machine.travel("2026-12-03 10:00 +0800", tick=False):  # Thu; survey due Mon 12-07
        number = create(api_as("clerk"))["number"]
    with time_machine.travel("2026-12-07 10:00 +0800", tick=False):  # Mon, the deadline day
        ok(api_as("alice").post(f"{APPS}/{number}/pause", {"reason_code": "customer_request", "reason": "x"}))
    with time_machine.travel("2026-12-10 10:00 +0800", tick=False):  # still paused: 3 days covered
        survey = stage(ok(api_as("alice").get(f"{APPS}/{number}")), "survey")
        assert survey["paused_working_days"] == 3
        assert survey["deadline"] == "2026-12-10"
        assert survey["overdue"] is False
        assert number not in numbers(api_as("leader").get(APPS, overdue="true"))
