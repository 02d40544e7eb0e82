"""The case engine, called directly: state changes, their events, clocks and results.

November 2026 has no holidays: Mon 2 ... Fri 6, Sat 7, Sun 8, Mon 9 ... Fri 13, Mon 16 ... Mon 23.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import time_machine

from sunshine.accounts.models import Role
from sunshine.applications import selectors, services
from sunshine.applications.models import Application, Event, Pause, StageInstance
from sunshine.applications.validation import validate_intake
from sunshine.calendar import workdays
from sunshine.errors import Conflict, IdempotencyKeyReused, NotFound, ValidationFailed
from tests.conftest import intake_body, make_user

D = date


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


def new_app(
    actor,
    channel: str = "counter",
    category: str = "lv_residential",
    when: str = "2026-11-02",
    **overrides: Any,
) -> Application:
    if category.startswith("hv"):
        overrides.setdefault("requested_capacity", 800)
        overrides.setdefault("capacity_unit", "kVA")
    with at(when):
        data = validate_intake(intake_body(channel=channel, category=category, **overrides), D.fromisoformat(when))
        return services.intake(data, actor).application


def detail(app: Application, today: str | None = None) -> dict[str, Any]:
    fresh = Application.objects.select_related("customer", "customer_manager", "process").get(pk=app.pk)
    if today is None:
        return selectors.application_detail(fresh)
    with at(today):
        return selectors.application_detail(fresh)


def stage(d: dict[str, Any], code: str, round_: int = 1) -> dict[str, Any]:
    return next(s for s in d["stages"] if s["code"] == code and s["round"] == round_)


def ev(app: Application, after: int = 0) -> list[tuple[str, str | None, int | None, str | None]]:
    return [
        (e.type, e.stage, e.round, e.actor.username if e.actor else None)
        for e in Event.objects.filter(application=app, id__gt=after).select_related("actor").order_by("id")
    ]


def last_event_id(app: Application) -> int:
    return Event.objects.filter(application=app).order_by("-id").values_list("id", flat=True).first() or 0


def timeline(app: Application) -> list[tuple[str, int, str]]:
    return list(StageInstance.objects.filter(application=app).order_by("seq").values_list("code", "round", "status"))


def act(when: str, fn, *args, **kwargs):
    """Run a service at a given moment; return the events it wrote."""
    number = args[0]
    app = Application.objects.get(number=number)
    before = last_event_id(app)
    with at(when):
        fn(*args, **kwargs)
    return ev(app, before)


# --- intake ---------------------------------------------------------------------------------------


def test_counter_intake_completes_acceptance_and_starts_the_survey(personas):
    app = new_app(personas["clerk"])
    assert app.status == "in_progress" and app.current_stage == "survey"
    assert ev(app) == [
        ("intake", None, None, "clerk"),
        ("stage_started", "acceptance", 1, "clerk"),
        ("stage_completed", "acceptance", 1, "clerk"),
        ("stage_started", "survey", 1, "clerk"),
    ]
    d = detail(app, "2026-11-02")
    assert [(s["code"], s["status"], s["deadline"]) for s in d["stages"]] == [
        ("acceptance", "completed", D(2026, 11, 3)),
        ("survey", "in_progress", D(2026, 11, 4)),
        ("connection", "pending", None),
    ]
    acc = stage(d, "acceptance")
    assert (acc["working_days_used"], acc["on_time"], acc["overdue"]) == (0, True, False)
    assert d["customer_manager"]["username"] == "alice"
    assert d["process_time_limit_days"] == 5 and d["on_time"] is None and d["utility_working_days"] == 0
    assert Event.objects.filter(application=app, type="stage_started", stage="survey").get().data == {
        "deadline": "2026-11-04"
    }


def test_online_intake_leaves_acceptance_in_progress(personas):
    app = new_app(None, channel="online")
    assert app.current_stage == "acceptance"
    assert ev(app) == [("intake", None, None, None), ("stage_started", "acceptance", 1, None)]
    d = detail(app, "2026-11-03")
    acc = stage(d, "acceptance")
    assert (acc["status"], acc["deadline"], acc["overdue"], acc["on_time"]) == (
        "in_progress",
        D(2026, 11, 3),
        False,
        None,
    )
    assert stage(d, "survey")["status"] == "pending"
    assert stage(detail(app, "2026-11-04"), "acceptance")["overdue"] is True
    # the clerk checks it the next day: the survey starts then
    assert act("2026-11-03", services.complete_stage, app.number, "acceptance", personas["clerk"]) == [
        ("stage_completed", "acceptance", 1, "clerk"),
        ("stage_started", "survey", 1, "clerk"),
    ]
    assert stage(detail(app, "2026-11-03"), "survey")["deadline"] == D(2026, 11, 5)


def test_intake_over_national_day(personas):
    app = new_app(personas["clerk"], when="2026-09-30")
    assert stage(detail(app, "2026-09-30"), "survey")["deadline"] == D(2026, 10, 9)


# --- assignment -----------------------------------------------------------------------------------


def test_assignment_goes_to_the_fewest_open_then_by_username(personas):
    clerk = personas["clerk"]
    first = new_app(clerk, customer__id_number="360426199101010071", address="晋源区1号")
    second = new_app(clerk, customer__id_number="11010519491231002X", address="晋源区2号")
    third = new_app(clerk, customer__id_number="11010519491231002X", address="晋源区3号")
    assert [a.customer_manager.username for a in (first, second, third)] == ["alice", "bob", "alice"]
    # closed applications do not count: cancel both of alice's
    with at("2026-11-02"):
        services.cancel(first.number, clerk, reason="withdrawn")
        services.cancel(third.number, clerk, reason="withdrawn")
    assert new_app(clerk, address="晋源区4号").customer_manager.username == "alice"


def test_an_inactive_or_unavailable_manager_is_never_chosen(personas):
    alice = personas["alice"]
    alice.is_active = False
    alice.save()
    assert {new_app(None, address=f"晋源区{i}号").customer_manager.username for i in range(3)} == {"bob"}
    bob = personas["bob"]
    bob.accepts_assignments = False
    bob.save()
    assert new_app(None, address="晋源区9号").customer_manager is None


def test_a_manager_of_another_area_is_not_chosen_one_serving_all_is(personas):
    from sunshine.accounts.models import ServiceArea

    other = ServiceArea.objects.create(code="xiaodian", name="小店区", keywords="小店区")
    carol = make_user("carol", Role.CUSTOMER_MANAGER)
    carol.areas.add(other)
    assert new_app(None, address="太原市小店区1号").customer_manager.username == "carol"
    assert new_app(None, address="太原市晋源区1号").customer_manager.username == "alice"
    aaron = make_user("aaron", Role.CUSTOMER_MANAGER, serves_all_areas=True)
    assert new_app(None, address="太原市晋源区2号").customer_manager == aaron


def test_a_likely_duplicate_is_flagged(personas):
    first = new_app(personas["clerk"])
    second = new_app(personas["clerk"], customer__phone="13900139000")
    assert second.possible_duplicate_of == first
    assert Event.objects.get(application=second, type="intake").data["possible_duplicate_of"] == first.number
    assert detail(second)["possible_duplicate_of"] == first.number
    assert new_app(personas["clerk"], address="太原市晋源区晋祠路一段2号").possible_duplicate_of is None
    assert new_app(personas["clerk"], customer__id_number="360426199101010071").possible_duplicate_of is None


# --- transitions and their events -----------------------------------------------------------------


def test_complete_writes_completed_and_started_then_completes_the_application(personas):
    app = new_app(personas["clerk"])
    alice = personas["alice"]
    assert act("2026-11-03", services.complete_stage, app.number, "survey", alice) == [
        ("stage_completed", "survey", 1, "alice"),
        ("stage_started", "connection", 1, "alice"),
    ]
    assert act("2026-11-04", services.complete_stage, app.number, "connection", alice, note="meter 123") == [
        ("stage_completed", "connection", 1, "alice"),
        ("completed", None, None, "alice"),
    ]
    app.refresh_from_db()
    assert (app.status, app.current_stage) == ("completed", None)
    d = detail(app, "2026-11-20")
    assert [(s["working_days_used"], s["on_time"], s["overdue"]) for s in d["stages"]] == [
        (0, True, False),
        (1, True, False),
        (1, True, False),
    ]
    assert (d["utility_working_days"], d["process_time_limit_days"], d["on_time"]) == (2, 5, True)
    with pytest.raises(Conflict) as exc, at("2026-11-05"):
        services.complete_stage(app.number, "connection", alice)
    assert exc.value.code == "application_closed"


def test_completing_a_stage_that_is_not_current_is_a_stage_conflict(personas):
    app = new_app(personas["clerk"])
    before = last_event_id(app)
    with pytest.raises(Conflict) as exc, at("2026-11-02"):
        services.complete_stage(app.number, "connection", personas["alice"])
    assert exc.value.code == "stage_conflict" and exc.value.status == 409
    with pytest.raises(Conflict) as exc, at("2026-11-02"):
        services.complete_stage(app.number, "acceptance", personas["alice"])
    assert exc.value.code == "stage_conflict"
    with pytest.raises(NotFound) as nf, at("2026-11-02"):
        services.complete_stage(app.number, "design_review", personas["alice"])
    assert nf.value.code == "stage_not_found"
    assert ev(app, before) == []
    assert timeline(app) == [
        ("acceptance", 1, "completed"),
        ("survey", 1, "in_progress"),
        ("connection", 1, "pending"),
    ]


def test_outcome_rules(personas):
    app = new_app(personas["clerk"])
    with pytest.raises(ValidationFailed) as exc, at("2026-11-02"):
        services.complete_stage(app.number, "survey", personas["alice"], outcome="failed", defects=["x"])
    assert set(exc.value.fields) == {"outcome"}
    with pytest.raises(ValidationFailed) as exc, at("2026-11-02"):
        services.complete_stage(app.number, "survey", personas["alice"], defects=["x"])
    assert set(exc.value.fields) == {"defects"}


def test_skip_only_optional_stages(personas):
    app = new_app(personas["clerk"])
    with pytest.raises(Conflict) as exc, at("2026-11-02"):
        services.skip_stage(app.number, "survey", personas["alice"], reason="not needed")
    assert exc.value.code == "stage_not_optional"
    with pytest.raises(ValidationFailed) as vf, at("2026-11-02"):
        services.skip_stage(app.number, "survey", personas["alice"], reason="  ")
    assert set(vf.value.fields) == {"reason"}


def test_skip_the_current_optional_stage_advances(personas):
    app = new_app(personas["clerk"], category="lv_non_residential", requested_capacity=50)
    alice = personas["alice"]
    act("2026-11-02", services.complete_stage, app.number, "survey", alice)
    act("2026-11-03", services.complete_stage, app.number, "scheme", alice)
    assert act("2026-11-04", services.skip_stage, app.number, "grid_works", alice, reason="no grid works") == [
        ("stage_skipped", "grid_works", 1, "alice"),
        ("stage_started", "connection", 1, "alice"),
    ]
    d = detail(app, "2026-11-04")
    grid = stage(d, "grid_works")
    assert (grid["status"], grid["deadline"], grid["on_time"], grid["overdue"]) == (
        "skipped",
        None,
        None,
        None,
    )
    assert stage(d, "connection")["deadline"] == D(2026, 11, 6)
    assert d["process_time_limit_days"] == 15


def test_pause_and_resume_events_and_conflicts(personas):
    app = new_app(personas["clerk"])
    alice = personas["alice"]
    with pytest.raises(ValidationFailed) as vf, at("2026-11-03"):
        services.pause(app.number, alice, reason_code="holiday", reason="")
    assert set(vf.value.fields) == {"reason_code", "reason"}
    with pytest.raises(Conflict) as exc, at("2026-11-03"):
        services.resume(app.number, alice)
    assert exc.value.code == "not_paused"
    assert act(
        "2026-11-03",
        services.pause,
        app.number,
        alice,
        reason_code="missing_documents",
        reason="房产证明缺失",
    ) == [("paused", "survey", 1, "alice")]
    with pytest.raises(Conflict) as exc, at("2026-11-03"):
        services.pause(app.number, alice, reason_code="customer_request", reason="again")
    assert exc.value.code == "already_paused"
    with pytest.raises(Conflict) as exc, at("2026-11-03"):
        services.complete_stage(app.number, "survey", alice)
    assert exc.value.code == "application_paused"
    app.refresh_from_db()
    assert (app.status, app.current_stage) == ("paused", "survey")
    assert stage(detail(app, "2026-11-03"), "survey")["status"] == "paused"
    # resumed the same day: 0 days, the deadline does not move
    assert act("2026-11-03", services.resume, app.number, personas["clerk"]) == [("resumed", "survey", 1, "clerk")]
    e = Event.objects.filter(application=app, type="resumed").get()
    assert e.data == {"paused_working_days": 0, "deadline": "2026-11-04"}
    s = stage(detail(app, "2026-11-03"), "survey")
    assert (s["status"], s["paused_working_days"], s["deadline"]) == ("in_progress", 0, D(2026, 11, 4))
    assert Pause.objects.get(application=app).working_days == 0


def test_pause_is_refused_while_the_customer_acts(personas):
    app = new_app(personas["clerk"], category="hv_single")
    act("2026-11-03", services.complete_stage, app.number, "scheme", personas["alice"])
    with pytest.raises(Conflict) as exc, at("2026-11-03"):
        services.pause(app.number, personas["alice"], reason_code="customer_request", reason="wait")
    assert exc.value.code == "stage_conflict"


def test_a_pause_over_a_weekend_extends_the_deadline_by_its_working_days(personas):
    # survey started Thu Nov 5, limit 2 -> Mon Nov 9
    app = new_app(personas["clerk"], when="2026-11-05")
    alice = personas["alice"]
    assert stage(detail(app, "2026-11-05"), "survey")["deadline"] == D(2026, 11, 9)
    act("2026-11-06", services.pause, app.number, alice, reason_code="customer_request", reason="出差")
    # while paused: Sunday counts nothing, Tuesday counts Mon + Tue
    s = stage(detail(app, "2026-11-08"), "survey")
    assert (s["status"], s["paused_working_days"], s["deadline"], s["overdue"]) == (
        "paused",
        0,
        D(2026, 11, 9),
        False,
    )
    s = stage(detail(app, "2026-11-10"), "survey")
    assert (s["paused_working_days"], s["deadline"], s["working_days_used"], s["overdue"]) == (
        2,
        D(2026, 11, 11),
        1,
        False,
    )
    # resumed Monday: (Fri 6, Mon 9] = 1 working day -> Tue 10
    act("2026-11-09", services.resume, app.number, alice)
    assert Event.objects.get(application=app, type="resumed").data == {
        "paused_working_days": 1,
        "deadline": "2026-11-10",
    }
    s = stage(detail(app, "2026-11-10"), "survey")
    assert (s["paused_working_days"], s["deadline"], s["working_days_used"], s["overdue"]) == (
        1,
        D(2026, 11, 10),
        2,
        False,
    )
    assert stage(detail(app, "2026-11-11"), "survey")["overdue"] is True
    assert StageInstance.objects.get(application=app, code="survey").deadline == D(2026, 11, 10)
    p = Pause.objects.get(application=app)
    assert (p.started_on, p.ended_on, p.working_days) == (D(2026, 11, 6), D(2026, 11, 9), 1)
    assert stage(detail(app, "2026-11-10"), "survey")["pauses"][0]["working_days"] == 1


def test_a_pause_from_friday_to_sunday_covers_nothing(personas):
    app = new_app(personas["clerk"], when="2026-11-05")
    act("2026-11-06", services.pause, app.number, None, reason_code="force_majeure", reason="storm")
    act("2026-11-08", services.resume, app.number, None)
    s = stage(detail(app, "2026-11-09"), "survey")
    assert (s["paused_working_days"], s["deadline"]) == (0, D(2026, 11, 9))


def test_overdue_filter_sees_paused_and_running_stages(personas):
    running = new_app(personas["clerk"])  # survey due Nov 4
    paused = new_app(personas["clerk"], customer__id_number="360426199101010071")
    act("2026-11-03", services.pause, paused.number, None, reason_code="customer_request", reason="wait")
    ids = set(selectors.overdue_application_ids(D(2026, 11, 5)))
    assert ids == {running.pk}
    act("2026-11-04", services.resume, paused.number, None)  # 1 day: due Nov 5
    assert set(selectors.overdue_application_ids(D(2026, 11, 5))) == {running.pk}
    assert set(selectors.overdue_application_ids(D(2026, 11, 6))) == {running.pk, paused.pk}


def test_cancel_closes_a_running_pause_and_freezes_the_clocks(personas):
    app = new_app(personas["clerk"])
    act("2026-11-03", services.pause, app.number, None, reason_code="customer_request", reason="wait")
    assert act("2026-11-05", services.cancel, app.number, personas["alice"], reason="客户撤销") == [
        ("cancelled", None, None, "alice")
    ]
    assert Event.objects.get(application=app, type="cancelled").data == {
        "reason": "客户撤销",
        "stage_code": "survey",
    }
    app.refresh_from_db()
    assert (app.status, app.current_stage) == ("cancelled", None)
    assert Pause.objects.get(application=app).working_days == 2
    s = stage(detail(app, "2026-11-30"), "survey")
    assert (s["paused_working_days"], s["deadline"], s["overdue"], s["working_days_used"]) == (
        2,
        D(2026, 11, 6),
        False,
        1,
    )
    with pytest.raises(Conflict) as exc, at("2026-11-05"):
        services.cancel(app.number, None, reason="again")
    assert exc.value.code == "application_closed"


def test_reassign(personas):
    app = new_app(personas["clerk"])
    assert act("2026-11-03", services.reassign, app.number, personas["leader"], username="bob", reason="workload") == [
        ("reassigned", None, None, "leader")
    ]
    assert Event.objects.get(application=app, type="reassigned").data == {
        "from": "alice",
        "to": "bob",
        "reason": "workload",
        "stages_moved": ["survey"],  # the running survey moves to Bob; the completed acceptance stays
    }
    app.refresh_from_db()
    assert app.customer_manager == personas["bob"]
    with pytest.raises(Conflict) as exc, at("2026-11-03"):
        services.reassign(app.number, personas["leader"], username="bob", reason="again")
    assert exc.value.code == "no_change"
    with pytest.raises(ValidationFailed) as vf, at("2026-11-03"):
        services.reassign(app.number, personas["leader"], username="engineer", reason="")
    assert set(vf.value.fields) == {"customer_manager", "reason"}


# --- high voltage ---------------------------------------------------------------------------------


def test_high_voltage_flow_with_a_failed_review(personas):
    _hv_flow(personas)


def _hv_flow(personas) -> Application:
    alice, eng = personas["alice"], personas["engineer"]
    app = new_app(personas["clerk"], category="hv_single")
    n = app.number
    d = detail(app, "2026-11-02")
    assert stage(d, "scheme")["deadline"] == D(2026, 11, 23)
    assert d["process_time_limit_days"] is None
    act("2026-11-03", services.complete_stage, n, "scheme", alice)
    assert act("2026-11-04", services.complete_stage, n, "customer_design", alice) == [
        ("stage_completed", "customer_design", 1, "alice"),
        ("stage_started", "design_review", 1, "alice"),
    ]
    assert stage(detail(app, "2026-11-04"), "design_review")["deadline"] == D(2026, 11, 18)
    with pytest.raises(ValidationFailed) as vf, at("2026-11-05"):
        services.complete_stage(n, "design_review", eng, outcome="failed", defects=[" ", ""])
    assert set(vf.value.fields) == {"defects"}
    with pytest.raises(ValidationFailed) as vf, at("2026-11-05"):
        services.complete_stage(n, "design_review", eng)
    assert set(vf.value.fields) == {"outcome"}
    assert act(
        "2026-11-05",
        services.complete_stage,
        n,
        "design_review",
        eng,
        outcome="failed",
        defects=["接地设计缺失", "变压器容量不符"],
    ) == [
        ("stage_completed", "design_review", 1, "engineer"),
        ("stage_started", "customer_design", 2, "engineer"),
    ]
    started = Event.objects.get(application=app, type="stage_started", stage="customer_design", round=2)
    assert started.data == {"returned_from": "design_review", "defects": ["接地设计缺失", "变压器容量不符"]}
    assert timeline(app) == [
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
    d = detail(app, "2026-11-05")
    assert [(s["code"], s["round"]) for s in d["stages"]][3:6] == [
        ("design_review", 1),
        ("customer_design", 2),
        ("design_review", 2),
    ]
    review1 = stage(d, "design_review", 1)
    assert (review1["outcome"], review1["defects"], review1["on_time"]) == (
        "failed",
        ["接地设计缺失", "变压器容量不符"],
        True,
    )
    design2 = stage(d, "customer_design", 2)
    assert (design2["deadline"], design2["overdue"], design2["on_time"], design2["time_limit_days"]) == (
        None,
        None,
        None,
        None,
    )
    app.refresh_from_db()
    assert app.current_stage == "customer_design"
    # the second round of review has a fresh clock
    act("2026-11-06", services.complete_stage, n, "customer_design", alice)
    assert stage(detail(app, "2026-11-06"), "design_review", 2)["deadline"] == D(2026, 11, 20)
    assert act("2026-11-09", services.complete_stage, n, "design_review", eng, outcome="passed") == [
        ("stage_completed", "design_review", 2, "engineer"),
        ("stage_started", "customer_construction", 1, "engineer"),
    ]
    # the mid-construction inspection is not required: skipped while still pending
    assert act("2026-11-09", services.skip_stage, n, "mid_inspection", eng, reason="非重要客户") == [
        ("stage_skipped", "mid_inspection", 1, "engineer"),
    ]
    app.refresh_from_db()
    assert app.current_stage == "customer_construction"
    assert act("2026-11-10", services.complete_stage, n, "customer_construction", alice) == [
        ("stage_completed", "customer_construction", 1, "alice"),
        ("stage_started", "customer_completion", 1, "alice"),
    ]
    act("2026-11-10", services.complete_stage, n, "customer_completion", alice)
    assert stage(detail(app, "2026-11-10"), "completion_inspection")["deadline"] == D(2026, 11, 17)
    act("2026-11-11", services.complete_stage, n, "completion_inspection", eng, outcome="passed")
    act("2026-11-12", services.complete_stage, n, "customer_formalities", alice)
    assert stage(detail(app, "2026-11-12"), "connection")["deadline"] == D(2026, 11, 19)
    return app


def _hv_until_connection(personas) -> Application:
    alice, eng = personas["alice"], personas["engineer"]
    app = new_app(personas["clerk"], category="hv_dual")
    n = app.number
    act("2026-11-03", services.complete_stage, n, "scheme", alice)
    act("2026-11-04", services.complete_stage, n, "customer_design", alice)
    act("2026-11-05", services.complete_stage, n, "design_review", eng, outcome="passed")
    act("2026-11-05", services.skip_stage, n, "mid_inspection", eng, reason="not required")
    act("2026-11-06", services.complete_stage, n, "customer_construction", alice)
    act("2026-11-06", services.complete_stage, n, "customer_completion", alice)
    act("2026-11-09", services.complete_stage, n, "completion_inspection", eng, outcome="passed")
    act("2026-11-10", services.complete_stage, n, "customer_formalities", alice)
    return app


@pytest.mark.parametrize(("done", "on_time"), [("2026-11-17", True), ("2026-11-18", False)])
def test_high_voltage_on_time_needs_every_utility_stage_on_time(personas, done, on_time):
    app = _hv_until_connection(personas)  # connection started Nov 10, limit 5 -> Nov 17
    assert stage(detail(app, "2026-11-10"), "connection")["deadline"] == D(2026, 11, 17)
    act(done, services.complete_stage, app.number, "connection", personas["alice"])
    d = detail(app, "2026-11-30")
    assert d["status"] == "completed" and d["process_time_limit_days"] is None
    assert stage(d, "connection")["on_time"] is on_time
    assert d["on_time"] is on_time
    # acceptance 0, scheme 1, review 1, completion inspection 1, connection 5 or 6
    assert d["utility_working_days"] == (8 if on_time else 9)
    assert stage(d, "mid_inspection")["status"] == "skipped"


def test_low_voltage_on_time_is_end_to_end(personas):
    alice = personas["alice"]
    # survey late by one day (due Nov 4, done Nov 5) but connection the same day: 3 <= 5
    app = new_app(personas["clerk"])
    act("2026-11-05", services.complete_stage, app.number, "survey", alice)
    act("2026-11-05", services.complete_stage, app.number, "connection", alice)
    d = detail(app, "2026-11-30")
    assert stage(d, "survey")["on_time"] is False
    assert (d["utility_working_days"], d["process_time_limit_days"], d["on_time"]) == (3, 5, True)


def test_low_voltage_completed_late(personas):
    alice = personas["alice"]
    app = new_app(personas["clerk"])
    act("2026-11-06", services.complete_stage, app.number, "survey", alice)  # 4 days
    act("2026-11-10", services.complete_stage, app.number, "connection", alice)  # 2 days
    d = detail(app, "2026-11-30")
    assert [s["working_days_used"] for s in d["stages"]] == [0, 4, 2]
    assert (d["utility_working_days"], d["process_time_limit_days"], d["on_time"]) == (6, 5, False)


def test_paused_days_do_not_count_against_the_end_to_end_limit(personas):
    alice = personas["alice"]
    app = new_app(personas["clerk"])
    act("2026-11-02", services.pause, app.number, alice, reason_code="government_approval", reason="审批")
    act("2026-11-09", services.resume, app.number, alice)  # 5 working days paused
    act("2026-11-10", services.complete_stage, app.number, "survey", alice)
    act("2026-11-11", services.complete_stage, app.number, "connection", alice)
    d = detail(app, "2026-11-30")
    survey = stage(d, "survey")
    assert (
        survey["paused_working_days"],
        survey["working_days_used"],
        survey["deadline"],
        survey["on_time"],
    ) == (5, 1, D(2026, 11, 11), True)
    assert (d["utility_working_days"], d["on_time"]) == (2, True)


# --- query counts ---------------------------------------------------------------------------------


def _count_detail_queries(app, django_assert_num_queries, expected):
    from sunshine.applications.access import access_application

    fresh = access_application(app.customer_manager, app.number)  # how the API loads it
    workdays.current()  # the calendar is loaded once per process, not per request
    with at("2026-11-12"), django_assert_num_queries(expected):
        selectors.application_detail(fresh)


def test_application_detail_takes_a_fixed_number_of_queries(personas, django_assert_num_queries):
    lv = new_app(personas["clerk"])
    hv = _hv_flow(personas)
    assert hv.possible_duplicate_of == lv
    act("2026-11-12", services.pause, hv.number, None, reason_code="customer_request", reason="wait")
    assert StageInstance.objects.filter(application=hv).count() == 12
    # the stages (with their templates) and the pauses, whatever the number of stages
    _count_detail_queries(lv, django_assert_num_queries, 2)
    _count_detail_queries(hv, django_assert_num_queries, 2)


def test_days_of_an_optional_stage_skipped_while_running_still_count(personas):
    alice = personas["alice"]
    app = new_app(personas["clerk"], category="lv_non_residential", requested_capacity=50)
    act("2026-11-02", services.complete_stage, app.number, "survey", alice)
    act("2026-11-04", services.complete_stage, app.number, "scheme", alice)  # grid works start Nov 4
    act("2026-11-09", services.skip_stage, app.number, "grid_works", alice, reason="用户自建")  # Nov 5, 6, 9
    act("2026-11-09", services.complete_stage, app.number, "connection", alice)
    d = detail(app, "2026-11-30")
    assert [s["working_days_used"] for s in d["stages"]] == [0, 0, 2, 3, 0]
    assert (d["utility_working_days"], d["process_time_limit_days"], d["on_time"]) == (5, 15, True)


@pytest.mark.parametrize(("hm", "started_on"), [("23:59", D(2026, 11, 2)), ("00:01", D(2026, 11, 3))])
def test_dates_are_local_dates(personas, hm, started_on):
    day = "2026-11-02" if hm == "23:59" else "2026-11-03"
    with at(day, hm):
        data = validate_intake(intake_body(), started_on)
        app = services.intake(data, personas["clerk"]).application
    assert StageInstance.objects.get(application=app, code="survey").started_on == started_on


def test_a_calendar_edit_reprojects_open_deadlines_only(personas):
    from sunshine.calendar.models import CalendarDay

    open_app = new_app(personas["clerk"])  # survey due Nov 4
    paused = new_app(personas["clerk"], customer__id_number="360426199101010071", address="晋源区2号")
    act("2026-11-02", services.pause, paused.number, None, reason_code="customer_request", reason="wait")
    act("2026-11-04", services.resume, paused.number, None)  # (Nov 2, Nov 4] = 2 days: due Nov 6
    cancelled = new_app(personas["clerk"], address="晋源区3号")
    act("2026-11-02", services.cancel, cancelled.number, None, reason="withdrawn")
    done = new_app(personas["clerk"], address="晋源区4号")
    act("2026-11-02", services.complete_stage, done.number, "survey", None)
    act("2026-11-02", services.complete_stage, done.number, "connection", None)

    CalendarDay.objects.create(date=D(2026, 11, 3), kind="holiday", name="test")
    with at("2026-11-04"):
        moved = services.reproject_deadlines("测试调整", personas["admin"])
    assert moved == 1  # the paused one: fewer paused days, same deadline
    assert StageInstance.objects.get(application=open_app, code="survey").deadline == D(2026, 11, 5)
    s = StageInstance.objects.get(application=paused, code="survey")
    # the pause now covers only Nov 4; 2 + 1 working days after Nov 2 = Nov 6
    assert (s.paused_working_days, s.deadline) == (1, D(2026, 11, 6))
    e = Event.objects.get(application=open_app, type="calendar_reprojected")
    assert (e.stage, e.round, e.actor, e.data) == (
        "survey",
        1,
        personas["admin"],
        {"from": "2026-11-04", "to": "2026-11-05", "reason": "测试调整"},
    )
    assert not Event.objects.filter(application=paused, type="calendar_reprojected").exists()
    assert not Event.objects.filter(application__in=[cancelled, done], type="calendar_reprojected").exists()
    assert StageInstance.objects.get(application=cancelled, code="survey").deadline == D(2026, 11, 4)


def test_skipping_the_paused_current_stage_says_paused(personas):
    alice = personas["alice"]
    app = new_app(personas["clerk"], category="lv_non_residential", requested_capacity=50)
    act("2026-11-02", services.complete_stage, app.number, "survey", alice)
    act("2026-11-03", services.complete_stage, app.number, "scheme", alice)
    act("2026-11-03", services.pause, app.number, alice, reason_code="government_approval", reason="规划许可")
    with pytest.raises(Conflict) as exc, at("2026-11-04"):
        services.skip_stage(app.number, "grid_works", alice, reason="not needed")
    assert exc.value.code == "application_paused"
    with pytest.raises(Conflict) as exc, at("2026-11-04"):
        services.skip_stage(app.number, "survey", alice, reason="not needed")
    assert exc.value.code == "stage_conflict"  # already finished


def test_a_failed_completion_inspection_returns_to_the_customer_completion(personas):
    app = _hv_until_connection_minus_inspection(personas)
    eng = personas["engineer"]
    assert act(
        "2026-11-10",
        services.complete_stage,
        app.number,
        "completion_inspection",
        eng,
        outcome="failed",
        defects=["接地电阻超标"],
    ) == [
        ("stage_completed", "completion_inspection", 1, "engineer"),
        ("stage_started", "customer_completion", 2, "engineer"),
    ]
    act("2026-11-11", services.complete_stage, app.number, "customer_completion", personas["alice"])
    act(
        "2026-11-12",
        services.complete_stage,
        app.number,
        "completion_inspection",
        eng,
        outcome="failed",
        defects=["仍超标"],
    )
    assert timeline(app)[6:] == [
        ("customer_completion", 1, "completed"),
        ("completion_inspection", 1, "completed"),
        ("customer_completion", 2, "completed"),
        ("completion_inspection", 2, "completed"),
        ("customer_completion", 3, "in_progress"),
        ("completion_inspection", 3, "pending"),
        ("customer_formalities", 1, "pending"),
        ("connection", 1, "pending"),
    ]


def _hv_until_connection_minus_inspection(personas) -> Application:
    alice, eng = personas["alice"], personas["engineer"]
    app = new_app(personas["clerk"], category="hv_single")
    n = app.number
    act("2026-11-03", services.complete_stage, n, "scheme", alice)
    act("2026-11-04", services.complete_stage, n, "customer_design", alice)
    act("2026-11-04", services.skip_stage, n, "design_review", eng, reason="not required")
    act("2026-11-05", services.complete_stage, n, "customer_construction", alice)
    act("2026-11-05", services.complete_stage, n, "mid_inspection", eng, outcome="passed")
    act("2026-11-06", services.complete_stage, n, "customer_completion", alice)
    return app


def test_limits_in_force_at_acceptance_are_kept_when_a_template_is_edited_in_place(personas):
    from sunshine.processes.models import StageTemplate

    alice, eng = personas["alice"], personas["engineer"]
    lv = new_app(personas["clerk"])
    hv = new_app(personas["clerk"], category="hv_single", address="晋源区2号")
    StageTemplate.objects.filter(code__in=["connection", "design_review"]).update(time_limit_days=9)
    act("2026-11-03", services.complete_stage, lv.number, "survey", alice)
    connection = stage(detail(lv, "2026-11-03"), "connection")
    assert (connection["time_limit_days"], connection["deadline"]) == (2, D(2026, 11, 5))
    act("2026-11-03", services.complete_stage, hv.number, "scheme", alice)
    act("2026-11-03", services.complete_stage, hv.number, "customer_design", alice)
    act(
        "2026-11-04",
        services.complete_stage,
        hv.number,
        "design_review",
        eng,
        outcome="failed",
        defects=["x"],
    )
    act("2026-11-05", services.complete_stage, hv.number, "customer_design", alice)
    review2 = stage(detail(hv, "2026-11-05"), "design_review", 2)
    assert (review2["time_limit_days"], review2["deadline"]) == (10, D(2026, 11, 19))
    # an application accepted after the edit gets the new limit
    later = new_app(personas["clerk"], address="晋源区3号", when="2026-11-03")
    act("2026-11-03", services.complete_stage, later.number, "survey", alice)
    assert stage(detail(later, "2026-11-03"), "connection")["time_limit_days"] == 9


def test_idempotency_key_replays_the_same_body_and_refuses_another(personas):
    body = intake_body()
    clerk = personas["clerk"]

    def submit(b):
        with at("2026-11-02"):
            return services.intake(
                validate_intake(b, D(2026, 11, 2)),
                clerk,
                idempotency_scope=f"user:{clerk.pk}",
                idempotency_key="abc",
                fingerprint=services.request_fingerprint(b),
            )

    first = submit(body)
    again = submit(intake_body())
    assert (first.replayed, again.replayed) == (False, True)
    assert again.application.number == first.application.number
    with pytest.raises(IdempotencyKeyReused) as exc:
        submit(intake_body(requested_capacity=9))
    assert exc.value.code == "idempotency_key_reused" and exc.value.status == 409
    assert Application.objects.count() == 1
    # the same key from another caller is another request
    with at("2026-11-02"):
        other = services.intake(
            validate_intake(body, D(2026, 11, 2)),
            None,
            idempotency_scope="public:13800138000",
            idempotency_key="abc",
            fingerprint=services.request_fingerprint(body),
        )
    assert other.replayed is False and other.application.possible_duplicate_of == first.application
