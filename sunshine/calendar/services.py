"""Editing the working-day calendar: import a year's State Council notice, then re-project.

``import_year`` replaces one year's exceptions in one transaction and makes the in-process
calendar re-read the table. ``apply_notice`` is what administrators' tools (the admin pages and
``manage.py import_calendar``) call: import, re-project the deadlines of open stages, and record
the change with its reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from sunshine.calendar import workdays
from sunshine.calendar.models import CalendarChange, CalendarDay, CalendarYear, DayKind, YearStatus

# (date, kind, name); kind is "holiday" or "workday".
NoticeDay = tuple[date, str, str]

KIND_ALIASES = {
    "holiday": DayKind.HOLIDAY.value,
    "休": DayKind.HOLIDAY.value,
    "workday": DayKind.WORKDAY.value,
    "班": DayKind.WORKDAY.value,
}
NAME_MAX = CalendarDay._meta.get_field("name").max_length or 100
SOURCE_MAX = CalendarYear._meta.get_field("source").max_length or 300
REASON_MAX = CalendarChange._meta.get_field("reason").max_length or 500


def _kind(value: str) -> str | None:
    return KIND_ALIASES.get(value.strip().lower()) if value else None


def validate_days(year: int, days: Iterable[NoticeDay], status: str = YearStatus.OFFICIAL) -> list[NoticeDay]:
    """Check one year's exceptions; returns them normalised and sorted, or raises
    ``ValidationError`` listing every problem."""
    errors: list[str] = []
    if status not in YearStatus.values:
        errors.append(_("Unknown year status %(status)s.") % {"status": status})
    if not (workdays.FIRST_YEAR <= year <= 9999):
        errors.append(_("The year must be %(first)s or later.") % {"first": workdays.FIRST_YEAR})
    seen: set[date] = set()
    out: list[NoticeDay] = []
    for day, kind_value, name in days:
        if isinstance(day, datetime) or not isinstance(day, date):
            errors.append(_("%(value)s is not a date.") % {"value": day})
            continue
        kind = _kind(str(kind_value))
        if kind is None:
            errors.append(
                _("%(date)s: unknown kind %(kind)s (use holiday/休 or workday/班).")
                % {"date": day.isoformat(), "kind": kind_value}
            )
            continue
        if day.year != year:
            errors.append(_("%(date)s is not in %(year)s.") % {"date": day.isoformat(), "year": year})
        if day in seen:
            errors.append(_("%(date)s appears more than once.") % {"date": day.isoformat()})
        seen.add(day)
        if kind == DayKind.WORKDAY and day.weekday() < 5:
            errors.append(
                _("%(date)s is a weekday; only a Saturday or Sunday can be an adjusted working day.")
                % {"date": day.isoformat()}
            )
        name = (name or "").strip()
        if len(name) > NAME_MAX:
            errors.append(_("%(date)s: the name is too long.") % {"date": day.isoformat()})
        out.append((day, kind, name))
    if status == YearStatus.OFFICIAL and not any(k == DayKind.HOLIDAY for _d, k, _n in out) and not errors:
        errors.append(_("An official year needs at least one holiday; is this the right notice?"))
    if errors:
        raise ValidationError(errors)
    return sorted(out)


def import_year(
    year: int,
    days: Sequence[NoticeDay],
    source: str,
    actor: Any,
    status: str = YearStatus.OFFICIAL,
) -> CalendarYear:
    """Replace ``year``'s exceptions by ``days`` and record the year's status, in one transaction.

    Does not re-project deadlines: use ``apply_notice`` for that.
    """
    source = (source or "").strip()
    if not source:
        raise ValidationError(_("Give the source (the notice's title and number)."))
    if len(source) > SOURCE_MAX:
        raise ValidationError(_("The source is too long."))
    clean = validate_days(year, days, status)
    user = actor if getattr(actor, "pk", None) else None
    with transaction.atomic():
        CalendarDay.objects.filter(date__gte=date(year, 1, 1), date__lte=date(year, 12, 31)).delete()
        CalendarDay.objects.bulk_create(CalendarDay(date=d, kind=k, name=n, source=source) for d, k, n in clean)
        cal_year, _created = CalendarYear.objects.update_or_create(
            year=year,
            defaults={
                "status": status,
                "source": source,
                "confirmed_by": user if status == YearStatus.OFFICIAL else None,
            },
        )
        # Other transactions (and this process, should this one roll back) see the change on commit.
        transaction.on_commit(workdays.invalidate)
    workdays.invalidate()
    return cal_year


def _read_date(value: str) -> date:
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 (a calendar date, no time)
        except ValueError:
            continue
    raise ValueError(value)


def parse_notice_csv(text: str) -> list[NoticeDay]:
    """Read ``date,kind,name`` rows (kind: holiday/休 or workday/班; date YYYY-MM-DD).

    Raises ``ValidationError`` naming every bad line.
    """
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    rows = [(i, row) for i, row in enumerate(reader, start=1) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValidationError(_("The file is empty."))
    header = [cell.strip().lower() for cell in rows[0][1]]
    if header[:2] != ["date", "kind"] or (len(header) > 2 and header[2] != "name"):
        raise ValidationError(_("The first line must be the header: date,kind,name"))
    errors: list[str] = []
    out: list[NoticeDay] = []
    for line, row in rows[1:]:
        cells = [*row, "", ""]
        try:
            day = _read_date(cells[0])
        except ValueError:
            errors.append(_("Line %(line)s: %(value)s is not a date (YYYY-MM-DD).") % {"line": line, "value": cells[0]})
            continue
        kind = _kind(cells[1])
        if kind is None:
            errors.append(
                _("Line %(line)s: unknown kind %(kind)s (use holiday/休 or workday/班).")
                % {"line": line, "kind": cells[1]}
            )
            continue
        out.append((day, kind, cells[2].strip()))
    if errors:
        raise ValidationError(errors)
    return out


def decode_upload(data: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without BOM), or GB18030 as saved by Chinese Excel."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise ValidationError(_("The file is neither UTF-8 nor GB18030 text.")) from exc


@dataclass(frozen=True)
class NoticeApplied:
    year: CalendarYear
    days: int
    stages_moved: int
    change: CalendarChange


# Called after every calendar edit, named in ``settings.SUNSHINE_CALENDAR_REPROJECTIONS``: each
# recomputes the deadlines it keeps and returns how many moved. The calendar sits below the apps
# that count working days, so it names none of them (the case engine's is
# ``sunshine.applications.services.reproject_deadlines``).
Reprojection = Callable[[str, Any], int]


@cache
def reprojections() -> tuple[Reprojection, ...]:
    return tuple(import_string(path) for path in getattr(settings, "SUNSHINE_CALENDAR_REPROJECTIONS", []))


def reproject(reason: str, actor: Any, years: Iterable[int], summary: str = "") -> CalendarChange:
    """Re-project open deadlines after a calendar edit (every function of
    ``settings.SUNSHINE_CALENDAR_REPROJECTIONS``) and record the edit."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for the change."))
    user = actor if getattr(actor, "pk", None) else None
    workdays.invalidate()
    moved = sum(fn(reason[:REASON_MAX], user) for fn in reprojections())
    change = None
    for y in sorted(set(years)):
        change = CalendarChange.objects.create(
            year=y, actor=user, reason=reason[:REASON_MAX], summary=summary[:300], stages_moved=moved
        )
    assert change is not None, "reproject() needs at least one year"
    return change


def apply_notice(
    year: int,
    days: Sequence[NoticeDay],
    *,
    source: str,
    reason: str,
    actor: Any,
    status: str = YearStatus.OFFICIAL,
) -> NoticeApplied:
    """Import ``year`` and re-project the deadlines of every stage not yet completed.

    The import commits on its own; re-projection then runs in batches (it may touch millions of
    stages), each logging ``calendar_reprojected`` with ``reason`` on the applications whose
    deadline moved. Running it again with the same notice is harmless.
    """
    if not (reason or "").strip():
        raise ValidationError(_("Give the reason for the change."))
    cal_year = import_year(year, days, source, actor, status=status)
    summary = _("%(year)s set %(status)s with %(count)s days from %(source)s") % {
        "year": year,
        "status": status,
        "count": len(days),
        "source": source,
    }
    change = reproject(reason, actor, [year], summary=summary)
    return NoticeApplied(cal_year, len(days), change.stages_moved, change)
