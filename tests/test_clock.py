"""The pure stage clock (api-v1.md "Deadline semantics") with exact dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sunshine.applications.clock import Clock, stage_clock
from sunshine.calendar.workdays import Exceptions, WorkCalendar

D = date


class MonFri:
    """A tiny calendar: Monday to Friday, minus ``off``, plus ``on``."""

    def __init__(self, off: set[date] | None = None, on: set[date] | None = None) -> None:
        self.off = off or set()
        self.on = on or set()

    def works(self, d: date) -> bool:
        return d in self.on or (d.weekday() < 5 and d not in self.off)

    def working_days_in(self, a: date, b: date) -> int:
        n, d = 0, a
        while d < b:
            d += timedelta(days=1)
            n += self.works(d)
        return n

    def add_working_days(self, start: date, n: int) -> date:
        d = start
        while n:
            d += timedelta(days=1)
            n -= self.works(d)
        return d


def _days(*spans: tuple[date, date]) -> set[date]:
    out = set()
    for a, b in spans:
        while a <= b:
            out.add(a)
            a += timedelta(days=1)
    return out


# domain.md §4: the 2026 State Council notice.
OFF_2026 = _days(
    (D(2026, 1, 1), D(2026, 1, 3)),
    (D(2026, 2, 15), D(2026, 2, 23)),
    (D(2026, 4, 4), D(2026, 4, 6)),
    (D(2026, 5, 1), D(2026, 5, 5)),
    (D(2026, 6, 19), D(2026, 6, 21)),
    (D(2026, 9, 25), D(2026, 9, 27)),
    (D(2026, 10, 1), D(2026, 10, 7)),
)
ON_2026 = {D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)}


@pytest.fixture(scope="module")
def cal2026() -> WorkCalendar:
    return WorkCalendar(Exceptions(frozenset(OFF_2026), frozenset(ON_2026), frozenset({2026})), 2026, 2026)


def clock(cal, started_on, limit, today, *, finished=0, running=None, completed=None) -> Clock:
    return stage_clock(
        cal,
        started_on=started_on,
        limit=limit,
        finished_pause_days=finished,
        running_pause_from=running,
        completed_on=completed,
        today=today,
    )


# --- with the small fake calendar ----------------------------------------------------------------
# November 2026: Mon 2, Tue 3, ..., Fri 6, Sat 7, Sun 8, Mon 9, ...
FAKE = MonFri()


def test_deadline_counts_n_working_days_after_the_start_day():
    c = clock(FAKE, D(2026, 11, 2), 2, D(2026, 11, 2))
    assert c == Clock(D(2026, 11, 4), 0, 0, False, None)
    # started on Friday: the weekend does not count
    assert clock(FAKE, D(2026, 11, 6), 1, D(2026, 11, 6)).deadline == D(2026, 11, 9)
    # started on a Saturday: day 1 is Monday
    assert clock(FAKE, D(2026, 11, 7), 1, D(2026, 11, 7)).deadline == D(2026, 11, 9)


def test_deadline_is_the_date_with_n_plus_p_working_days_in_between():
    for start in (D(2026, 11, 2) + timedelta(days=i) for i in range(14)):
        for limit in range(0, 8):
            for paused in range(0, 4):
                d = clock(FAKE, start, limit, start, finished=paused).deadline
                assert d is not None
                assert FAKE.working_days_in(start, d) == limit + paused
                if limit + paused:
                    assert FAKE.works(d)  # the first such date, never a day off


def test_pause_and_resume_on_the_same_day_cover_zero_days():
    # while paused on the day it started, nothing is counted yet
    c = clock(FAKE, D(2026, 11, 2), 2, D(2026, 11, 3), running=D(2026, 11, 3))
    assert c.paused_working_days == 0
    assert c.deadline == D(2026, 11, 4)
    assert FAKE.working_days_in(D(2026, 11, 3), D(2026, 11, 3)) == 0


def test_a_running_pause_over_a_weekend_counts_only_working_days():
    # started Mon 2, paused Fri 6; today is Sunday 8: B = today, (Fri, Sun] has no working day
    c = clock(FAKE, D(2026, 11, 2), 5, D(2026, 11, 8), running=D(2026, 11, 6))
    assert c.paused_working_days == 0
    assert c.deadline == D(2026, 11, 9)
    assert c.working_days_used == 4
    # on Monday the pause covers one working day, the deadline moves by one
    c = clock(FAKE, D(2026, 11, 2), 5, D(2026, 11, 9), running=D(2026, 11, 6))
    assert c.paused_working_days == 1
    assert c.deadline == D(2026, 11, 10)
    assert c.working_days_used == 4
    assert c.overdue is False


def test_while_paused_b_is_today_so_it_is_never_overdue_by_waiting():
    start = D(2026, 11, 2)
    for today in (D(2026, 11, 4) + timedelta(days=i) for i in range(20)):
        c = clock(FAKE, start, 2, today, running=D(2026, 11, 3))
        assert c.deadline is not None and c.deadline >= today
        assert c.working_days_used == 1
        assert c.overdue is False


def test_working_days_used_excludes_finished_pauses():
    # started Mon 2, two working days paused earlier; today Fri 13 = 9 working days
    c = clock(FAKE, D(2026, 11, 2), 5, D(2026, 11, 13), finished=2)
    assert c.working_days_used == 7
    assert c.deadline == D(2026, 11, 11)
    assert c.overdue is True


def test_overdue_exactly_when_today_is_after_the_deadline():
    start = D(2026, 11, 2)  # limit 2 -> Wed 4
    assert clock(FAKE, start, 2, D(2026, 11, 4)).overdue is False
    assert clock(FAKE, start, 2, D(2026, 11, 5)).overdue is True
    # started Thursday with limit 1: deadline Friday; the weekend is already overdue
    assert clock(FAKE, D(2026, 11, 5), 1, D(2026, 11, 7)).overdue is True


def test_on_time_on_the_deadline_day_and_not_the_next_working_day():
    start = D(2026, 11, 5)  # Thu, limit 2 -> Mon 9
    c = clock(FAKE, start, 2, D(2026, 11, 20), completed=D(2026, 11, 9))
    assert c == Clock(D(2026, 11, 9), 0, 2, False, True)
    c = clock(FAKE, start, 2, D(2026, 11, 20), completed=D(2026, 11, 10))
    assert c == Clock(D(2026, 11, 9), 0, 3, False, False)
    # completed on the weekend before the deadline: on time, 1 working day used
    c = clock(FAKE, start, 2, D(2026, 11, 20), completed=D(2026, 11, 7))
    assert c.on_time is True and c.working_days_used == 1


def test_completed_on_the_start_day_uses_zero_days():
    c = clock(FAKE, D(2026, 11, 2), 1, D(2026, 11, 2), completed=D(2026, 11, 2))
    assert c == Clock(D(2026, 11, 3), 0, 0, False, True)


def test_customer_stage_and_not_started_stage():
    assert clock(FAKE, D(2026, 11, 2), None, D(2026, 11, 9)) == Clock(None, 0, 5, None, None)
    assert clock(FAKE, None, None, D(2026, 11, 9)) == Clock(None, 0, 0, None, None)
    assert clock(FAKE, None, 5, D(2026, 11, 9)) == Clock(None, 0, 0, False, None)


# --- with the real 2026 calendar ------------------------------------------------------------------


def test_real_calendar_facts(cal2026):
    assert not cal2026.is_working_day(D(2026, 10, 1))
    assert not cal2026.is_working_day(D(2026, 10, 7))
    assert cal2026.is_working_day(D(2026, 10, 10))  # Saturday, 调休
    assert not cal2026.is_working_day(D(2026, 10, 11))
    assert cal2026.is_working_day(D(2026, 9, 20))  # Sunday, 调休
    assert cal2026.working_days_in(D(2026, 9, 30), D(2026, 10, 8)) == 1


@pytest.mark.parametrize(
    ("start", "limit", "deadline"),
    [
        (D(2026, 9, 29), 2, D(2026, 10, 8)),  # smoke test: 9-30 is day 1, 10-8 day 2
        (D(2026, 9, 30), 1, D(2026, 10, 8)),
        (D(2026, 9, 30), 2, D(2026, 10, 9)),
        (D(2026, 9, 30), 3, D(2026, 10, 10)),  # the working Saturday
        (D(2026, 9, 30), 4, D(2026, 10, 12)),
        (D(2026, 9, 28), 5, D(2026, 10, 10)),
        (D(2026, 10, 1), 1, D(2026, 10, 8)),  # started on a holiday
        (D(2026, 9, 24), 1, D(2026, 9, 28)),  # Mid-Autumn Sep 25-27 off
        (D(2026, 9, 18), 1, D(2026, 9, 20)),  # Sunday Sep 20 is a working day
        (D(2026, 9, 15), 15, D(2026, 10, 12)),  # hv_single scheme across both holidays
    ],
)
def test_deadlines_across_national_day_2026(cal2026, start, limit, deadline):
    c = clock(cal2026, start, limit, start)
    assert c.deadline == deadline
    assert cal2026.working_days_in(start, deadline) == limit


def test_pause_over_national_day(cal2026):
    # scheme (limit 15) started Sep 15; paused Sep 29, resumed Oct 9:
    # (Sep 29, Oct 9] = Sep 30, Oct 8, Oct 9 = 3 working days
    pause_days = cal2026.working_days_in(D(2026, 9, 29), D(2026, 10, 9))
    assert pause_days == 3
    c = clock(cal2026, D(2026, 9, 15), 15, D(2026, 10, 9), finished=pause_days)
    assert c.deadline == D(2026, 10, 15)
    # (Sep 15, Oct 9] = 13 working days (Sep 20 is a working Sunday), minus the 3 paused
    assert c.working_days_used == 10
    # while still paused on Oct 10 (working Saturday), B = today: 4 days
    c = clock(cal2026, D(2026, 9, 15), 15, D(2026, 10, 10), running=D(2026, 9, 29))
    assert c.paused_working_days == 4
    assert c.deadline == D(2026, 10, 16)
    assert c.working_days_used == 10


def test_on_time_and_overdue_around_a_deadline_before_the_holiday(cal2026):
    # connection limit 2 started Sep 28 -> Sep 30; Oct 1-7 are not working days
    start = D(2026, 9, 28)
    assert clock(cal2026, start, 2, start).deadline == D(2026, 9, 30)
    assert clock(cal2026, start, 2, D(2026, 9, 30)).overdue is False
    assert clock(cal2026, start, 2, D(2026, 10, 1)).overdue is True
    assert clock(cal2026, start, 2, D(2026, 10, 9), completed=D(2026, 9, 30)).on_time is True
    late = clock(cal2026, start, 2, D(2026, 10, 9), completed=D(2026, 10, 8))
    assert late.on_time is False
    assert late.working_days_used == 3


@pytest.mark.django_db
def test_the_seeded_database_calendar_agrees_with_the_notice():
    from sunshine.calendar import workdays

    cal = workdays.current()
    day = D(2026, 1, 1)
    while day.year == 2026:
        expected = day in ON_2026 or (day.weekday() < 5 and day not in OFF_2026)
        assert cal.is_working_day(day) == expected, day
        day += timedelta(days=1)
