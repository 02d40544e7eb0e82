"""How a deadline was computed, day by day, against the 2026 State Council notice (domain.md §4):
off Jan 1–3, Feb 15–23, Apr 4–6, May 1–5, Jun 19–21, Sep 25–27, Oct 1–7; working weekend days
Jan 4 (Sun), Feb 14 (Sat), Feb 28 (Sat), May 9 (Sat), Sep 20 (Sun), Oct 10 (Sat)."""

from __future__ import annotations

from datetime import date

import chinese_calendar
from hypothesis import given
from hypothesis import strategies as st

from sunshine.calendar.explain import explain_deadline, holiday_names
from sunshine.calendar.workdays import Exceptions, WorkCalendar

D = date

HOL = {d for d in chinese_calendar.holidays if d.year in (2025, 2026)}
WORK = {d for d in chinese_calendar.workdays if d.year in (2025, 2026)}
CAL = WorkCalendar(Exceptions(frozenset(HOL), frozenset(WORK), frozenset({2025, 2026})), 2025, 2027)
NAMES = {d: str(n) for d, n in {**chinese_calendar.holidays, **chinese_calendar.workdays}.items() if d.year == 2026}


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


def test_a_running_pause_stops_the_walk_at_today():
    e = explain_deadline(
        CAL, start=D(2026, 11, 2), limit=3, pauses=[(D(2026, 11, 3), D(2026, 11, 6))], until=D(2026, 11, 6)
    )
    assert e.deadline is None
    assert [(d.day.day, d.kind) for d in e.days] == [(3, "counted"), (4, "paused"), (5, "paused"), (6, "paused")]


def test_holiday_names_prefer_the_table_over_the_statutory_names():
    rows = [(D(2027, 10, 1), "国庆节"), (D(2027, 10, 8), "")]
    statutory = {D(2027, 10, 1): "National Day", D(2027, 10, 2): "National Day"}
    assert holiday_names(rows, statutory) == {D(2027, 10, 1): "国庆节", D(2027, 10, 2): "National Day"}


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
    p = sum(CAL.working_days_in(a, b) for a, b in pauses) if limit else 0
    assert e.deadline == CAL.add_working_days(start, limit + p)
    assert e.paused_days == p
    assert [d.number for d in e.days if d.number] == list(range(1, limit + 1))
