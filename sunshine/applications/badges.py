"""Deadline badges: what a queue row or a timeline stage says about its clock.

Pure: a function of the deadline, today and the working-day calendar, no query. The texts
("剩余 N 个工作日", "今天到期", "超期 N 个工作日", "暂停中", "临时日历") count working days:

- remaining N = working days in (today, deadline]: the deadline day itself is the last one;
- due today  = today is the deadline day;
- overdue N  = working days in (deadline, today] (api-v1.md: overdue once today > deadline). On a
  rest day right after the deadline no working day has been lost yet: N is 0 and the text is
  "已超期" ("overdue") without a number.

A paused stage shows "暂停中" next to its clock (its deadline already moves with the pause); a
deadline that reaches into a year whose holiday notice is not confirmed yet shows "临时日历".
Completed (or skipped) stages have no badge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from django.utils.translation import npgettext, pgettext

BadgeKind = Literal["ok", "due", "overdue", "paused", "provisional"]


class Calendar(Protocol):
    def working_days_in(self, a: date, b: date) -> int: ...


@dataclass(frozen=True)
class Badge:
    kind: BadgeKind
    text: str
    days: int | None = None

    @property
    def css(self) -> str:
        return f"badge badge-{self.kind}"


def deadline_badges(
    cal: Calendar,
    *,
    deadline: date | None,
    today: date,
    paused: bool = False,
    provisional: bool = False,
    completed: bool = False,
) -> list[Badge]:
    """The badges of one stage clock, most important first (the deadline, then pause, then calendar)."""
    if completed:
        return []
    badges: list[Badge] = []
    if deadline is not None:
        if today > deadline:
            n = cal.working_days_in(deadline, today)
            text = (
                npgettext("deadline badge", "%(n)d working day overdue", "%(n)d working days overdue", n) % {"n": n}
                if n
                else pgettext("deadline badge", "Overdue")
            )
            badges.append(Badge("overdue", text, n))
        elif today == deadline:
            badges.append(Badge("due", pgettext("deadline badge", "Due today"), 0))
        else:
            n = cal.working_days_in(today, deadline)
            if n == 0:  # a deadline on a rest day (a zero-day limit): nothing left but that day
                badges.append(Badge("due", pgettext("deadline badge", "Due today"), 0))
            else:
                text = npgettext("deadline badge", "%(n)d working day left", "%(n)d working days left", n) % {"n": n}
                badges.append(Badge("ok", text, n))
    if paused:
        badges.append(Badge("paused", pgettext("deadline badge", "Paused")))
    if provisional and deadline is not None:
        badges.append(Badge("provisional", pgettext("deadline badge", "Provisional calendar")))
    return badges
