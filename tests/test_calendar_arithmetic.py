"""Working-day arithmetic against a naive day-by-day oracle.

The oracle is ``chinese_calendar.is_workday`` for 2004–2026 (the State Council notices) and, for
2027 (not yet announced when these tests were written), the provisional rule: Monday to Friday
minus the statutory days of the ``holidays`` package, no 调休.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta

import chinese_calendar
import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sunshine.calendar import workdays
from sunshine.calendar.workdays import Exceptions, WorkCalendar

FIRST, LAST = date(2004, 1, 1), date(2026, 12, 31)
ORACLE_END = date(2027, 12, 31)
STATUTORY_2027 = set(holidays.China(years=[2027], observed=False))


def oracle_is_workday(day: date) -> bool:
    if day.year <= 2026:
        return chinese_calendar.is_workday(day)
    assert day.year == 2027
    return day.weekday() < 5 and day not in STATUTORY_2027


def _days(a: date, b: date) -> list[date]:
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


ALL_DAYS = _days(FIRST, ORACLE_END)
WORKING = [d for d in ALL_DAYS if oracle_is_workday(d)]  # sorted working days, 2004–2027


def naive_add(start: date, n: int) -> date:
    """Walk day by day: the n-th working day after ``start``."""
    day, left = start, n
    while left:
        day += timedelta(days=1)
        if oracle_is_workday(day):
            left -= 1
    return day


def naive_count(a: date, b: date) -> int:
    return sum(1 for d in _days(a + timedelta(days=1), b) if oracle_is_workday(d)) if b > a else 0


def package_calendar() -> WorkCalendar:
    """The pure calendar built straight from chinese_calendar's data (2004–2026 official)."""
    exc = Exceptions(
        holidays=frozenset(chinese_calendar.holidays),
        workdays=frozenset(chinese_calendar.workdays),
        official_years=frozenset(range(2004, 2027)),
    )
    return WorkCalendar(exc, 2004, 2028)


PURE = package_calendar()


@pytest.fixture(scope="module")
def seeded_calendar(django_db_setup, django_db_blocker) -> WorkCalendar:
    """The pure calendar built from the table as migrations alone left it."""
    with django_db_blocker.unblock():
        return WorkCalendar(workdays.load_exceptions(), 2004, 2028)


# --- the seeded table ---------------------------------------------------------------------------


def test_migrations_seed_every_year_the_package_covers(seeded_calendar):
    exc = seeded_calendar.exceptions
    assert exc.official_years == frozenset(range(2004, 2027))
    assert exc.holidays == frozenset(chinese_calendar.holidays)
    assert exc.workdays == frozenset(chinese_calendar.workdays)
    assert 2027 not in exc.official_years


def test_every_day_matches_the_oracle(seeded_calendar):
    mismatches = [d for d in ALL_DAYS if seeded_calendar.is_working_day(d) != oracle_is_workday(d)]
    assert mismatches == []


# --- exhaustive: every day of 2004–2026, every n in 0..60 ----------------------------------------


@pytest.mark.parametrize("which", ["seeded", "pure"])
def test_add_working_days_exhaustive(which, seeded_calendar):
    cal = seeded_calendar if which == "seeded" else PURE
    bad = []
    for day in _days(FIRST, LAST):
        first_after = bisect_right(WORKING, day)  # index of the first working day after ``day``
        if cal.add_working_days(day, 0) != day:
            bad.append((day, 0))
        for n in range(1, 61):
            if cal.add_working_days(day, n) != WORKING[first_after + n - 1]:
                bad.append((day, n))
    assert bad == []


def test_working_days_in_exhaustive_for_spans_up_to_90_days(seeded_calendar):
    cal = seeded_calendar
    bad = []
    for day in _days(FIRST, LAST):
        base = bisect_right(WORKING, day)
        for k in (0, 1, 2, 3, 6, 7, 13, 30, 45, 90):
            b = day + timedelta(days=k)
            if cal.working_days_in(day, b) != bisect_right(WORKING, b) - base:
                bad.append((day, b))
    assert bad == []


def test_module_functions_agree_with_the_oracle_with_no_query(db, django_assert_num_queries):
    """What the domain calls: the process-wide calendar loaded from the table."""
    workdays.current()  # load once
    with django_assert_num_queries(0):
        for day in _days(date(2025, 12, 1), LAST):
            first_after = bisect_right(WORKING, day)
            for n in (0, 1, 2, 5, 15, 30, 60):
                expected = day if n == 0 else WORKING[first_after + n - 1]
                assert workdays.add_working_days(day, n) == expected
                assert workdays.working_days_in(day, expected) == n
            assert workdays.is_working_day(day) == oracle_is_workday(day)


# --- properties (hypothesis) against the naive day-by-day walk ---------------------------------

days_2004_2026 = st.dates(min_value=FIRST, max_value=LAST)
days_2004_2027 = st.dates(min_value=FIRST, max_value=date(2027, 8, 31))


@settings(max_examples=400, deadline=None)
@given(start=days_2004_2026, n=st.integers(min_value=0, max_value=60))
def test_add_matches_naive_walk(start, n):
    assert PURE.add_working_days(start, n) == naive_add(start, n)


@settings(max_examples=400, deadline=None)
@given(a=days_2004_2027, span=st.integers(min_value=-40, max_value=120))
def test_count_matches_naive_walk(a, span):
    b = a + timedelta(days=span)
    assert PURE.working_days_in(a, b) == naive_count(a, b)


@settings(max_examples=400, deadline=None)
@given(a=days_2004_2027, b=days_2004_2027)
def test_count_over_random_pairs(a, b):
    expected = max(0, bisect_right(WORKING, b) - bisect_right(WORKING, a)) if b > a else 0
    assert PURE.working_days_in(a, b) == expected


@settings(max_examples=300, deadline=None)
@given(start=days_2004_2026, n=st.integers(min_value=1, max_value=60))
def test_deadline_is_the_end_of_the_nth_working_day(start, n):
    """D = add(S, n): (S, D] holds n working days, D is one of them, and (S, D-1] holds n-1."""
    d = PURE.add_working_days(start, n)
    assert PURE.working_days_in(start, d) == n
    assert PURE.is_working_day(d)
    assert PURE.working_days_in(start, d - timedelta(days=1)) == n - 1


@settings(max_examples=200, deadline=None)
@given(a=days_2004_2027, b=days_2004_2027, c=days_2004_2027)
def test_counts_add_up(a, b, c):
    a, b, c = sorted((a, b, c))
    assert PURE.working_days_in(a, c) == PURE.working_days_in(a, b) + PURE.working_days_in(b, c)


def test_empty_and_reversed_intervals():
    d = date(2026, 5, 6)
    assert PURE.working_days_in(d, d) == 0
    assert PURE.working_days_in(d, d - timedelta(days=10)) == 0
    assert PURE.add_working_days(d, 0) == d
    with pytest.raises(ValueError):
        PURE.add_working_days(d, -1)


# --- fixed cases, 2026 (State Council notice) ----------------------------------------------------

W = workdays


def _d(s: str) -> date:
    return date.fromisoformat(s)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("day", "working"),
    [
        # Spring Festival: Sat Feb 14 works, Feb 15–23 off, Sat Feb 28 works
        ("2026-02-13", True),
        ("2026-02-14", True),
        ("2026-02-15", False),
        ("2026-02-16", False),
        ("2026-02-20", False),
        ("2026-02-23", False),
        ("2026-02-24", True),
        ("2026-02-28", True),
        ("2026-03-01", False),
        # Labour Day: May 1–5 off, Sat May 9 works
        ("2026-04-30", True),
        ("2026-05-01", False),
        ("2026-05-04", False),
        ("2026-05-05", False),
        ("2026-05-06", True),
        ("2026-05-09", True),
        ("2026-05-10", False),
        # Mid-Autumn + National Day: Sun Sep 20 works, Sep 25–27 off, Oct 1–7 off, Sat Oct 10 works
        ("2026-09-19", False),
        ("2026-09-20", True),
        ("2026-09-25", False),
        ("2026-09-26", False),
        ("2026-09-27", False),
        ("2026-09-28", True),
        ("2026-09-30", True),
        ("2026-10-01", False),
        ("2026-10-07", False),
        ("2026-10-08", True),
        ("2026-10-10", True),
        ("2026-10-11", False),
        # New Year: Jan 1–3 off, Sun Jan 4 works
        ("2026-01-01", False),
        ("2026-01-03", False),
        ("2026-01-04", True),
    ],
)
def test_2026_days(day, working):
    assert W.is_working_day(_d(day)) is working


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "n", "deadline"),
    [
        # Spring Festival
        ("2026-02-12", 1, "2026-02-13"),
        ("2026-02-12", 2, "2026-02-14"),  # the working Saturday counts
        ("2026-02-13", 2, "2026-02-24"),  # Feb 14, then nothing until Feb 24
        ("2026-02-14", 1, "2026-02-24"),
        ("2026-02-15", 1, "2026-02-24"),
        ("2026-02-23", 5, "2026-02-28"),  # Feb 24–27 and the working Saturday
        ("2026-02-10", 15, "2026-03-09"),  # 11–14, 24–28, Mar 2–6, Mar 9
        # Labour Day
        ("2026-04-29", 2, "2026-05-06"),
        ("2026-04-30", 1, "2026-05-06"),
        ("2026-05-06", 3, "2026-05-09"),  # May 7, 8 and the working Saturday
        ("2026-05-08", 1, "2026-05-09"),
        ("2026-04-28", 10, "2026-05-14"),
        # National Day (and Mid-Autumn)
        ("2026-09-18", 1, "2026-09-20"),  # the working Sunday
        ("2026-09-24", 1, "2026-09-28"),
        ("2026-09-29", 2, "2026-10-08"),
        ("2026-09-30", 1, "2026-10-08"),
        ("2026-10-08", 2, "2026-10-10"),  # Oct 9 and the working Saturday
        ("2026-09-17", 15, "2026-10-14"),  # 18, 20, 21–24, 28–30, Oct 8–10, 12–14
        ("2026-09-17", 0, "2026-09-17"),
    ],
)
def test_2026_deadlines(start, n, deadline):
    assert W.add_working_days(_d(start), n) == _d(deadline)
    assert W.working_days_in(_d(start), _d(deadline)) == n


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("a", "b", "count"),
    [
        ("2026-02-13", "2026-02-28", 6),  # 14, 24, 25, 26, 27, 28
        ("2026-02-14", "2026-02-23", 0),
        ("2026-04-30", "2026-05-10", 4),  # 6, 7, 8, 9
        ("2026-09-19", "2026-10-11", 11),  # Sep 20, 21–24, 28–30, Oct 8, 9, 10
        ("2026-09-30", "2026-10-07", 0),
        ("2026-10-10", "2026-10-10", 0),
        ("2026-10-10", "2026-10-01", 0),
    ],
)
def test_2026_counts(a, b, count):
    assert W.working_days_in(_d(a), _d(b)) == count
