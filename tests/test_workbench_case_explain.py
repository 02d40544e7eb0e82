"""How a deadline was computed, day by day, against the 2026 State Council notice (domain.md §4):
off Jan 1–3, Feb 15–23, Apr 4–6, May 1–5, Jun 19–21, Sep 25–27, Oct 1–7; working weekend days
Jan 4 (Sun), Feb 14 (Sat), Feb 28 (Sat), May 9 (Sat), Sep 20 (Sun), Oct 10 (Sat)."""

from __future__ import annotations

from datetime import date

import chinese_calendar
from hypothesis import given, settings
from hypothesis import strategies as st

from sunshine.applications.clock import explain, stage_clock
from sunshine.calendar.explain import holiday_names
from sunshine.calendar.workdays import Exceptions, WorkCalendar

D = date

HOL = {d for d in chinese_calendar.holidays if d.year in (2025, 2026)}
WORK = {d for d in chinese_calendar.workdays if d.year in (2025, 2026)}
CAL = WorkCalendar(Exceptions(frozenset(HOL), frozenset(WORK), frozenset({2025, 2026})), 2025, 2027)
NAMES = {d: str(n) for d, n in {**chinese_calendar.holidays, **chinese_calendar.workdays}.items() if d.year == 2026}


TODAY = D(2026, 12, 31)


def explain_deadline(cal, *, start, limit, pauses=(), names=None, today=TODAY):
    """The explanation of a stage started on ``start``, its pauses finished (the clock's paused
    days are those of the pauses, as the engine stores them)."""
    paused = sum(cal.working_days_in(a, b or today) for a, b in pauses)
    return explain(cal, started_on=start, limit=limit, paused=paused, pauses=pauses, today=today, names=names)


def runs(start: date, limit: int, **kw) -> list[tuple[str, str, str, str, int | None]]:
    e = explain_deadline(CAL, start=start, limit=limit, names=NAMES, **kw)
    return [(f"{r.first:%m-%d}", f"{r.last:%m-%d}", r.kind, r.name, r.number) for r in e.runs()]


def test_national_day_then_the_saturday_worked_for_it():
    e = explain_deadline(CAL, start=D(2026, 9, 30), limit=3, names=NAMES)
    assert (e.deadline, e.paused_days) == (D(2026, 10, 10), 0)
    assert runs(D(2026, 9, 30), 3) == [
        ("10-01", "10-07", "holiday", "National Day", None),
        ("10-08", "10-08", "counted", "", 1),
        ("10-09", "10-09", "counted", "", 2),
        ("10-10", "10-10", "adjusted_workday", "National Day", 3),
    ]


def test_the_sunday_worked_before_mid_autumn_and_national_day():
    assert runs(D(2026, 9, 18), 6) == [
        ("09-19", "09-19", "weekend", "", None),
        ("09-20", "09-20", "adjusted_workday", "National Day", 1),
        ("09-21", "09-21", "counted", "", 2),
        ("09-22", "09-22", "counted", "", 3),
        ("09-23", "09-23", "counted", "", 4),
        ("09-24", "09-24", "counted", "", 5),
        ("09-25", "09-27", "holiday", "Mid-autumn Festival", None),
        ("09-28", "09-28", "counted", "", 6),
    ]


def test_spring_festival_with_the_saturday_worked_before_it():
    e = explain_deadline(CAL, start=D(2026, 2, 12), limit=5, names=NAMES)
    assert e.deadline == D(2026, 2, 26)
    assert runs(D(2026, 2, 12), 5) == [
        ("02-13", "02-13", "counted", "", 1),
        ("02-14", "02-14", "adjusted_workday", "Spring Festival", 2),
        ("02-15", "02-23", "holiday", "Spring Festival", None),
        ("02-24", "02-24", "counted", "", 3),
        ("02-25", "02-25", "counted", "", 4),
        ("02-26", "02-26", "counted", "", 5),
    ]


def test_labour_day_and_its_saturday():
    e = explain_deadline(CAL, start=D(2026, 4, 30), limit=4, names=NAMES)
    assert e.deadline == D(2026, 5, 9)
    assert runs(D(2026, 4, 30), 4) == [
        ("05-01", "05-05", "holiday", "Labour Day", None),
        ("05-06", "05-06", "counted", "", 1),
        ("05-07", "05-07", "counted", "", 2),
        ("05-08", "05-08", "counted", "", 3),
        ("05-09", "05-09", "adjusted_workday", "Labour Day", 4),
    ]


def test_an_ordinary_weekend_is_one_run():
    assert runs(D(2026, 11, 5), 3) == [
        ("11-06", "11-06", "counted", "", 1),
        ("11-07", "11-08", "weekend", "", None),
        ("11-09", "11-09", "counted", "", 2),
        ("11-10", "11-10", "counted", "", 3),
    ]


def test_pause_days_are_added():
    # Started Mon Nov 2, limit 3; paused Tue 3, resumed Thu 5: Wed 4 and Thu 5 are paused (P = 2).
    e = explain_deadline(CAL, start=D(2026, 11, 2), limit=3, pauses=[(D(2026, 11, 3), D(2026, 11, 5))], names=NAMES)
    assert (e.deadline, e.paused_days) == (D(2026, 11, 9), 2)
    assert e.deadline == CAL.add_working_days(D(2026, 11, 2), 3 + 2)
    assert runs(D(2026, 11, 2), 3, pauses=[(D(2026, 11, 3), D(2026, 11, 5))]) == [
        ("11-03", "11-03", "counted", "", 1),
        ("11-04", "11-05", "paused", "", None),
        ("11-06", "11-06", "counted", "", 2),
        ("11-07", "11-08", "weekend", "", None),
        ("11-09", "11-09", "counted", "", 3),
    ]


def test_a_running_pause_walks_to_the_deadline_of_today():
    # Paused Tue 11-03 and still paused on Fri 11-06: 11-04…11-06 are paused (P = 3 as of today),
    # the deadline is the 3 + 3 = 6th working day, Tue 11-10, as the clock says.
    pauses = [(D(2026, 11, 3), None)]
    e = explain(CAL, started_on=D(2026, 11, 2), limit=3, paused=3, pauses=pauses, today=D(2026, 11, 6))
    clock = stage_clock(
        CAL,
        started_on=D(2026, 11, 2),
        limit=3,
        finished_pause_days=0,
        running_pause_from=D(2026, 11, 3),
        completed_on=None,
        today=D(2026, 11, 6),
    )
    assert (e.deadline, e.paused_days, e.running) == (clock.deadline, clock.paused_working_days, True)
    assert e.deadline == D(2026, 11, 10)
    assert [(d.day.day, d.kind, d.number) for d in e.days] == [
        (3, "counted", 1),
        (4, "paused", None),
        (5, "paused", None),
        (6, "paused", None),
        (7, "weekend", None),
        (8, "weekend", None),
        (9, "counted", 2),
        (10, "counted", 3),
    ]


def test_a_pause_after_the_deadline_gives_the_days_back_after_the_last_counted_day():
    # Limit 2 from Mon 11-02 (due Wed 11-04); paused on the due day, resumed Fri 11-06: 11-05 and
    # 11-06 are paused (P = 2) and the deadline is Fri 11-06, the header's date (the walk used
    # to stop at 11-04 while the header said 11-06).
    assert runs(D(2026, 11, 2), 2, pauses=[(D(2026, 11, 4), D(2026, 11, 6))]) == [
        ("11-03", "11-03", "counted", "", 1),
        ("11-04", "11-04", "counted", "", 2),
        ("11-05", "11-06", "paused", "", None),
    ]
    # Paused two working days after it was due (Fri 11-06 → Tue 11-10, P = 2): the deadline
    # moves from Wed 11-04 to Fri 11-06; 11-05 and 11-06 are the two days given back.
    e = explain_deadline(CAL, start=D(2026, 11, 2), limit=2, pauses=[(D(2026, 11, 6), D(2026, 11, 10))])
    assert (e.deadline, e.paused_days) == (D(2026, 11, 6), 2)
    assert [(d.day.day, d.kind, d.number) for d in e.days] == [
        (3, "counted", 1),
        (4, "counted", 2),
        (5, "extended", None),
        (6, "extended", None),
    ]


def test_holiday_names_prefer_the_table_over_the_statutory_names():
    rows = [(D(2027, 10, 1), "国庆节"), (D(2027, 10, 8), "")]
    statutory = {D(2027, 10, 1): "National Day", D(2027, 10, 2): "National Day"}
    assert holiday_names(rows, statutory) == {D(2027, 10, 1): "国庆节", D(2027, 10, 2): "National Day"}


@settings(deadline=None)  # a loaded machine must not fail it on time
@given(
    start=st.dates(min_value=D(2025, 1, 1), max_value=D(2026, 10, 31)),
    limit=st.integers(min_value=0, max_value=30),
    pause=st.one_of(st.none(), st.tuples(st.integers(0, 20), st.integers(0, 15))),
)
def test_the_walk_agrees_with_the_calendar_arithmetic(start, limit, pause):
    pauses = []
    if pause is not None:
        a = CAL.add_working_days(start, pause[0]) if pause[0] else start
        b = CAL.add_working_days(a, pause[1]) if pause[1] else a
        if pause[0] < limit or limit == 0:
            pauses = [(a, b)]
    e = explain_deadline(CAL, start=start, limit=limit, pauses=pauses)
    p = sum(CAL.working_days_in(a, b) for a, b in pauses)
    assert e.deadline == CAL.add_working_days(start, limit + p)
    assert e.paused_days == p
    assert [d.number for d in e.days if d.number] == list(range(1, limit + 1))
