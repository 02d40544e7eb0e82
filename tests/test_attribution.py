"""Work is counted for the customer manager who held it (issue: fair evaluation).

November 2026 has no holidays: Fri 10-30, Mon 11-02 … Fri 11-06, Mon 11-09.
A residential case accepted at the counter on Fri 10-30 by Alice: the survey (2 working days)
is due Tue 11-03 and completed late on Thu 11-05; the connection starts then (due Mon 11-09)
under Alice, the case is reassigned to Bob on Fri 11-06 and Bob connects it on Mon 11-09, on time.
"""

from __future__ import annotations

import importlib
from datetime import date

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core.management import call_command

from sunshine.applications import services
from sunshine.applications.models import Event, StageInstance
from sunshine.applications.validation import validate_intake
from tests.conftest import ApiClient, intake_body

pytestmark = pytest.mark.django_db


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


@pytest.fixture
def case(personas):
    with at("2026-10-30"):
        app = services.intake(validate_intake(intake_body(), date(2026, 10, 30)), personas["clerk"]).application
    assert app.customer_manager == personas["alice"]
    with at("2026-11-05"):
        r = ApiClient(personas["engineer"]).post(f"/api/v1/applications/{app.number}/stages/survey/complete")
        assert r.status_code == 200, r.content
    with at("2026-11-06"):
        r = ApiClient(personas["leader"]).post(
            f"/api/v1/applications/{app.number}/reassign", {"customer_manager": "bob", "reason": "李爱休假"}
        )
        assert r.status_code == 200, r.content
    with at("2026-11-09"):
        r = ApiClient(personas["bob"]).post(f"/api/v1/applications/{app.number}/stages/connection/complete")
        assert r.status_code == 200, r.content
    return app


def holders(app) -> list[tuple[str, str | None, bool]]:
    return [
        (s.code, s.manager.username if s.manager else None, s.completed_on is not None and s.completed_on <= s.deadline)
        for s in StageInstance.objects.filter(application=app, owner="utility").select_related("manager")
    ]


def test_each_stage_keeps_the_manager_who_held_it_and_the_event_says_which_moved(case, personas):
    assert holders(case) == [("acceptance", "alice", True), ("survey", "alice", False), ("connection", "bob", True)]
    event = Event.objects.get(application=case, type="reassigned")
    assert event.data == {"from": "alice", "to": "bob", "reason": "李爱休假", "stages_moved": ["connection"]}


def test_the_late_stage_counts_for_the_first_manager_only(case, personas, capsys):
    call_command("evaluate", "--period", "2026-11")
    assert "2026-11 v1 frozen (2026-11-01 – 2026-11-30)" in capsys.readouterr().out
    body = ApiClient(personas["leader"]).get("/api/v1/evaluations/2026-11").json()
    on_time = {r["username"]: r["breakdown"].get("on_time") for r in body["results"]}
    # Alice: the late survey (0 of 1 on time); Bob: only the connection he did, on time. (No
    # follow-up call yet: the on-time weight is scaled up from 40 to 57.14.)
    assert on_time["alice"] == {"on_time": 0, "completed": 1, "fraction": "0.0000", "weight": "57.14", "points": "0.00"}
    assert on_time["bob"] == {"on_time": 1, "completed": 1, "fraction": "1.0000", "weight": "57.14", "points": "57.14"}
    # a frozen evaluation stays as frozen: another reassignment later changes nothing in it
    before = ApiClient(personas["leader"]).get("/api/v1/evaluations/2026-11").json()
    StageInstance.objects.filter(application=case).update(manager=personas["bob"])
    assert ApiClient(personas["leader"]).get("/api/v1/evaluations/2026-11").json() == before


def test_the_migration_fills_existing_stages_from_the_reassignment_history(case, personas):
    StageInstance.objects.update(manager=None)
    migration = importlib.import_module("sunshine.applications.migrations.0012_stage_manager")
    migration.fill(django_apps, None)
    assert holders(case) == [("acceptance", "alice", True), ("survey", "alice", False), ("connection", "bob", True)]


# --- the concentration monitor and the report's manager filter count by the holder -----------------

_codes = iter(range(10**9))


def unit(name: str, kind: str):
    from sunshine.directory.models import Contractor

    return Contractor.objects.create(
        kind=kind,
        name=name,
        credit_code=f"91140100{next(_codes):010d}",
        licence_class="ims_4" if kind == "construction" else "",
        contact_phone="0351-0000000",
        area_served="太原市",
    )


def test_a_choice_counts_for_the_manager_who_held_the_case_when_it_was_made(personas):
    """Alice holds the case when the customer names the builder (11-05); Bob holds it when the
    customer names the designer (11-09), after the reassignment of 11-06. Each choice stays with
    the holder of its day, also once the case has moved on."""
    from sunshine.directory.models import ContractorChoice
    from sunshine.feedback import concentration

    builder, designer = unit("晋阳电力工程公司", "construction"), unit("并州设计院", "design")
    with at("2026-10-30"):
        app = services.intake(validate_intake(intake_body(), date(2026, 10, 30)), personas["clerk"]).application
    with at("2026-11-05"):
        r = ApiClient(personas["clerk"]).post(
            f"/api/v1/applications/{app.number}/contractor-choices",
            {"kind": "construction", "contractor_id": builder.pk},
        )
        assert r.status_code == 200, r.content
    with at("2026-11-06"):
        r = ApiClient(personas["leader"]).post(
            f"/api/v1/applications/{app.number}/reassign", {"customer_manager": "bob", "reason": "李爱休假"}
        )
        assert r.status_code == 200, r.content
    with at("2026-11-09"):
        r = ApiClient(personas["clerk"]).post(
            f"/api/v1/applications/{app.number}/contractor-choices", {"kind": "design", "contractor_id": designer.pk}
        )
        assert r.status_code == 200, r.content
    assert sorted(ContractorChoice.objects.values_list("kind", "manager__username")) == [
        ("construction", "alice"),
        ("design", "bob"),
    ]
    assert [e.data["manager"] for e in Event.objects.filter(application=app, type="contractor_chosen")] == [
        "alice",
        "bob",
    ]
    shares = concentration.shares(date(2026, 11, 1), date(2026, 11, 30))
    assert [(s.kind, s.group_id, s.contractor_id, s.count) for s in shares] == [
        ("construction", personas["alice"].pk, builder.pk, 1),
        ("design", personas["bob"].pk, designer.pk, 1),
    ]
    # a row written without a holder (before migration directory 0005 filled them) counts for
    # the application's manager
    ContractorChoice.objects.filter(kind="construction").update(manager=None)
    shares = concentration.shares(date(2026, 11, 1), date(2026, 11, 30), kind="construction")
    assert [(s.group_id, s.count) for s in shares] == [(personas["bob"].pk, 1)]


def test_the_migration_fills_existing_choices_from_the_reassignment_history(personas):
    from sunshine.directory.models import ContractorChoice

    test_a_choice_counts_for_the_manager_who_held_the_case_when_it_was_made(personas)
    ContractorChoice.objects.update(manager=None)
    migration = importlib.import_module("sunshine.directory.migrations.0005_choice_holder_and_answer")
    migration.fill(django_apps, None)
    assert sorted(ContractorChoice.objects.values_list("kind", "manager__username")) == [
        ("construction", "alice"),
        ("design", "bob"),
    ]


def report_rows(manager: str) -> dict[str, list]:
    from sunshine.reports.sections import Computer

    with at("2026-11-16", "00:10"):
        data = Computer(date(2026, 11, 1), date(2026, 11, 15), {"manager": manager}).compute()
    return {s["key"]: s["rows"] for s in data["sections"]}


def test_the_report_filtered_by_a_manager_counts_the_stages_they_held(case, personas):
    """The half-month report of 11-01…11-15 for Alice has her late survey and not the connection
    Bob did after the reassignment; Bob's has his connection only."""
    alice, bob = report_rows("alice"), report_rows("bob")
    assert alice["on_time"] == [
        ["低压居民", "现场勘查", 1, 0, 1, 0.0],
        ["合计", "全部环节", 1, 0, 1, 0.0],
    ]
    assert bob["on_time"] == [
        ["低压居民", "装表接电", 1, 1, 0, 100.0],
        ["合计", "全部环节", 1, 1, 0, 100.0],
    ]
