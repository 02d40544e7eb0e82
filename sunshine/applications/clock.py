"""The stage clock: pure functions of dates and a working-day calendar (api-v1.md, normative).

- deadline D: the working days in (S, D] number N + P (P = paused working days);
- a pause from A to resume B covers the working days in (A, B]; while paused, B is today;
- working_days_used = working days in (S, E] minus P, E = completion date or today;
- overdue = not completed and today > D; on_time = completed and completion date <= D.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sunshine.calendar.explain import Explanation, explain_deadline


class Calendar(Protocol):
    def working_days_in(self, a: date, b: date) -> int: ...
    def add_working_days(self, start: date, n: int) -> date: ...


class WalkingCalendar(Calendar, Protocol):
    def is_working_day(self, day: date) -> bool: ...


def deadline_on(cal: Calendar, started_on: date, limit: int, paused: int) -> date:
    """The deadline D of a stage started on S with limit N and P paused working days: the working
    days in (S, D] number N + P. The one copy of this formula: the engine stores it
    (``rules.project``), the clock reads it."""
    return cal.add_working_days(started_on, limit + paused)


@dataclass(frozen=True)
class Clock:
    deadline: date | None
    paused_working_days: int
    working_days_used: int
    overdue: bool | None
    on_time: bool | None


def stage_clock(
    cal: Calendar,
    *,
    started_on: date | None,
    limit: int | None,
    finished_pause_days: int,
    running_pause_from: date | None,
    completed_on: date | None,
    today: date,
) -> Clock:
    """The clock of one stage instance as of ``today``.

    ``limit`` None means a customer-owned stage: no deadline, overdue or on_time. A stage not
    started has nothing to count. ``today`` is the day the clock stops for a stage frozen by a
    cancellation (pass the cancellation date).
    """
    if started_on is None:
        return Clock(None, 0, 0, None if limit is None else False, None)
    end = completed_on or today
    paused = finished_pause_days
    if running_pause_from is not None and completed_on is None:
        paused += cal.working_days_in(running_pause_from, today)
    used = max(cal.working_days_in(started_on, end) - paused, 0)
    if limit is None:
        return Clock(None, paused, used, None, None)
    deadline = deadline_on(cal, started_on, limit, paused)
    if completed_on is not None:
        return Clock(deadline, paused, used, False, completed_on <= deadline)
    return Clock(deadline, paused, used, today > deadline, None)


def explain(
    cal: WalkingCalendar,
    *,
    started_on: date,
    limit: int,
    paused: int,
    pauses: Sequence[tuple[date, date | None]],
    today: date,
    names: Mapping[date, str] | None = None,
) -> Explanation:
    """The day-by-day explanation of a utility stage's deadline (the case page's "How the
    deadline was computed"). ``paused``: the stage clock's paused working days
    (``stage_clock(...).paused_working_days``); ``pauses``: the stage's pauses as (started_on,
    ended_on or None while running); ``today``: the day the clock stops. The deadline is
    ``deadline_on`` of the same numbers as ``stage_clock``'s, so the header's 期限 and the last day
    of the explanation are one date (``tests/test_deadline_one_source.py`` checks it over random
    pause and calendar histories)."""
    running = any(b is None for _a, b in pauses)
    windows = [(a, b if b is not None else today) for a, b in pauses]
    return explain_deadline(
        cal,
        start=started_on,
        limit=limit,
        deadline=deadline_on(cal, started_on, limit, paused),
        paused=paused,
        pauses=windows,
        names=names,
        running=running,
    )
