"""System check: warn administrators while this year or next is not confirmed against the notice.

Registered without the ``database`` tag so that plain ``manage.py check`` (and ``runserver``)
shows it; it tolerates a database that is missing or not migrated yet.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning
from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext as _


def provisional_years() -> list[int]:
    """This year and next, those not yet confirmed; [] when the table cannot be read."""
    from sunshine.calendar import workdays

    try:
        return workdays.provisional_years_ahead(timezone.localdate())
    except DatabaseError:
        workdays.invalidate()
        return []


def provisional_message(year: int) -> str:
    return _(
        "The %(year)s holiday arrangements have not been confirmed against the State Council notice; "
        "deadlines that reach into %(year)s are provisional."
    ) % {"year": year}


def check_provisional_years(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return [
        Warning(
            provisional_message(year),
            hint=_(
                "Import the %(year)s notice in the admin (calendar years → import a notice) or with "
                "manage.py import_calendar."
            )
            % {"year": year},
            id="sunshine.W001",
        )
        for year in provisional_years()
    ]
