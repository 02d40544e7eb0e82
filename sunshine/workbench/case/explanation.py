"""The deadline explanation in words: "2026-09-30 开始（当天不计），时限 3 个工作日：10-01…10-07
国庆节放假不计，10-08 第1天，10-09 第2天，10-10 周六国庆节调休上班，第3天 → 期限 2026-10-10"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from sunshine.calendar.explain import Explanation, Run

# Names the calendar table holds in English (seeded from chinesecalendar); their translations
# live in this app's catalogue. Names an administrator typed in Chinese pass through unchanged.
HOLIDAY_NAMES = (
    gettext_noop("New Year's Day"),
    gettext_noop("Spring Festival"),
    gettext_noop("Tomb-sweeping Day"),
    gettext_noop("Labour Day"),
    gettext_noop("Dragon Boat Festival"),
    gettext_noop("National Day"),
    gettext_noop("Mid-autumn Festival"),
    gettext_noop("Anti-Fascist 70th Day"),
)


def holiday_name(name: str) -> str:
    return _(name) if name else _("holiday")


def _weekday(d: date) -> str:
    return _("Saturday") if d.weekday() == 5 else _("Sunday")


@dataclass(frozen=True)
class Step:
    """One piece of the explanation: ``kind`` styles it (counted, holiday, weekend, ...)."""

    kind: str
    text: str


def _day(d: date, start: date) -> str:
    return f"{d:%m-%d}" if d.year == start.year else d.isoformat()


def _span(r: Run, start: date) -> str:
    if r.first == r.last:
        return _day(r.first, start)
    return f"{_day(r.first, start)}…{_day(r.last, start)}"


def steps(e: Explanation) -> list[Step]:
    out = [
        Step(
            "start",
            _("%(date)s started (that day is not counted), time limit %(n)s working days")
            % {"date": e.start.isoformat(), "n": e.limit},
        )
    ]
    for r in e.runs():
        span = _span(r, e.start)
        if r.kind == "counted":
            text = _("%(date)s day %(n)s") % {"date": span, "n": r.number}
        elif r.kind == "adjusted_workday":
            text = _("%(date)s %(weekday)s, working day in lieu (%(name)s), day %(n)s") % {
                "date": span,
                "weekday": _weekday(r.first),
                "name": holiday_name(r.name),
                "n": r.number,
            }
        elif r.kind == "holiday":
            text = _("%(dates)s %(name)s holiday, not counted") % {"dates": span, "name": holiday_name(r.name)}
        elif r.kind == "weekend":
            which = _weekday(r.first) if r.first == r.last else _("weekend")
            text = _("%(dates)s %(weekday)s, not counted") % {"dates": span, "weekday": which}
        elif r.kind == "extended":
            text = _("%(dates)s added for a paused working day") % {"dates": span}
        else:
            text = _("%(dates)s paused, not counted (deadline extended)") % {"dates": span}
        out.append(Step(r.kind, text))
    if e.running:
        out.append(
            Step(
                "end",
                _(
                    "→ deadline %(date)s as of today (%(n)s + %(p)s paused working days); "
                    "while paused it moves on by every working day of the pause"
                )
                % {"date": e.deadline.isoformat(), "n": e.limit, "p": e.paused_days},
            )
        )
    elif e.paused_days:
        out.append(
            Step(
                "end",
                _("→ deadline %(date)s (%(n)s + %(p)s paused working days)")
                % {"date": e.deadline.isoformat(), "n": e.limit, "p": e.paused_days},
            )
        )
    else:
        out.append(Step("end", _("→ deadline %(date)s") % {"date": e.deadline.isoformat()}))
    return out


def sentence(e: Explanation) -> str:
    """The whole explanation as one line (Chinese punctuation in Chinese)."""
    parts = [s.text for s in steps(e)]
    head, body, end = parts[0], parts[1:-1], parts[-1]
    return _("%(head)s: %(days)s %(end)s") % {"head": head, "days": _(", ").join(body), "end": end}
