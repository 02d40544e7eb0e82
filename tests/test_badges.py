"""Deadline badges: exact texts on exact dates of the 2026 calendar (National Day 10-01..10-07 off,
10-08 and Saturday 10-10 worked; 09-25..09-27 off for the Mid-Autumn Festival)."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.template import Context, Template
from django.utils import translation

from sunshine.applications.badges import Badge, deadline_badges
from sunshine.calendar import workdays

TZ = ZoneInfo("Asia/Shanghai")


def badges(**kw):
    kw.setdefault("paused", False)
    kw.setdefault("provisional", False)
    kw.setdefault("completed", False)
    with translation.override("zh-hans"):
        return deadline_badges(workdays.current(), **kw)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("today", "expected"),
    [
        # (09-30, 10-09]: only 10-08 and 10-09 are working days across National Day
        (date(2026, 9, 30), Badge("ok", "剩余 2 个工作日", 2)),
        # from the Mid-Autumn Thursday: 09-28, 09-29, 09-30, 10-08, 10-09
        (date(2026, 9, 24), Badge("ok", "剩余 5 个工作日", 5)),
        # a holiday day inside the break counts nothing of itself
        (date(2026, 10, 3), Badge("ok", "剩余 2 个工作日", 2)),
        (date(2026, 10, 8), Badge("ok", "剩余 1 个工作日", 1)),
        (date(2026, 10, 9), Badge("due", "今天到期", 0)),
        # Saturday 10-10 is a 调休 working day: one working day overdue
        (date(2026, 10, 10), Badge("overdue", "超期 1 个工作日", 1)),
        # Sunday 10-11 is a rest day: still one
        (date(2026, 10, 11), Badge("overdue", "超期 1 个工作日", 1)),
        (date(2026, 10, 14), Badge("overdue", "超期 4 个工作日", 4)),
    ],
)
def test_deadline_badge_counts_working_days(today, expected):
    assert badges(deadline=date(2026, 10, 9), today=today) == [expected]


@pytest.mark.django_db
def test_overdue_on_the_rest_day_right_after_the_deadline_has_no_number():
    # deadline Friday 2026-11-20; Saturday 11-21 is a rest day: overdue, 0 working days lost yet
    assert badges(deadline=date(2026, 11, 20), today=date(2026, 11, 21)) == [Badge("overdue", "已超期", 0)]
    assert badges(deadline=date(2026, 11, 20), today=date(2026, 11, 23)) == [Badge("overdue", "超期 1 个工作日", 1)]


@pytest.mark.django_db
def test_paused_and_provisional_badges_follow_the_clock_badge():
    got = badges(deadline=date(2027, 1, 6), today=date(2026, 12, 30), paused=True, provisional=True)
    assert [b.kind for b in got] == ["ok", "paused", "provisional"]
    assert [b.text for b in got][1:] == ["暂停中", "临时日历"]


@pytest.mark.django_db
def test_completed_stage_and_no_deadline():
    assert badges(deadline=date(2026, 10, 9), today=date(2026, 10, 20), completed=True) == []
    assert badges(deadline=None, today=date(2026, 10, 20)) == []
    # a paused customer-side wait without a deadline still says it is paused; no provisional badge
    assert badges(deadline=None, today=date(2026, 10, 20), paused=True, provisional=True) == [Badge("paused", "暂停中")]


@pytest.mark.django_db
def test_english_texts():
    cal = workdays.current()
    with translation.override("en"):
        assert deadline_badges(cal, deadline=date(2026, 10, 9), today=date(2026, 10, 8))[0].text == (
            "1 working day left"
        )
        assert deadline_badges(cal, deadline=date(2026, 10, 9), today=date(2026, 9, 30))[0].text == (
            "2 working days left"
        )
        assert deadline_badges(cal, deadline=date(2026, 10, 9), today=date(2026, 10, 14))[0].text == (
            "4 working days overdue"
        )
        assert deadline_badges(cal, deadline=date(2026, 10, 9), today=date(2026, 10, 9))[0].text == "Due today"


@pytest.mark.django_db
def test_template_tag_renders_spans_for_queue_rows_and_uses_local_today():
    tpl = Template("{% load deadlines %}{% deadline_badges row %}")
    row = {"status": "paused", "current_deadline": date(2026, 10, 9), "deadline_provisional": False}
    with time_machine.travel(datetime(2026, 9, 30, 23, 30, tzinfo=TZ), tick=False), translation.override("zh-hans"):
        html = tpl.render(Context({"row": row}))
    assert html == '<span class="badge badge-ok">剩余 2 个工作日</span> <span class="badge badge-paused">暂停中</span>'
    done = SimpleNamespace(status="completed", deadline=date(2026, 10, 9), deadline_provisional=False)
    assert tpl.render(Context({"row": done})) == ""


@pytest.mark.django_db
def test_template_tag_on_a_timeline_stage_row(personas):
    from sunshine.applications import selectors, services
    from sunshine.applications.validation import validate_intake
    from tests.conftest import intake_body

    with time_machine.travel(datetime(2026, 9, 29, 10, 0, tzinfo=TZ), tick=False):
        app = services.intake(validate_intake(intake_body(), date(2026, 9, 29)), actor=personas["clerk"]).application
    rows = selectors.stage_rows(app, today=date(2026, 9, 30))
    current = next(r for r in rows if r.stage.code == app.current_stage)
    tpl = Template("{% load deadlines %}{% deadline_badges row today=today %}")
    with translation.override("zh-hans"):
        html = tpl.render(Context({"row": current, "today": date(2026, 9, 30)}))
    # the survey (2 working days) started 09-29: 09-30 and 10-08 are its days
    assert (current.stage.code, current.clock.deadline) == ("survey", date(2026, 10, 8))
    assert html == '<span class="badge badge-ok">剩余 1 个工作日</span>'
