"""Working-day arithmetic, answered from an in-memory index.

Semantics (api-v1.md, "Deadline semantics"): ``working_days_in(a, b)`` counts the working days
in the half-open interval (a, b]; ``add_working_days(s, n)`` is the first date D with
``working_days_in(s, D) == n`` (and ``s`` itself for n == 0).

``WorkCalendar`` is a pure value: built from sets of dates, it holds a prefix-count array over
a range of years, so both operations are O(1) / O(log days) with no loop over days and no
query. ``current()`` returns the process-wide calendar loaded from the database; it re-reads
the table when another process changed it (checked at most every ``RECHECK_SECONDS``) and at
once when this process changed it (``invalidate()``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property, lru_cache

FIRST_YEAR = 2004
# How far past today the index reaches before it is rebuilt wider.
YEARS_AHEAD = 6
RECHECK_SECONDS = 30.0


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> dict[date, str]:
    """The statutory days off of ``year`` computed from the law (no 调休, no bridging days)."""
    import holidays

    return dict(holidays.China(years=[year], observed=False).items())  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Exceptions:
    holidays: frozenset[date]
    workdays: frozenset[date]
    official_years: frozenset[int]

    @cached_property
    def version(self) -> str:
        """A fingerprint of the calendar's content: equal for equal calendars in any process,
        different after any edit (answers computed with the calendar are cached under it)."""
        text = "|".join(
            [
                ",".join(sorted(d.isoformat() for d in self.holidays)),
                ",".join(sorted(d.isoformat() for d in self.workdays)),
                ",".join(str(y) for y in sorted(self.official_years)),
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class WorkCalendar:
    """Working days between ``first_year`` and ``last_year`` inclusive; wider on demand."""

    def __init__(self, exceptions: Exceptions, first_year: int, last_year: int) -> None:
        self.exceptions = exceptions
        self.first_year = first_year
        self.last_year = last_year
        self._base = date(first_year, 1, 1).toordinal()
        end = date(last_year, 12, 31).toordinal()
        holidays = set(exceptions.holidays)
        for year in range(first_year, last_year + 1):
            if year not in exceptions.official_years:
                holidays.update(statutory_holidays(year))
        workdays = exceptions.workdays
        # cum[i] = working days in [base, base + i]
        cum = array("l", bytes(8 * (end - self._base + 1)))
        count = 0
        for i in range(end - self._base + 1):
            day = date.fromordinal(self._base + i)
            if day in workdays or (day.weekday() < 5 and day not in holidays):
                count += 1
            cum[i] = count
        self._cum = cum

    # -- queries ------------------------------------------------------------------------------
    def _index(self, day: date) -> int:
        i = day.toordinal() - self._base
        if i < 0 or i >= len(self._cum):
            raise OutOfRange(day)
        return i

    def is_working_day(self, day: date) -> bool:
        i = self._index(day)
        return self._cum[i] - (self._cum[i - 1] if i else 0) == 1

    def working_days_in(self, a: date, b: date) -> int:
        """Working days in (a, b]; 0 when b <= a."""
        if b <= a:
            return 0
        return self._cum[self._index(b)] - self._cum[self._index(a)]

    def add_working_days(self, start: date, n: int) -> date:
        """The end of the n-th working day after ``start`` (``start`` itself when n == 0)."""
        if n < 0:
            raise ValueError("n must not be negative")
        if n == 0:
            return start
        target = self._cum[self._index(start)] + n
        i = bisect_left(self._cum, target)
        if i >= len(self._cum):
            raise OutOfRange(start + timedelta(days=2 * n + 30))
        return date.fromordinal(self._base + i)

    def is_provisional_year(self, year: int) -> bool:
        return year not in self.exceptions.official_years

    def touches_provisional(self, a: date, b: date) -> bool:
        """True when any day of [a, b] lies in a year not confirmed against the notice."""
        return any(self.is_provisional_year(y) for y in range(a.year, b.year + 1))


class OutOfRange(LookupError):
    """The date lies outside the index; ``current()`` widens it."""


# --- the process-wide calendar ---------------------------------------------------------------

_lock = threading.Lock()
_state: dict[str, object] = {"calendar": None, "stamp": None, "checked": 0.0}


def _db_stamp() -> tuple[object, ...]:
    from django.db.models import Count, Max

    from sunshine.calendar.models import CalendarDay, CalendarYear

    years = CalendarYear.objects.aggregate(n=Count("id"), at=Max("updated_at"))
    days = CalendarDay.objects.aggregate(n=Count("id"), top=Max("id"))
    return (years["n"], years["at"], days["n"], days["top"])


def load_exceptions() -> Exceptions:
    from sunshine.calendar.models import CalendarDay, CalendarYear, DayKind, YearStatus

    hol: set[date] = set()
    work: set[date] = set()
    for day, kind in CalendarDay.objects.values_list("date", "kind"):
        (hol if kind == DayKind.HOLIDAY else work).add(day)
    official = set(CalendarYear.objects.filter(status=YearStatus.OFFICIAL).values_list("year", flat=True))
    return Exceptions(frozenset(hol), frozenset(work), frozenset(official))


def build(exceptions: Exceptions, until_year: int | None = None) -> WorkCalendar:
    from django.utils import timezone

    last = max(
        [timezone.localdate().year + YEARS_AHEAD, until_year or 0, *exceptions.official_years],
    )
    return WorkCalendar(exceptions, FIRST_YEAR, last)


def current() -> WorkCalendar:
    """The calendar in force, reloaded when the table changed (here or in another process)."""
    now = time.monotonic()
    cal = _state["calendar"]
    if isinstance(cal, WorkCalendar) and now - float(_state["checked"]) < RECHECK_SECONDS:  # type: ignore[arg-type]
        return cal
    with _lock:
        stamp = _db_stamp()
        cal = _state["calendar"]
        if not isinstance(cal, WorkCalendar) or stamp != _state["stamp"]:
            cal = build(load_exceptions())
            _state["calendar"] = cal
            _state["stamp"] = stamp
        _state["checked"] = now
        return cal


def invalidate() -> None:
    """Forget the loaded calendar; the next ``current()`` re-reads the table."""
    with _lock:
        _state["calendar"] = None
        _state["stamp"] = None
        _state["checked"] = 0.0


def _widened(day: date) -> WorkCalendar:
    with _lock:
        cal = _state["calendar"]
        assert isinstance(cal, WorkCalendar)
        if day.year < cal.first_year:
            raise ValueError(f"dates before {cal.first_year} are not supported")
        cal = build(cal.exceptions, until_year=day.year + 1)
        _state["calendar"] = cal
        return cal


# Module-level helpers used by the domain: they read the calendar in force.


def working_days_in(a: date, b: date) -> int:
    try:
        return current().working_days_in(a, b)
    except OutOfRange as exc:
        return _widened(exc.args[0]).working_days_in(a, b)


def add_working_days(start: date, n: int) -> date:
    cal = current()
    while True:
        try:
            return cal.add_working_days(start, n)
        except OutOfRange as exc:
            cal = _widened(max(exc.args[0], start))


def is_working_day(day: date) -> bool:
    try:
        return current().is_working_day(day)
    except OutOfRange as exc:
        return _widened(exc.args[0]).is_working_day(day)


def touches_provisional(a: date, b: date) -> bool:
    return current().touches_provisional(a, b)


def provisional_years_ahead(today: date, years: Iterable[int] | None = None) -> list[int]:
    """Years from this one to next one that are not yet confirmed: what administrators must fix."""
    cal = current()
    wanted = years if years is not None else (today.year, today.year + 1)
    return [y for y in wanted if cal.is_provisional_year(y)]
