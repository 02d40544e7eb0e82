"""The stage clock: pure functions of dates and a working-day calendar (api-v1.md, normative).

- deadline D: the working days in (S, D] number N + P (P = paused working days);
- a pause from A to resume B covers the working days in (A, B]; while paused, B is today;
- working_days_used = working days in (S, E] minus P, E = completion date or today;
- overdue = not completed and today > D; on_time = completed and completion date <= D.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol


class Calendar(Protocol):
    def working_days_in(self, a: date, b: date) -> int: ...
    def add_working_days(self, start: date, n: int) -> date: ...


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
