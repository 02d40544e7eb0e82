"""Follow-up calls (回访): created on connection, assigned away from the manager, attempts,
answers that open cases, and the satisfaction selector."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from sunshine.accounts.models import Role
from sunshine.applications import services as app_services
from sunshine.applications.models import Application, Event
from sunshine.errors import Conflict, Forbidden, ValidationFailed
from sunshine.feedback import selectors, services
from sunshine.feedback.models import FollowUp, FollowUpAttempt, SupervisionCase
from sunshine.feedback.services import Answers
from sunshine.pii.crypto import phone_index
from tests.conftest import make_user
from tests.test_services import at, new_app

D = date

HAPPY = Answers(
    sat_overall=5,
    sat_manager=4,
    sat_timeliness=5,
    steered_design=False,
    steered_construction=False,
    steered_supply=False,
    extra_charge=False,
    told_once=True,
    comments="很好",
)


def connected(personas, when: str = "2026-11-02", connect_on: str = "2026-11-04", **overrides) -> Application:
    """A residential counter application connected on ``connect_on`` (survey, then connection)."""
    app = new_app(personas["clerk"], when=when, **overrides)
    manager = Application.objects.get(pk=app.pk).customer_manager
    with at(when, "11:00"):
        app_services.complete_stage(app.number, "survey", manager)
    with at(connect_on, "16:00"):
        app_services.complete_stage(app.number, "connection", manager)
    return Application.objects.get(pk=app.pk)


def test_connection_schedules_one_followup_due_in_five_working_days(personas):
    app = connected(personas, connect_on="2026-09-29")
    f = FollowUp.objects.get(application=app)
    # Tue 09-29 + 5 working days: 09-30, 10-08, 10-09, 10-10 (调休 Saturday), 10-12
    assert f.due_on == D(2026, 10, 12)
    assert (f.status, f.attempts, f.assigned_to, f.manager) == ("open", 0, personas["clerk"], personas["alice"])
    assert f.created_at == datetime(2026, 9, 29, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert list(selectors.followup_queue(personas["clerk"])) == [f]


def test_followups_go_to_the_least_loaded_clerk_never_the_manager(personas):
    make_user("clerk2", Role.CLERK)
    make_user("clerk3", Role.CLERK, is_active=False)
    owners = []
    for _ in range(4):
        app = connected(personas)
        owners.append(FollowUp.objects.get(application=app).assigned_to.username)
    assert owners == ["clerk", "clerk2", "clerk", "clerk2"]


def test_without_a_clerk_the_call_is_unassigned_and_a_manager_never_sees_their_own(personas):
    personas["clerk"].is_active = False
    personas["clerk"].save()
    app = connected(personas)
    f = FollowUp.objects.get(application=app)
    assert f.assigned_to is None
    with pytest.raises(Forbidden):
        services.record_attempt(f.pk, personas["alice"], result="no_answer")
    assert list(selectors.followup_queue(personas["alice"])) == []
    assert list(selectors.followup_queue(personas["admin"])) == [f]


def test_unreachable_three_times_closes_the_call(personas, settings):
    settings.SUNSHINE_FOLLOWUP_MAX_ATTEMPTS = 3
    app = connected(personas)
    f = FollowUp.objects.get(application=app)
    clerk = personas["clerk"]
    with at("2026-11-05", "09:00"):
        services.record_attempt(f.pk, clerk, result="no_answer")
    with at("2026-11-05", "15:00"):
        services.record_attempt(f.pk, clerk, result="busy")
    f.refresh_from_db()
    assert (f.status, f.attempts, f.outcome) == ("open", 2, "")
    with at("2026-11-06", "10:00"):
        services.record_attempt(f.pk, clerk, result="powered_off", note="关机")
    f.refresh_from_db()
    assert (f.status, f.attempts, f.outcome, f.completed_on) == ("done", 3, "unreachable", D(2026, 11, 6))
    assert list(FollowUpAttempt.objects.filter(followup=f).values_list("result", flat=True)) == [
        "no_answer",
        "busy",
        "powered_off",
    ]
    with pytest.raises(Conflict):
        services.record_attempt(f.pk, clerk, result="no_answer")
    assert selectors.satisfaction(D(2026, 11, 1), D(2026, 11, 30))["unreachable"] == 1


def test_a_steered_and_overcharged_answer_opens_two_cases(personas):
    app = connected(personas)
    f = FollowUp.objects.get(application=app)
    answers = Answers(
        sat_overall=2,
        sat_manager=1,
        sat_timeliness=3,
        steered_design=False,
        steered_construction=True,
        steered_supply=True,
        extra_charge=True,
        extra_charge_amount=Decimal("300.00"),
        extra_charge_what="表箱费",
        told_once=False,
        comments="客户经理推荐了某电气公司",
    )
    with at("2026-11-05", "10:00"):
        services.complete_followup(f.pk, personas["clerk"], outcome="completed", answers=answers)
    cases = list(SupervisionCase.objects.order_by("kind"))
    assert [(c.kind, c.source, c.manager, c.application) for c in cases] == [
        ("overcharge", "followup", personas["alice"], app),
        ("steering", "followup", personas["alice"], app),
    ]
    assert cases[1].subject == f"{app.number} 回访：客户反映被指定施工单位、设备材料供应单位"
    assert cases[0].subject == f"{app.number} 回访：客户反映被收取表箱费 300.00 元"
    done = Event.objects.get(application=app, type="followup_completed").data
    assert done == {
        "outcome": "completed",
        "cases": [cases[1].tracking_number, cases[0].tracking_number],
        "sat_overall": 2,
        "sat_manager": 1,
        "sat_timeliness": 3,
        "steered": True,
        "extra_charge": True,
        "told_once": False,
    }


def test_incomplete_answers_are_refused_and_nothing_changes(personas):
    app = connected(personas)
    f = FollowUp.objects.get(application=app)
    bad = Answers(sat_overall=6, sat_manager=0, steered_design=True, extra_charge=True, extra_charge_amount=Decimal(0))
    with pytest.raises(ValidationFailed) as exc:
        services.complete_followup(f.pk, personas["clerk"], outcome="completed", answers=bad)
    assert set(exc.value.fields) == {
        "sat_overall",
        "sat_manager",
        "sat_timeliness",
        "steered_construction",
        "steered_supply",
        "told_once",
        "extra_charge_amount",
        "extra_charge_what",
    }
    f.refresh_from_db()
    assert f.status == "open" and SupervisionCase.objects.count() == 0


def test_another_clerk_may_not_work_an_assigned_call(personas):
    other = make_user("clerk2", Role.CLERK)
    app = connected(personas)  # goes to "clerk" (fewest, then username)
    f = FollowUp.objects.get(application=app)
    assert f.assigned_to == personas["clerk"]
    with pytest.raises(Forbidden):
        services.complete_followup(f.pk, other, outcome="completed", answers=HAPPY)
    f.refresh_from_db()
    assert f.status == "open"


def test_satisfaction_averages_completed_surveys_in_the_period(personas, django_assert_num_queries):
    scores = [(5, 4, 5), (4, 4, 3), (3, 5, 4)]
    for o, m, t in scores:
        app = connected(personas)
        f = FollowUp.objects.get(application=app)
        a = Answers(**{**HAPPY.__dict__, "sat_overall": o, "sat_manager": m, "sat_timeliness": t})
        with at("2026-11-05"):
            services.complete_followup(f.pk, personas["clerk"], outcome="completed", answers=a)
    late = connected(personas)
    with at("2026-12-01"):
        services.complete_followup(late.followup.pk, personas["clerk"], outcome="refused")
    with django_assert_num_queries(1):
        nov = selectors.satisfaction(D(2026, 11, 1), D(2026, 11, 30))
    assert nov == {
        "calls": 3,
        "completed": 3,
        "unreachable": 0,
        "refused": 0,
        "wrong_number": 0,
        "overall": Decimal("4.00"),
        "manager": Decimal("4.33"),
        "timeliness": Decimal("4.00"),
        "steered": 0,
        "overcharged": 0,
        "told_once": 3,
    }
    assert selectors.satisfaction(D(2026, 12, 1), D(2026, 12, 31), manager=personas["alice"])["refused"] == 1
    assert selectors.satisfaction(D(2026, 11, 1), D(2026, 11, 30), manager=personas["bob"])["calls"] == 0


def test_the_reaction_ignores_other_events_and_never_doubles_a_call(personas):
    from sunshine.feedback.reactions import on_events

    app = connected(personas)
    completed = list(Event.objects.filter(application=app, type="completed"))
    on_events(completed, [])  # replayed: still one call
    on_events(list(Event.objects.filter(application=app).exclude(type="completed")), [])
    assert FollowUp.objects.filter(application=app).count() == 1
    open_app = new_app(personas["clerk"], when="2026-11-05")
    assert not FollowUp.objects.filter(application=open_app).exists()


def test_clerk_customer_and_auditors_are_notified_once(personas):
    from sunshine.notifications.models import Message

    app = connected(personas)
    f = FollowUp.objects.get(application=app)
    assert sorted(
        (m.template, m.channel, m.recipient)
        for m in Message.objects.filter(template__in=["followup_assigned", "followup_coming"])
    ) == [
        ("followup_assigned", "inbox", f"user:{personas['clerk'].pk}"),
        ("followup_coming", "sms", f"phone:{phone_index('13800138000')}"),
    ]
    assert (
        Message.objects.get(template="followup_assigned").body
        == f"回访任务：申请{app.number}（张三）请于2026-11-11前完成回访。"
    )
    steered = Answers(**{**HAPPY.__dict__, "steered_supply": True})
    with at("2026-11-05"):
        services.complete_followup(f.pk, personas["clerk"], outcome="completed", answers=steered)
    case = SupervisionCase.objects.get()
    opened = list(Message.objects.filter(template="case_opened").values_list("channel", "recipient", "body"))
    assert opened == [
        (
            "inbox",
            f"user:{personas['auditor'].pk}",
            f"新工单{case.tracking_number}：{app.number} 回访：客户反映被指定设备材料供应单位，请于2026-11-19前办结。",
        )
    ]


def test_demo_feedback_schedules_calls_once(personas):
    from sunshine.ops.demo.feedback import ensure_demo_feedback

    apps = [connected(personas) for _ in range(3)]
    FollowUp.objects.all().delete()  # as the generated demo data: connected without the reaction
    with at("2026-11-06"):
        assert ensure_demo_feedback() == "Demo follow-up calls: 3 scheduled."
        assert ensure_demo_feedback() == "Demo follow-up calls already present."
    assert (
        list(FollowUp.objects.filter(application__in=apps).values_list("assigned_to__username", "due_on"))
        == [("clerk", D(2026, 11, 13))] * 3
    )
