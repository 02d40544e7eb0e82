"""Seed the calendar table from the packages that know announced years."""

from __future__ import annotations

from typing import Any


def seed_from_chinesecalendar(year_model: Any, day_model: Any) -> int:
    """Write every year ``chinesecalendar`` covers as official; returns the number of years.

    Takes the model classes so that a data migration can pass its historical models. Years
    already in the table are left as they are (an administrator's edits win).
    """
    import chinese_calendar

    version = getattr(chinese_calendar, "__version__", "")
    source = f"chinesecalendar {version}: 国务院办公厅关于部分节假日安排的通知".strip()
    existing = set(year_model.objects.values_list("year", flat=True))
    years = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
    days = []
    for d, name in sorted(chinese_calendar.holidays.items()):
        if d.year not in existing:
            days.append(day_model(date=d, kind="holiday", name=str(name)[:100], source=source))
    for d, name in sorted(chinese_calendar.workdays.items()):
        if d.year not in existing:
            days.append(day_model(date=d, kind="workday", name=str(name)[:100], source=source))
    day_model.objects.bulk_create(days, batch_size=500)
    year_model.objects.bulk_create(
        [year_model(year=y, status="official", source=source) for y in years if y not in existing]
    )
    return len([y for y in years if y not in existing])
