"""The rungs of the escalation ladder: configuration, and when each one falls for a deadline.

A rung is a moment relative to a stage's deadline, counted in working days (``offset`` -1 is
the working day before the deadline, "1 working day left"; 0 the deadline day, "due today";
1 the first working day after it, "overdue"; 3 "overdue 3 working days"). It fires at
``SUNSHINE_RUNG_TIME`` (local, Asia/Shanghai) of that day, writes an event of type ``event``
on the application's timeline and sends the staff template ``template`` to the people named
by ``notify`` (in ladder order). The ladder climbs the tree of company units
(``sunshine.accounts.units``) from the application's unit up:

- ``manager``: the application's customer manager;
- ``team_lead``: the team lead of the application's service area (``ServiceArea.team_lead``);
- ``leader``: the supervising leader of a supervised project; otherwise the active leaders of the
  application's unit, or of the nearest unit above it that has any (a service hall's application
  goes to its county's leaders; with one unit, every leader);
- ``leader@<kind>`` (``leader@county``, ``leader@city``, ``leader@province``): the active leaders
  of the unit of that kind in the application's line (the unit itself or one above it); nobody
  when the line has no unit of that kind (a single-company installation has no city);
- ``key:`` before any of these: only for a key project (marked 重点项目 or under leader
  supervision), e.g. ``key:leader@city``.

``settings.SUNSHINE_RUNGS`` maps a category (or ``default``, or ``supervised`` for projects
under leader supervision, which get the tighter list) to its rungs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sunshine.accounts.models import UnitKind
from sunshine.applications.events import RUNG_TYPES
from sunshine.calendar import workdays

EVENTS = tuple(RUNG_TYPES)
TEMPLATES = ("due_soon", "due_today", "overdue", "escalated")
RECIPIENTS = ("manager", "team_lead", "leader")
KEY = "key:"
SUPERVISED = "supervised"
DEFAULT = "default"

LABELS = {
    "due_soon_3": _("3 working days left"),
    "due_soon_2": _("2 working days left"),
    "due_soon": _("1 working day left"),
    "due_today": _("due today"),
    "overdue": _("overdue"),
    "overdue_2": _("overdue 2 working days"),
    "overdue_3": _("overdue 3 working days"),
    "overdue_5": _("overdue 5 working days"),
}


@dataclass(frozen=True)
class Rung:
    code: str
    offset: int
    event: str
    template: str
    notify: tuple[str, ...]

    @property
    def label(self) -> str:
        return str(LABELS.get(self.code, self.code))


def _rung(raw: dict[str, Any]) -> Rung:
    rung = Rung(
        code=str(raw["code"]),
        offset=int(raw["offset"]),
        event=str(raw["event"]),
        template=str(raw["template"]),
        notify=tuple(raw["notify"]),
    )
    if rung.event not in EVENTS or rung.template not in TEMPLATES or not all(map(valid_recipient, rung.notify)):
        raise ValueError(f"bad rung configuration: {raw!r}")
    if len(rung.code) > 20:
        raise ValueError(f"rung code too long: {rung.code!r}")
    return rung


@dataclass(frozen=True, slots=True)
class Recipient:
    """One entry of a rung's ``notify``: who (``manager``, ``team_lead``, ``leader``), the unit
    kind a leader is looked for at (``leader@city``), and whether key projects only (``key:``)."""

    who: str
    kind: str | None = None
    key_only: bool = False


def recipient(spec: str) -> Recipient:
    key_only = spec.startswith(KEY)
    who, _sep, kind = spec.removeprefix(KEY).partition("@")
    return Recipient(who, kind or None, key_only)


def valid_recipient(spec: str) -> bool:
    found = recipient(spec)
    if found.who not in RECIPIENTS:
        return False
    return found.kind is None or (found.who == "leader" and found.kind in UnitKind.values)


@cache
def _config() -> dict[str, tuple[Rung, ...]]:
    raw: dict[str, list[dict[str, Any]]] = settings.SUNSHINE_RUNGS
    out = {key: tuple(sorted((_rung(r) for r in rungs), key=lambda r: r.offset)) for key, rungs in raw.items()}
    if DEFAULT not in out or SUPERVISED not in out:
        raise ValueError("SUNSHINE_RUNGS needs a 'default' and a 'supervised' list")
    return out


def reset_config() -> None:
    """Forget the parsed configuration (tests that override the setting call this)."""
    _config.cache_clear()


def rungs_for(category: str, supervised: bool) -> tuple[Rung, ...]:
    config = _config()
    if supervised:
        return config[SUPERVISED]
    return config.get(category, config[DEFAULT])


def rung_by_code(code: str) -> Rung | None:
    for rungs in _config().values():
        for rung in rungs:
            if rung.code == code:
                return rung
    return None


def label(code: str) -> str:
    return str(LABELS.get(code, code))


def rung_day(deadline: date, offset: int) -> date:
    """The working day ``offset`` working days from ``deadline`` (before it when negative)."""
    if offset >= 0:
        return workdays.add_working_days(deadline, offset)
    day, left = deadline, -offset
    while left:
        day -= timedelta(days=1)
        if workdays.is_working_day(day):
            left -= 1
    return day


def moment_at(day: date) -> datetime:
    hour, minute = (int(x) for x in settings.SUNSHINE_RUNG_TIME.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


def moments(*, deadline: date, started_on: date, category: str, supervised: bool) -> dict[str, tuple[Rung, datetime]]:
    """The moment of every rung of a stage that started on ``started_on`` with ``deadline``.

    A warning that would fall on or before the start day is left out (a one-day stage does
    not start with "1 working day left").
    """
    out: dict[str, tuple[Rung, datetime]] = {}
    for rung in rungs_for(category, supervised):
        day = rung_day(deadline, rung.offset)
        if rung.offset < 0 and day <= started_on:
            continue
        out[rung.code] = (rung, moment_at(day))
    return out
