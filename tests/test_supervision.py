"""领导挂牌督办: taking charge, tighter rungs escalating to the supervising leader, notes and
progress reviews, ending, the weekly digest, and the selectors other apps use."""

from __future__ import annotations

from datetime import date

import pytest

from sunshine.accounts.models import Role
from sunshine.applications import services as engine
from sunshine.applications.models import Event
from sunshine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from sunshine.supervision import selectors
from sunshine.supervision import services as supervision
from sunshine.supervision.models import LeaderSupervision, SupervisionNote
from tests.conftest import make_user
from tests.test_sweep import at, fire, intake, ladder_fixture, rid, rung_events, sent_fixture, stored, t  # noqa: F401

D = date.fromisoformat


@pytest.fixture
def people(ladder):
    return {**ladder, "leader2": make_user("leader2", Role.LEADER, last_name="孙", first_name="主任")}


def take(app, leader, when="2026-11-16", hm="11:00", target="2026-12-31", reason="省重点项目，年底前送电"):
    with at(when, hm):
        return supervision.take_charge(app.number, leader, reason=reason, target_date=D(target))


@pytest.mark.django_db
def test_taking_charge_tightens_the_rungs_and_escalates_to_the_supervising_leader(people, sent):
    app = intake("2026-11-16")
    s = take(app, people["leader2"])
    assert (s.leader, s.reason, s.target_date, s.ended_at) == (
        people["leader2"],
        "省重点项目，年底前送电",
        D("2026-12-31"),
        None,
    )
    # the supervised list: two working days ahead would be the start day itself, so left out
    assert stored(app) == {
        "due_soon": ("2026-11-17 08:30", False),
        "due_today": ("2026-11-18 08:30", False),
        "overdue": ("2026-11-19 08:30", False),
    }
    n = app.number
    assert fire("2026-11-17", "08:30") == [(n, "due_soon", ("alice", "lead"))]
    assert fire("2026-11-18", "08:30") == [(n, "due_today", ("alice", "lead"))]
    # overdue escalates at once, and to the supervising leader only (not every leader)
    assert fire("2026-11-19", "08:30") == [(n, "overdue", ("alice", "lead", "leader2"))]
    assert fire("2026-11-23", "08:30") == []
    assert rung_events(app)[-1] == ("escalation", "overdue", ["alice", "lead", "leader2"])
    assert Event.objects.get(application=app, type="escalation").data["supervised"] is True
    assert [(u, tpl) for u, tpl, _n, _k in sent][-3:] == [
        ("alice", "escalated"),
        ("lead", "escalated"),
        ("leader2", "escalated"),
    ]
    started = Event.objects.get(application=app, type="supervision_started")
    assert (started.actor, started.data) == (
        people["leader2"],
        {"leader": "leader2", "reason": "省重点项目，年底前送电", "target_date": "2026-12-31"},
    )


@pytest.mark.django_db
def test_a_longer_stage_under_supervision_warns_two_working_days_ahead(people):
    app = intake("2026-11-16", category="lv_non_residential")
    with at("2026-11-16", "15:00"):
        engine.complete_stage(app.number, "survey", people["alice"])
    # scheme: 3 working days from Mon 11-16, deadline Thu 11-19
    take(app, people["leader"])
    assert stored(app, "scheme") == {
        "due_soon_2": ("2026-11-17 08:30", False),
        "due_soon": ("2026-11-18 08:30", False),
        "due_today": ("2026-11-19 08:30", False),
        "overdue": ("2026-11-20 08:30", False),
    }


@pytest.mark.django_db
def test_ending_the_supervision_restores_the_normal_ladder(people, sent):
    app = intake("2026-11-16")
    take(app, people["leader2"])
    assert fire("2026-11-17", "08:30") == [(app.number, "due_soon", ("alice", "lead"))]
    with at("2026-11-17", "10:00"):
        supervision.end_supervision(app.number, people["leader2"], note="问题已协调解决")
    assert stored(app) == {
        "due_soon": ("2026-11-17 08:30", True),
        "due_today": ("2026-11-18 08:30", False),
        "overdue": ("2026-11-19 08:30", False),
        "overdue_3": ("2026-11-23 08:30", False),
    }
    assert fire("2026-11-23", "08:30")[-1] == (app.number, "overdue_3", ("lead", "leader", "leader2"))
    assert selectors.leader_supervision_of(app) is None
    ended = Event.objects.get(application=app, type="supervision_ended")
    assert (ended.actor, ended.data) == (people["leader2"], {"leader": "leader2", "note": "问题已协调解决"})


@pytest.mark.django_db
def test_only_one_active_supervision_per_application(people):
    app = intake("2026-11-16")
    first = take(app, people["leader"])
    with pytest.raises(Conflict) as exc:
        take(app, people["leader2"])
    assert exc.value.code == "already_supervised"
    assert "刘主任" in exc.value.message or "leader" in exc.value.message
    assert list(LeaderSupervision.objects.values_list("pk", flat=True)) == [first.pk]
    with at("2026-11-17"):
        supervision.end_supervision(app.number, people["leader"], note="转交孙主任督办")
    second = take(app, people["leader2"], when="2026-11-17")
    assert selectors.leader_supervision_of(app) == second
    assert [s.leader.username for s in selectors.supervision_history(app)] == ["leader2", "leader"]


@pytest.mark.django_db
def test_bad_input_and_wrong_people_change_nothing(people):
    app = intake("2026-11-16")
    before = Event.objects.count()
    with pytest.raises(Forbidden):
        take(app, people["alice"])
    with pytest.raises(ValidationFailed) as bad:
        take(app, people["leader"], reason="  ", target="2026-11-01")
    assert set(bad.value.fields) == {"reason", "target_date"}
    with pytest.raises(NotFound), at("2026-11-16"):
        supervision.take_charge("YK2611160000000", people["leader"], reason="x", target_date=D("2026-12-01"))
    take(app, people["leader"])
    with pytest.raises(Forbidden), at("2026-11-17"):
        supervision.add_note(app.number, people["leader2"], text="我来看看")
    with pytest.raises(Forbidden), at("2026-11-17"):
        supervision.end_supervision(app.number, people["alice"], note="结束")
    with pytest.raises(ValidationFailed) as bad, at("2026-11-17"):
        supervision.add_note(app.number, people["leader"], text="进展", kind="review", reviewed_on=D("2026-11-20"))
    assert set(bad.value.fields) == {"reviewed_on"}
    assert SupervisionNote.objects.count() == 0
    assert Event.objects.count() == before + 1  # supervision_started only
    with at("2026-11-17", "16:00"):
        engine.cancel(app.number, people["alice"], reason="客户撤回")
    other = intake("2026-11-16", customer__id_number=rid(5))
    with at("2026-11-17", "16:00"):
        engine.cancel(other.number, people["alice"], reason="客户撤回")
    with pytest.raises(Conflict) as closed:
        take(other, people["leader"], when="2026-11-18")
    assert closed.value.code == "application_closed"


@pytest.mark.django_db
def test_notes_and_progress_reviews(people):
    app = intake("2026-11-16")
    take(app, people["leader"])
    with at("2026-11-18", "09:00"):
        supervision.add_note(app.number, people["leader"], text="协调规划部门加快审批")
        supervision.add_note(
            app.number, people["leader"], text="勘查完成，方案已出", kind="review", reviewed_on=D("2026-11-17")
        )
    s = selectors.leader_supervision_of(app)
    assert s is not None
    assert [(n.kind, n.text, n.reviewed_on) for n in selectors.notes_of(s)] == [
        ("note", "协调规划部门加快审批", None),
        ("review", "勘查完成，方案已出", D("2026-11-17")),
    ]
    assert [e.data for e in Event.objects.filter(application=app, type="supervision_note").order_by("id")] == [
        {"kind": "note", "text": "协调规划部门加快审批"},
        {"kind": "review", "text": "勘查完成，方案已出", "reviewed_on": "2026-11-17"},
    ]
    [row] = selectors.supervised_projects(today=D("2026-11-19"))
    assert (row.number, row.stage, row.deadline, row.overdue, row.last_review, row.target_date) == (
        app.number,
        "survey",
        D("2026-11-18"),
        True,
        D("2026-11-17"),
        D("2026-12-31"),
    )


@pytest.mark.django_db
def test_selectors_for_other_apps(people, django_assert_num_queries):
    a = intake("2026-11-16")
    b = intake("2026-11-16", customer__id_number=rid(1))
    c = intake("2026-11-16", customer__id_number=rid(2))
    take(a, people["leader"])
    take(b, people["leader2"])
    assert selectors.supervised_numbers() == {a.number, b.number}
    assert selectors.supervised_numbers([a.number, c.number]) == {a.number}
    assert selectors.supervised_numbers(leader=people["leader2"]) == {b.number}
    with django_assert_num_queries(2):
        rows = selectors.supervised_projects(today=D("2026-11-17"))
    assert {r.number for r in rows} == {a.number, b.number}
    for i in range(3, 8):
        take(intake("2026-11-16", customer__id_number=rid(i)), people["leader"])
    with django_assert_num_queries(2):
        assert len(selectors.supervised_projects(today=D("2026-11-17"))) == 7
    with at("2026-11-16", "12:00"), django_assert_num_queries(2):
        upcoming = selectors.upcoming_rungs()
    # seven supervised stages with 3 rungs each, and c with its 4 (the last on Mon 11-23 08:30)
    assert len(upcoming) == 7 * 3 + 4
    assert [(r.rung, r.due_at) for r in upcoming[:1]] == [("due_soon", t("2026-11-17", "08:30"))]
    assert sum(r.supervised for r in upcoming) == 21


@pytest.mark.django_db
def test_the_weekly_digest_goes_once_per_leader_and_week(people, sent):
    a = intake("2026-11-16")
    b = intake("2026-11-16", customer__id_number=rid(1))
    c = intake("2026-11-16", customer__id_number=rid(2))
    take(a, people["leader"])
    take(b, people["leader"])
    take(c, people["leader2"])
    with at("2026-11-23", "08:00"):
        assert supervision.send_digests() == {"leader": 1, "leader2": 1}
    with at("2026-11-23", "09:00"):
        assert supervision.send_digests() == {"leader": 0, "leader2": 0}  # same week: nothing new
    digests = [(u, tpl, n, k) for u, tpl, n, k in sent if tpl == "supervision_digest"]
    lid, l2id = people["leader"].pk, people["leader2"].pk
    assert digests[:2] == [
        ("leader", "supervision_digest", None, f"digest:{lid}:2026-W48"),
        ("leader2", "supervision_digest", None, f"digest:{l2id}:2026-W48"),
    ]
    with at("2026-11-30", "08:00"):
        assert supervision.send_digests() == {"leader": 1, "leader2": 1}


@pytest.mark.django_db
def test_a_project_paused_after_its_deadline_is_overdue_while_paused(people):
    """The survey of 16 Nov is due on 18 Nov. Paused on 20 Nov, its deadline moves one working
    day per working day of the pause (19 Nov on 23 Nov): still overdue. Paused on 17 Nov, the
    deadline keeps ahead (20 Nov on 19 Nov): not overdue."""
    late = intake("2026-11-16")
    early = intake("2026-11-16", customer__id_number=rid(1))
    take(late, people["leader"])
    take(early, people["leader"])
    with at("2026-11-17", "09:00"):
        engine.pause(early.number, None, reason_code="customer_request", reason="客户要求暂缓")
    with at("2026-11-20", "09:00"):
        engine.pause(late.number, None, reason_code="customer_request", reason="客户要求暂缓")
    rows = {r.number: r for r in selectors.supervised_projects(today=D("2026-11-23"))}
    assert (rows[late.number].stage_status, rows[late.number].overdue) == ("paused", True)
    assert (rows[early.number].stage_status, rows[early.number].overdue) == ("paused", False)
    rows = {r.number: r for r in selectors.supervised_projects(today=D("2026-11-19"))}
    assert rows[early.number].overdue is False
