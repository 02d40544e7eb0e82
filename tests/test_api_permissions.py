"""API v1 permission matrix: every application endpoint × every persona.

Roles (sunshine/applications/access.py, actor_roles in sunshine/processes/defaults.py):
- anonymous → 401; a user without a staff role (outsider) → 403;
- a customer manager sees and acts on their own applications only (bob on alice's case → 403);
- the auditor reads everything and changes nothing;
- intake: admin, clerk, customer managers, leader; pause/resume: the same;
- cancel: admin, the case's customer manager, leader; reassign: admin, leader;
- stage work: the roles the process names for the stage (acceptance: clerk and customer
  manager; survey/scheme/grid works/connection: customer manager, leader, engineer; reviews and
  inspections: engineer), and the admin always.

A denied call must change nothing: the application's status, current stage, stages and event
count are compared before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import time_machine

from sunshine.applications.models import Application, Event
from tests.conftest import ApiClient, intake_body

pytestmark = pytest.mark.django_db

APPS = "/api/v1/applications"
USCC = "91140100MA0K000004"

PERSONAS = ["anonymous", "outsider", "clerk", "alice", "bob", "engineer", "leader", "auditor", "admin"]


def _client(api_as, persona: str) -> ApiClient:
    return api_as(None if persona == "anonymous" else persona)


# --- set-ups: each returns the number of an application of alice's in the right state ---------


def _setup(api_as, body: dict[str, Any], then: Callable[[ApiClient, str], None] | None = None) -> str:
    r = api_as("clerk").post(APPS, body)
    assert r.status_code == 201, r.content
    number = r.json()["number"]
    assert r.json()["customer_manager"]["username"] == "alice"
    if then:
        then(api_as("admin"), number)
    return number


def residential(api_as) -> str:  # survey is current
    return _setup(api_as, intake_body())


def online(api_as) -> str:  # acceptance is current
    return _setup(api_as, intake_body(channel="online"))


def non_residential(api_as) -> str:  # survey is current, grid_works (optional) pending
    return _setup(api_as, intake_body(category="lv_non_residential"))


def at_design_review(api_as) -> str:
    def then(admin: ApiClient, number: str) -> None:
        for code in ("scheme", "customer_design"):
            assert admin.post(f"{APPS}/{number}/stages/{code}/complete", {}).status_code == 200

    body = intake_body(
        category="hv_single",
        requested_capacity=630,
        capacity_unit="kVA",
        customer__id_type="uscc",
        customer__id_number=USCC,
        customer__name="某某有限公司",
    )
    return _setup(api_as, body, then)


def paused(api_as) -> str:
    def then(admin: ApiClient, number: str) -> None:
        r = admin.post(f"{APPS}/{number}/pause", {"reason_code": "customer_request", "reason": "客户要求"})
        assert r.status_code == 200, r.content

    return _setup(api_as, intake_body(), then)


# action: (set-up, method, path template, body, {persona: expected status})
R, W = "GET", "POST"
READ = {
    "anonymous": 401,
    "outsider": 403,
    "clerk": 200,
    "alice": 200,
    "bob": 403,
    "engineer": 200,
    "leader": 200,
    "auditor": 200,
    "admin": 200,
}


def expect(allowed: set[str], ok: int = 200) -> dict[str, int]:
    out = {"anonymous": 401, "outsider": 403}
    for p in PERSONAS[2:]:
        out[p] = ok if p in allowed else 403
    return out


ACTIONS: dict[str, tuple[Callable[[Any], str], str, str, dict[str, Any] | None, dict[str, int]]] = {
    "detail": (residential, R, "{n}", None, READ),
    "events": (residential, R, "{n}/events", None, READ),
    "complete_acceptance": (
        online,
        W,
        "{n}/stages/acceptance/complete",
        {},
        expect({"clerk", "alice", "admin"}),
    ),
    "complete_survey": (
        residential,
        W,
        "{n}/stages/survey/complete",
        {"note": "ok"},
        expect({"alice", "engineer", "leader", "admin"}),
    ),
    "complete_design_review": (
        at_design_review,
        W,
        "{n}/stages/design_review/complete",
        {"outcome": "passed"},
        expect({"engineer", "admin"}),
    ),
    "fail_design_review": (
        at_design_review,
        W,
        "{n}/stages/design_review/complete",
        {"outcome": "failed", "defects": ["图纸缺页"]},
        expect({"engineer", "admin"}),
    ),
    "skip_grid_works": (
        non_residential,
        W,
        "{n}/stages/grid_works/skip",
        {"reason": "无需配套"},
        expect({"alice", "engineer", "leader", "admin"}),
    ),
    "skip_design_review": (
        at_design_review,
        W,
        "{n}/stages/design_review/skip",
        {"reason": "免审"},
        expect({"engineer", "admin"}),
    ),
    "pause": (
        residential,
        W,
        "{n}/pause",
        {"reason_code": "missing_documents", "reason": "缺资料"},
        expect({"clerk", "alice", "leader", "admin"}),
    ),
    "resume": (paused, W, "{n}/resume", {}, expect({"clerk", "alice", "leader", "admin"})),
    "cancel": (residential, W, "{n}/cancel", {"reason": "客户撤回"}, expect({"alice", "leader", "admin"})),
    "reassign": (
        residential,
        W,
        "{n}/reassign",
        {"customer_manager": "bob", "reason": "调整"},
        expect({"leader", "admin"}),
    ),
}


def snapshot(number: str) -> tuple[Any, ...]:
    app = Application.objects.get(number=number)
    stages = tuple(app.stages.order_by("seq").values_list("code", "round", "status", "deadline", "outcome"))
    pauses = tuple(app.pauses.order_by("id").values_list("started_at", "ended_at"))
    return (
        app.status,
        app.current_stage,
        app.customer_manager_id,
        app.cancelled_at,
        stages,
        pauses,
        Event.objects.filter(application=app).count(),
    )


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_matrix(api_as, action, persona):
    setup, method, template, body, expected = ACTIONS[action]
    number = setup(api_as)
    api = _client(api_as, persona)
    before = snapshot(number)
    events_before = Event.objects.filter(application__number=number).count()
    path = f"{APPS}/{template.format(n=number)}"
    r = api.get(path) if method == R else api.post(path, body)
    assert r.status_code == expected[persona], (action, persona, r.content)
    if r.status_code >= 400:
        err = r.json()
        assert set(err) == {"code", "message"}
        assert err["code"] == {401: "unauthorized", 403: "forbidden"}[r.status_code]
        assert snapshot(number) == before
    elif method == W:
        assert r.json()["number"] == number
        assert Event.objects.filter(application__number=number).count() > events_before
    else:
        assert snapshot(number) == before


INTAKE = {
    "anonymous": 401,
    "outsider": 403,
    "clerk": 201,
    "alice": 201,
    "bob": 201,
    "engineer": 403,
    "leader": 201,
    "auditor": 403,
    "admin": 201,
}


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
@pytest.mark.parametrize("persona", PERSONAS)
def test_intake(api_as, persona):
    api = _client(api_as, persona)
    r = api.post(APPS, intake_body())
    assert r.status_code == INTAKE[persona], r.content
    assert Application.objects.count() == (1 if r.status_code == 201 else 0)
    if r.status_code >= 400:
        assert set(r.json()) == {"code", "message"}
        assert not Event.objects.exists()
    else:
        assert r.json()["customer_manager"]["username"] == "alice"


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
@pytest.mark.parametrize("persona", PERSONAS)
def test_list(api_as, persona):
    mine = residential(api_as)  # alice's
    r = _client(api_as, persona).get(APPS)
    expected = {"anonymous": 401, "outsider": 403}.get(persona, 200)
    assert r.status_code == expected, r.content
    if expected == 200:
        visible = [row["number"] for row in r.json()["results"]]
        assert visible == ([] if persona == "bob" else [mine])


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_unknown_number_is_404_before_any_role_check(api_as):
    for persona in ("bob", "auditor", "engineer"):
        r = _client(api_as, persona).post(f"{APPS}/YK2611270000000/cancel", {"reason": "x"})
        assert r.status_code == 404, (persona, r.content)
        assert r.json()["code"] == "application_not_found"


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_reassigned_case_moves_between_managers(api_as):
    number = residential(api_as)
    r = api_as("leader").post(f"{APPS}/{number}/reassign", {"customer_manager": "bob", "reason": "alice 休假"})
    assert r.status_code == 200 and r.json()["customer_manager"]["username"] == "bob"
    assert api_as("alice").get(f"{APPS}/{number}").status_code == 403
    assert api_as("bob").get(f"{APPS}/{number}").status_code == 200
    assert api_as("bob").post(f"{APPS}/{number}/stages/survey/complete", {}).status_code == 200
    events = api_as("bob").get(f"{APPS}/{number}/events").json()["results"]
    reassigned = next(e for e in events if e["type"] == "reassigned")
    assert reassigned["actor"] == "leader"
    assert reassigned["data"]["from"] == "alice" and reassigned["data"]["to"] == "bob"


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_session_signed_in_staff_need_csrf_for_writes(api_as, personas):
    """The workbench calls the API with its session: reads work, writes need the CSRF token."""
    from django.test import Client

    number = residential(api_as)
    c = Client(enforce_csrf_checks=True)
    c.force_login(personas["alice"])
    assert c.get(f"{APPS}/{number}").status_code == 200
    before = snapshot(number)
    r = c.post(f"{APPS}/{number}/cancel", '{"reason": "x"}', content_type="application/json")
    assert r.status_code == 401, r.content
    assert snapshot(number) == before
