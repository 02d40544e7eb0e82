"""How a deadline was computed, day by day: a pure function of a calendar and the stage's dates.

The counting rule (domain.md §3, api-v1.md "Deadline semantics"): the start day S is not
counted; working days in (S, D] number N + P where P is the working days covered by pauses (a
pause from A to resume B covers the working days in (A, B]). ``explain_deadline`` walks the
days after S up to the deadline D the clock computed (``sunshine.applications.clock.explain``:
the header's 期限 and this walk come from the same ``deadline_on``) and says for each why it
counts or not, so the page can show e.g.
"2026-09-30 开始，时限 3 个工作日：10-01…10-07 国庆节放假不计，10-08 第1天，10-09 第2天，
10-10 周六调休上班第3天 → 期限 10-10".

It does no query: the caller passes the calendar (``workdays.current()``) and the names of the
exceptional days (``day_names``, one query for a range).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal, Protocol

# "extended": a working day after the N-th counted one, given back for a paused working day that
# lies after it (a stage paused when it was already due, or on its last day).
Kind = Literal["counted", "adjusted_workday", "weekend", "holiday", "paused", "extended"]
# Days walked at most; a real limit is a few dozen working days (a year's worth is a bug).
MAX_DAYS = 800


class WorkingDays(Protocol):
    def is_working_day(self, day: date) -> bool: ...


@dataclass(frozen=True)
class Day:
    """One day after the start. ``number`` is the working day's ordinal (1..N) when it counts."""

    day: date
    kind: Kind
    # The holiday's name (e.g. "National Day") for a holiday or an adjusted working weekend day.
    name: str = ""
    number: int | None = None


@dataclass(frozen=True)
class Run:
    """Consecutive days with the same reason (``first`` == ``last`` for a single day)."""

    first: date
    last: date
    kind: Kind
    name: str = ""
    number: int | None = None


@dataclass(frozen=True)
class Explanation:
    start: date
    limit: int
    # Working days added for pauses (P): the clock's paused working days.
    paused_days: int
    # The deadline: the end of the (limit + paused_days)-th working day after the start
    # (``sunshine.applications.clock.deadline_on``), the date the case header shows.
    deadline: date
    days: list[Day] = field(default_factory=list)
    # Paused now: the deadline moves on by every working day the pause still lasts.
    running: bool = False

    def runs(self) -> list[Run]:
        """Days grouped: a holiday or weekend spanning several days is one run; counted days
        stay one per run (each has its number)."""
        out: list[Run] = []
        for d in self.days:
            prev = out[-1] if out else None
            if (
                prev is not None
                and d.number is None
                and prev.number is None
                and prev.kind == d.kind
                and prev.name == d.name
                and prev.last + timedelta(days=1) == d.day
            ):
                out[-1] = Run(prev.first, d.day, prev.kind, prev.name)
            else:
                out.append(Run(d.day, d.day, d.kind, d.name, d.number))
        return out


def explain_deadline(
    cal: WorkingDays,
    *,
    start: date,
    limit: int,
    deadline: date,
    paused: int,
    pauses: Sequence[tuple[date, date]] = (),
    names: Mapping[date, str] | None = None,
    running: bool = False,
) -> Explanation:
    """Every day in (start, deadline] with the reason it counts or not.

    The deadline and the paused working days are given: they come from the one formula
    (``sunshine.applications.clock.explain``, which computes both with ``deadline_on``); this
    only labels the days. ``pauses`` are (A, B) pairs: the working days in (A, B] are paused (a
    running pause passes B = the day its clock stopped). A working day neither paused nor among
    the first ``limit`` is "extended": given back for a paused day after it. ``running``: the
    stage is paused now (its deadline moves on with every working day the pause lasts).
    """
    names = names or {}
    days: list[Day] = []
    counted = 0
    day = start
    if (deadline - start).days > MAX_DAYS:
        raise ValueError(f"no deadline within {MAX_DAYS} days of {start}")
    while day < deadline:
        day += timedelta(days=1)
        name = names.get(day, "")
        if cal.is_working_day(day):
            if any(a < day <= b for a, b in pauses):
                days.append(Day(day, "paused", name))
            elif counted < limit:
                counted += 1
                kind: Kind = "adjusted_workday" if day.weekday() >= 5 else "counted"
                days.append(Day(day, kind, name if kind == "adjusted_workday" else "", counted))
            else:
                days.append(Day(day, "extended", name))
        elif day.weekday() >= 5 and not name:
            days.append(Day(day, "weekend"))
        else:
            days.append(Day(day, "holiday", name))
    return Explanation(start, limit, paused, deadline, days, running)


def holiday_names(rows: Iterable[tuple[date, str]], statutory: Mapping[date, str]) -> dict[date, str]:
    """Names of exceptional days: the calendar table's rows, else the statutory names the
    ``holidays`` package computes for a provisional year."""
    out = dict(statutory)
    out.update({d: n for d, n in rows if n})
    return out


def day_names(first: date, last: date) -> dict[date, str]:
    """Names of the exceptional days in [first, last] (one query)."""
    from sunshine.calendar.models import CalendarDay
    from sunshine.calendar.workdays import current, statutory_holidays

    cal = current()
    statutory: dict[date, str] = {}
    for year in range(first.year, last.year + 1):
        if cal.is_provisional_year(year):
            statutory.update(statutory_holidays(year))
    rows = CalendarDay.objects.filter(date__range=(first, last)).values_list("date", "name")
    return holiday_names(rows, statutory)
