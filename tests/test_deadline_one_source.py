"""One source for a deadline: the case header's 期限 (``stage_clock``) and the day-by-day
explanation (``clock.explain``) agree for any history of pauses over any working-day calendar.

Hypothesis draws a calendar (weekdays made holidays, weekend days made 调休 working days) and a
stage's history: its start, limit, pauses (finished, and perhaps one still running, before or
after the stage was due) and perhaps its completion. The header is what the engine computes from
the stored rows (``Pause.working_days`` of each finished pause, the running one counted to
today); the explanation is built from the same clock, as the case page does."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sunshine.applications.clock import explain, stage_clock
from sunshine.calendar.workdays import Exceptions, WorkCalendar

FIRST = date(2027, 1, 1)
DAYS = 730  # two years of calendar: every history drawn ends inside it


@st.composite
def calendars(draw: st.DrawFn) -> WorkCalendar:
    offsets = st.integers(0, DAYS - 1)
    days = [FIRST + timedelta(days=o) for o in draw(st.lists(offsets, max_size=60))]
    holidays = frozenset(d for d in days if d.weekday() < 5)
    workdays = frozenset(d for d in days if d.weekday() >= 5)
    return WorkCalendar(Exceptions(holidays, workdays, frozenset({2027, 2028})), 2027, 2028)


@st.composite
def histories(draw: st.DrawFn) -> dict:
    start = FIRST + timedelta(days=draw(st.integers(0, 200)))
    limit = draw(st.integers(1, 30))
    pauses: list[tuple[date, date | None]] = []
    day = start
    for _ in range(draw(st.integers(0, 4))):
        a = day + timedelta(days=draw(st.integers(0, 25)))  # before, on or after the due day
        b = a + timedelta(days=draw(st.integers(0, 20)))  # resumed the same day or later
        pauses.append((a, b))
        day = b
    running = bool(pauses) and draw(st.booleans())
    completed = None
    if running:
        a, b = pauses[-1]
        pauses[-1] = (a, None)
        today = b  # still paused today
    else:
        today = day + timedelta(days=draw(st.integers(0, 30)))
        if draw(st.booleans()):
            completed = today
            today += timedelta(days=draw(st.integers(0, 30)))
    return {"start": start, "limit": limit, "pauses": pauses, "completed": completed, "today": today}


@settings(max_examples=400, deadline=None)
@given(cal=calendars(), h=histories())
def test_the_header_and_the_explanation_name_the_same_deadline(cal: WorkCalendar, h: dict) -> None:
    start, limit, pauses, today = h["start"], h["limit"], h["pauses"], h["today"]
    finished = sum(cal.working_days_in(a, b) for a, b in pauses if b is not None)  # Pause.working_days
    running_from = next((a for a, b in pauses if b is None), None)
    header = stage_clock(
        cal,
        started_on=start,
        limit=limit,
        finished_pause_days=finished,
        running_pause_from=running_from,
        completed_on=h["completed"],
        today=today,
    )
    e = explain(cal, started_on=start, limit=limit, paused=header.paused_working_days, pauses=pauses, today=today)
    # the same date, and the walk ends on it
    assert e.deadline == header.deadline
    assert e.days[-1].day == header.deadline
    # every day after the start is there once, in order, each labelled by the calendar
    assert [d.day for d in e.days] == [start + timedelta(days=i) for i in range(1, (e.deadline - start).days + 1)]
    working = [d for d in e.days if cal.is_working_day(d.day)]
    assert all(d.kind in ("counted", "adjusted_workday", "paused", "extended") for d in working)
    assert all(d.kind in ("weekend", "holiday") for d in e.days if not cal.is_working_day(d.day))
    # the working days up to the deadline are the limit plus the paused days, no more, no less
    assert len(working) == limit + header.paused_working_days
    # the limit's days are numbered 1..N; the paused days shown are days inside a pause, and
    # the days given back for pauses after the deadline make up the rest of P
    assert [d.number for d in working if d.number is not None] == list(range(1, limit + 1))
    windows = [(a, b if b is not None else today) for a, b in pauses]
    shown_paused = [d for d in working if d.kind == "paused"]
    assert all(any(a < d.day <= b for a, b in windows) for d in shown_paused)
    extended = [d for d in working if d.kind == "extended"]
    assert len(shown_paused) + len(extended) == header.paused_working_days
    assert e.running == (running_from is not None and h["completed"] is None)
