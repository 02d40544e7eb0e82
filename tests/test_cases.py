"""Supervision cases (稽查): opening, pause contests (申诉), notes, findings, upheld counts."""

from __future__ import annotations

from datetime import date

import pytest

from sunshine.applications import services as app_services
from sunshine.applications.models import Application, Event
from sunshine.calendar import workdays
from sunshine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from sunshine.feedback import selectors, services
from sunshine.feedback.models import CaseNote, SupervisionCase
from tests.test_services import at, new_app

D = date


def events_of(app: Application, type_: str) -> list[dict]:
    return [e.data for e in Event.objects.filter(application=app, type=type_).order_by("id")]


def test_open_case_over_national_day_is_due_ten_working_days_later(personas):
    app = new_app(personas["clerk"], when="2026-09-24")
    with at("2026-09-25", "09:30"):
        case = services.open_case(
            source="complaint",
            subject="收费不透明",
            details="客户反映收了表箱费",
            application=app,
            reporter_name="张三",
            reporter_phone="13800138000",
        )
    # Working days after Fri 09-25 in the seeded calendar: 09-28, 09-29, 09-30, (10-01..10-07 off),
    # 10-08, 10-09, Sat 10-10 (调休), 10-12, 10-13, 10-14, 10-15: the tenth is Thu 10-15.
    assert case.due_on == workdays.add_working_days(D(2026, 9, 25), 10)
    assert workdays.working_days_in(D(2026, 9, 25), case.due_on) == 10
    assert case.due_on == D(2026, 10, 15)
    assert case.tracking_number.startswith("JC20260925")
    assert len(case.tracking_number) == 16 and case.tracking_number[2:].isdigit()
    assert case.kind == "complaint" and case.status == "open" and case.time_limit_days == 10
    assert case.manager == app.customer_manager == personas["alice"]
    assert events_of(app, "case_opened") == [
        {
            "tracking_number": case.tracking_number,
            "source": "complaint",
            "kind": "complaint",
            "due_on": "2026-10-15",
        }
    ]


def test_open_case_rejects_bad_input_and_writes_nothing(personas):
    with pytest.raises(ValidationFailed) as exc:
        services.open_case(source="rumour", subject="  ", details="x")
    assert set(exc.value.fields) == {"source", "kind", "subject"}
    assert SupervisionCase.objects.count() == 0


def test_open_case_with_the_same_dedupe_key_returns_the_first(personas):
    with at("2026-11-02"):
        first = services.open_case(source="staff", subject="a", details="", dedupe_key="k1")
        second = services.open_case(source="staff", subject="b", details="", dedupe_key="k1")
    assert first.pk == second.pk and SupervisionCase.objects.count() == 1


def paused_app(personas) -> Application:
    app = new_app(personas["clerk"], when="2026-11-02")
    with at("2026-11-03"):
        app_services.pause(app.number, personas["alice"], reason_code="missing_documents", reason="缺房产证明")
    return app


def test_contest_pause_opens_a_case_linked_to_the_pause(personas):
    app = paused_app(personas)
    with at("2026-11-04"):
        case = services.contest_pause(app.number, "8000", "  房产证明早已提交，不是我的原因  ")
    assert case.source == "pause_contest" and case.kind == "pause_contest"
    assert case.pause == app.pauses.get()
    assert case.details == "房产证明早已提交，不是我的原因"
    assert case.subject == "客户申诉 2026-11-03 的暂停（客户资料不全）"
    assert case.reporter_name == "张三" and case.reporter_phone == "13800138000"
    assert case.manager == personas["alice"]
    assert case.due_on == D(2026, 11, 18)  # 10 working days after Wed 11-04
    # a second contest of the same pause while the case is open is refused
    with pytest.raises(Conflict) as exc, at("2026-11-05"):
        services.contest_pause(app.number, "8000", "再次申诉")
    assert exc.value.code == "already_contested"
    assert SupervisionCase.objects.count() == 1


@pytest.mark.parametrize(
    ("number", "tail", "text", "error"),
    [
        ("YK0000000000000", "8000", "x", NotFound),
        (None, "0000", "x", NotFound),
        (None, "800", "x", NotFound),
        (None, "8000", "   ", ValidationFailed),
    ],
)
def test_contest_pause_bad_input_changes_nothing(personas, number, tail, text, error):
    app = paused_app(personas)
    before = Event.objects.filter(application=app).count()
    with pytest.raises(error):
        services.contest_pause(number or app.number, tail, text)
    assert SupervisionCase.objects.count() == 0
    assert Event.objects.filter(application=app).count() == before


def test_contest_without_any_pause_is_a_conflict(personas):
    app = new_app(personas["clerk"], when="2026-11-02")
    with pytest.raises(Conflict) as exc:
        services.contest_pause(app.number, "8000", "不是我的原因")
    assert exc.value.code == "no_pause"


def test_deciding_a_pause_contest_records_the_outcome_on_the_application(personas):
    app = paused_app(personas)
    with at("2026-11-04"):
        case = services.contest_pause(app.number, "8000", "不是我的原因")
    with at("2026-11-05"):
        services.add_case_note(case.pk, personas["auditor"], "调取受理记录：房产证明 11-02 已收")
    with at("2026-11-06", "15:00"):
        services.decide_case(case.pk, personas["auditor"], finding="upheld", action_taken="暂停撤销，时限照算")
    case.refresh_from_db()
    assert (case.status, case.finding, case.closed_on) == ("closed", "upheld", D(2026, 11, 6))
    assert events_of(app, "pause_contest_decided") == [
        {
            "tracking_number": case.tracking_number,
            "finding": "upheld",
            "pause_started_on": "2026-11-03",
            "action_taken": "暂停撤销，时限照算",
        }
    ]
    assert [n.text for n in CaseNote.objects.filter(case=case)] == ["调取受理记录：房产证明 11-02 已收"]
    pause = app.pauses.get()
    assert selectors.upheld_pause_contests(D(2026, 11, 1), D(2026, 11, 30)) == [
        {
            "tracking_number": case.tracking_number,
            "number": app.number,
            "manager_id": personas["alice"].pk,
            "pause_id": pause.pk,
            "stage": "survey",
            "started_on": D(2026, 11, 3),
            "ended_on": None,
            "working_days": None,
            "closed_on": D(2026, 11, 6),
        }
    ]
    # a closed case takes no more notes or findings
    with pytest.raises(Conflict):
        services.add_case_note(case.pk, personas["auditor"], "late")
    with pytest.raises(Conflict):
        services.decide_case(case.pk, personas["auditor"], finding="not_upheld", action_taken="x")


def test_only_auditors_and_admins_decide_and_a_refusal_changes_nothing(personas):
    with at("2026-11-02"):
        case = services.open_case(source="staff", subject="a", details="")
    for name in ("clerk", "alice", "leader", "engineer"):
        with pytest.raises(Forbidden):
            services.decide_case(case.pk, personas[name], finding="upheld", action_taken="x")
        with pytest.raises(Forbidden):
            services.add_case_note(case.pk, personas[name], "x")
    with pytest.raises(ValidationFailed) as exc:
        services.decide_case(case.pk, personas["auditor"], finding="maybe", action_taken=" ")
    assert set(exc.value.fields) == {"finding", "action_taken"}
    case.refresh_from_db()
    assert case.status == "open" and case.finding == "" and CaseNote.objects.count() == 0


def test_upheld_findings_count_only_upheld_cases_decided_in_the_period(personas):
    alice, bob, auditor = personas["alice"], personas["bob"], personas["auditor"]

    def case(kind: str, manager, finding: str | None, decided: str) -> None:
        with at("2026-10-12"):
            c = services.open_case(source="staff", kind=kind, subject=kind, details="", manager=manager)
        if finding:
            with at(decided):
                services.decide_case(c.pk, auditor, finding=finding, action_taken="处理")

    case("steering", alice, "upheld", "2026-11-03")
    case("steering", alice, "upheld", "2026-11-30")
    case("overcharge", alice, "not_upheld", "2026-11-04")
    case("complaint", alice, "upheld", "2026-12-01")  # next period
    case("complaint", alice, None, "")  # still open
    case("pause_contest", alice, "upheld", "2026-11-05")  # not a conduct finding
    case("complaint", bob, "upheld", "2026-11-10")
    nov = (D(2026, 11, 1), D(2026, 11, 30))
    assert selectors.upheld_findings(alice, *nov) == {"complaint": 0, "steering": 2, "overcharge": 0}
    assert selectors.upheld_findings(bob, *nov) == {"complaint": 1, "steering": 0, "overcharge": 0}
    assert selectors.upheld_findings_by_manager(*nov) == {
        alice.pk: {"complaint": 0, "steering": 2, "overcharge": 0},
        bob.pk: {"complaint": 1, "steering": 0, "overcharge": 0},
    }
    assert [(c["kind"], c["closed_on"]) for c in selectors.upheld_cases(alice, *nov)] == [
        ("steering", D(2026, 11, 3)),
        ("steering", D(2026, 11, 30)),
    ]


def test_case_queue_puts_overdue_first(personas):
    with at("2026-11-02"):
        early = services.open_case(source="staff", subject="early", details="")
    with at("2026-11-20"):
        late = services.open_case(source="staff", subject="late", details="")
    with at("2026-11-10"):
        middle = services.open_case(source="staff", subject="middle", details="")
    assert [c.subject for c in selectors.case_queue()] == ["early", "middle", "late"]
    assert early.due_on < middle.due_on < late.due_on


def test_overdue_reminders_go_once_per_open_case(personas):
    from sunshine.feedback.tasks import remind_overdue_cases_now

    with at("2026-11-02"):
        late = services.open_case(source="staff", subject="late", details="")
        closed = services.open_case(source="staff", subject="closed", details="")
    with at("2026-11-10"):
        services.open_case(source="staff", subject="not yet due", details="")
        services.decide_case(closed.pk, personas["auditor"], finding="not_upheld", action_taken="x")
    assert late.due_on == D(2026, 11, 16)
    with at("2026-11-16", "08:15"):
        assert remind_overdue_cases_now() == 0  # due today is not overdue
    with at("2026-11-17", "08:15"):
        assert remind_overdue_cases_now() == 1
    with at("2026-11-18", "08:15"):
        assert remind_overdue_cases_now() == 0
    assert list(SupervisionCase.objects.filter(reminded_at__isnull=False).values_list("subject", flat=True)) == ["late"]


def test_periodic_jobs_name_real_tasks():
    from django.utils.module_loading import import_string

    from sunshine.feedback import schedule

    for job in schedule.JOBS:
        assert import_string(job.task).func.__module__ == "sunshine.feedback.tasks"
