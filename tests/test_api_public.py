"""API v1, public endpoints (no login): progress look-up, published time limits, the OpenAPI
document and the interactive docs (api-v1.md, "Public")."""

from __future__ import annotations

import json

import pytest
import time_machine
from django.test import Client, override_settings

from tests.conftest import intake_body

pytestmark = pytest.mark.django_db

PUBLIC = "/api/v1/public/applications"
ID_NUMBER = "11010519491231002X"
PHONE = "13800138000"


@pytest.fixture
def number(api_as) -> str:
    with time_machine.travel("2026-11-26 10:00 +0800", tick=False):  # Thu
        r = api_as("clerk").post("/api/v1/applications", intake_body())
        assert r.status_code == 201, r.content
        n = r.json()["number"]
    with time_machine.travel("2026-11-27 10:00 +0800", tick=False):
        r = api_as("alice").post(
            f"/api/v1/applications/{n}/pause",
            {"reason_code": "missing_documents", "reason": "请补交房产证明"},
        )
        assert r.status_code == 200, r.content
    return n


@time_machine.travel("2026-11-30 10:00 +0800", tick=False)
def test_progress_with_the_right_phone_tail(number):
    r = Client().get(f"{PUBLIC}/{number}", {"phone_tail": "8000"})
    assert r.status_code == 200, r.content
    text = r.content.decode()
    body = r.json()
    assert body["number"] == number
    assert body["category"] == "lv_residential"
    assert body["status"] == "paused"
    assert body["customer_name"] == "张*"
    assert "张三" not in text
    assert ID_NUMBER not in text and ID_NUMBER.lower() not in text and "19491231" not in text
    assert PHONE not in text
    assert "id_number" not in text
    assert body["customer_manager"] == {"name": "李爱", "phone": "0351-1111111"}
    assert [s["code"] for s in body["stages"]] == ["acceptance", "survey", "connection"]
    survey = body["stages"][1]
    assert survey["status"] == "paused"
    assert survey["started_on"] == "2026-11-26"
    # survey from Thu 11-26: 2 days -> Mon 11-30; paused from Fri 11-27 covering Mon 11-30 -> Tue 12-01
    assert survey["deadline"] == "2026-12-01"
    assert survey["overdue"] is False
    assert [(p["reason_code"], p["reason"], p["started_on"], p["ended_on"]) for p in survey["pause_reasons"]] == [
        ("missing_documents", "请补交房产证明", "2026-11-27", None)
    ]
    assert body["stages"][0]["on_time"] is True
    assert body["stages"][2]["deadline"] is None


@time_machine.travel("2026-11-30 10:00 +0800", tick=False)
def test_number_is_case_and_space_tolerant(number):
    assert Client().get(f"{PUBLIC}/{number.lower()}", {"phone_tail": " 8000 "}).status_code == 200


@pytest.mark.parametrize("tail", ["0000", "800", "38000", "", "abcd", "13800138000"])
def test_wrong_tail_is_the_same_404_as_an_unknown_number(number, tail):
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    wrong = c.get(f"{PUBLIC}/{number}", {"phone_tail": tail})
    unknown = c.get(f"{PUBLIC}/YK2611260000000", {"phone_tail": "8000"})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.content == unknown.content
    assert wrong.json() == {
        "code": "application_not_found",
        "message": "No application matches this number and phone number ending.",
    }
    assert number not in wrong.content.decode()


def test_missing_tail_is_404(number):
    r = Client().get(f"{PUBLIC}/{number}")
    assert r.status_code == 404 and r.json()["code"] == "application_not_found"


@override_settings(SUNSHINE_PUBLIC_LOOKUPS=3)
def test_too_many_lookups_from_one_client_is_429(number):
    c = Client(REMOTE_ADDR="203.0.113.7", HTTP_ACCEPT_LANGUAGE="en")
    assert c.get(f"{PUBLIC}/YK2611260000000", {"phone_tail": "1234"}).status_code == 404
    assert c.get(f"{PUBLIC}/{number}", {"phone_tail": "0000"}).status_code == 404
    assert c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"}).status_code == 200
    r = c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"})  # even the right pair
    assert r.status_code == 429, r.content
    assert set(r.json()) == {"code", "message"}
    assert r.json()["code"] == "throttled"
    assert int(r["Retry-After"]) > 0
    assert number not in r.content.decode()
    # another client is not affected
    other = Client(REMOTE_ADDR="198.51.100.9")
    assert other.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"}).status_code == 200


def test_default_limit_is_twenty(number, settings):
    assert settings.SUNSHINE_PUBLIC_LOOKUPS == 20
    c = Client(REMOTE_ADDR="203.0.113.8")
    # the right pair (wrong endings would lock the number first: tests/test_public_lookup_budgets.py)
    codes = [c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"}).status_code for _ in range(21)]
    assert codes == [200] * 20 + [429]


def test_public_endpoints_need_no_login_and_ignore_bad_tokens(number):
    r = Client().get(f"{PUBLIC}/{number}", {"phone_tail": "8000"}, HTTP_AUTHORIZATION="Bearer junk")
    assert r.status_code == 200
    assert Client().get("/api/v1/public/time-limits", HTTP_AUTHORIZATION="Bearer junk").status_code == 200


# --- published limits ---------------------------------------------------------------------------

DEFAULT_TABLE = {
    "lv_residential": ([("acceptance", 1, False), ("survey", 2, False), ("connection", 2, False)], 5),
    "lv_non_residential": (
        [
            ("acceptance", 1, False),
            ("survey", 2, False),
            ("scheme", 3, False),
            ("grid_works", 7, True),
            ("connection", 2, False),
        ],
        15,
    ),
    "hv_single": (
        [
            ("acceptance", 1, False),
            ("scheme", 15, False),
            ("customer_design", None, False),
            ("design_review", 10, True),
            ("customer_construction", None, False),
            ("mid_inspection", 5, True),
            ("customer_completion", None, False),
            ("completion_inspection", 5, False),
            ("customer_formalities", None, False),
            ("connection", 5, False),
        ],
        None,
    ),
}
DEFAULT_TABLE["hv_dual"] = (
    [(c, 30 if c == "scheme" else d, o) for c, d, o in DEFAULT_TABLE["hv_single"][0]],
    None,
)


def test_time_limits_are_the_default_table():
    r = Client().get("/api/v1/public/time-limits")
    assert r.status_code == 200, r.content
    body = r.json()
    assert [p["category"] for p in body] == ["lv_residential", "lv_non_residential", "hv_single", "hv_dual"]
    for p in body:
        stages, end_to_end = DEFAULT_TABLE[p["category"]]
        assert [(s["code"], s["time_limit_days"], s["optional"]) for s in p["stages"]] == stages
        assert p["end_to_end_limit_days"] == end_to_end
        for s in p["stages"]:
            assert s["owner"] == ("customer" if s["code"].startswith("customer_") else "utility")
            assert isinstance(s["name"], str) and s["name"]


def test_time_limits_names_follow_the_language():
    zh = Client().get("/api/v1/public/time-limits").json()
    en = Client().get("/api/v1/public/time-limits", HTTP_ACCEPT_LANGUAGE="en").json()
    assert zh[0]["stages"][0]["name"] == "业务受理"
    assert en[0]["stages"][0]["name"] == "Acceptance"


# --- OpenAPI and docs ---------------------------------------------------------------------------


def test_openapi_document():
    r = Client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = json.loads(r.content)
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path, methods in {
        "/api/v1/auth/token": {"post"},
        "/api/v1/applications": {"get", "post"},
        "/api/v1/applications/{number}": {"get"},
        "/api/v1/applications/{number}/stages/{code}/complete": {"post"},
        "/api/v1/applications/{number}/stages/{code}/skip": {"post"},
        "/api/v1/applications/{number}/pause": {"post"},
        "/api/v1/applications/{number}/resume": {"post"},
        "/api/v1/applications/{number}/cancel": {"post"},
        "/api/v1/applications/{number}/events": {"get"},
        "/api/v1/public/applications/{number}": {"get"},
        "/api/v1/public/time-limits": {"get"},
    }.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    intake = paths["/api/v1/applications"]["post"]
    assert "201" in intake["responses"]
    ref = intake["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert {"category", "customer", "requested_capacity"} <= set(schema["properties"])
    params = {p["name"] for p in paths["/api/v1/applications"]["get"]["parameters"]}
    assert {
        "status",
        "category",
        "stage",
        "overdue",
        "customer_manager",
        "key_project",
        "page",
        "page_size",
    } <= params


def test_docs_page():
    r = Client().get("/api/v1/docs")
    assert r.status_code == 200
    assert b"openapi.json" in r.content
