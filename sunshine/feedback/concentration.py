"""Contractor concentration monitor (三不指定): covert steering leaves a fingerprint.

For each kind of work (design, construction, supply) and period, we count the units customers
chose (``sunshine.directory.models.ContractorChoice``, dated by ``recorded_at``) per customer
manager who held the case when the choice was recorded (``ContractorChoice.manager``, like
``StageInstance.manager``: a reassignment afterwards does not move it; a row without one counts
for the application's manager), and, for the overview, per service area.

**The rule.** A unit U is flagged for a manager M in a period and kind when all three hold:

1. M's applications with a recorded choice of that kind number at least
   ``SUNSHINE_CONCENTRATION_MIN_PROJECTS`` (default 5) — too few projects prove nothing;
2. U's share among them is at least ``SUNSHINE_CONCENTRATION_MIN_SHARE_PERCENT`` (default 50 %);
3. that share is at least ``SUNSHINE_CONCENTRATION_RATIO`` (default 2) times U's overall market
   share (all managers, same period and kind) — a unit most customers choose anyway is not
   suspicious just because it is popular.

All comparisons are exact integer arithmetic (no rounding at the thresholds). Each flag opens
one supervision case (source ``concentration``, kind ``steering``) per manager + unit + period;
running the monitor again for the same period opens nothing new.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from sunshine.accounts.models import User
from sunshine.feedback.models import CaseKind, CaseSource, SupervisionCase


@dataclass(frozen=True)
class Share:
    group_id: int  # manager (or service area) id
    kind: str
    contractor_id: int
    count: int  # this group's projects with this unit
    group_total: int  # this group's projects of this kind
    overall_count: int  # all projects with this unit
    overall_total: int  # all projects of this kind
    flagged: bool

    @property
    def share_percent(self) -> float:
        return 100.0 * self.count / self.group_total

    @property
    def overall_percent(self) -> float:
        return 100.0 * self.overall_count / self.overall_total


def is_concentrated(count: int, group_total: int, overall_count: int, overall_total: int) -> bool:
    """The rule above, on counts: count/group_total ≥ MIN_SHARE % and ≥ RATIO × overall share."""
    if group_total < settings.SUNSHINE_CONCENTRATION_MIN_PROJECTS or overall_total == 0:
        return False
    if count * 100 < settings.SUNSHINE_CONCENTRATION_MIN_SHARE_PERCENT * group_total:
        return False
    # count/group_total >= RATIO * overall_count/overall_total, multiplied out
    return count * overall_total >= settings.SUNSHINE_CONCENTRATION_RATIO * overall_count * group_total


def _window(from_date: date, to_date: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (
        datetime.combine(from_date, time.min, tzinfo=tz),
        datetime.combine(to_date + timedelta(days=1), time.min, tzinfo=tz),
    )


def shares(from_date: date, to_date: date, *, by: str = "manager", kind: str | None = None) -> list[Share]:
    """Every (group, kind, unit) with its share and the rule's verdict; one query.

    ``by``: ``"manager"`` (the manager who held the case when the choice was recorded) or
    ``"area"`` (the application's service area). Sorted by kind, group, then descending count.
    """
    from sunshine.directory.models import ContractorChoice  # type: ignore[attr-defined,unused-ignore]

    group = {
        "manager": Coalesce("manager", "application__customer_manager"),
        "area": F("application__area"),
    }[by]
    start, end = _window(from_date, to_date)
    qs = (
        ContractorChoice.objects.filter(recorded_at__gte=start, recorded_at__lt=end)
        .annotate(group=group)
        .filter(group__isnull=False)
    )
    if kind:
        qs = qs.filter(kind=kind)
    rows = list(qs.values_list("group", "kind", "contractor").annotate(n=Count("id")).order_by())
    group_total: dict[tuple[int, str], int] = defaultdict(int)
    unit_total: dict[tuple[str, int], int] = defaultdict(int)
    kind_total: dict[str, int] = defaultdict(int)
    for group, k, unit, n in rows:
        group_total[(group, k)] += n
        unit_total[(k, unit)] += n
        kind_total[k] += n
    out = [
        Share(
            group_id=group,
            kind=k,
            contractor_id=unit,
            count=n,
            group_total=group_total[(group, k)],
            overall_count=unit_total[(k, unit)],
            overall_total=kind_total[k],
            flagged=is_concentrated(n, group_total[(group, k)], unit_total[(k, unit)], kind_total[k]),
        )
        for group, k, unit, n in rows
    ]
    out.sort(key=lambda s: (s.kind, s.group_id, -s.count, s.contractor_id))
    return out


def run_monitor(from_date: date, to_date: date, period: str) -> list[SupervisionCase]:
    """Open a case for every flagged manager + unit of ``period`` (idempotent); return the cases
    of this period's flags (new and earlier ones)."""
    from sunshine.directory.models import Contractor  # type: ignore[attr-defined,unused-ignore]
    from sunshine.feedback.services import open_case, record_language

    flagged = [s for s in shares(from_date, to_date, by="manager") if s.flagged]
    if not flagged:
        return []
    managers = User.objects.in_bulk([s.group_id for s in flagged])
    units = Contractor.objects.in_bulk([s.contractor_id for s in flagged])
    cases = []
    with record_language():
        for s in flagged:
            manager, unit = managers[s.group_id], units[s.contractor_id]
            context: dict[str, Any] = {
                "manager": manager.display_name,
                "unit": unit.name,
                "period": period,
                "count": s.count,
                "total": s.group_total,
                "share": f"{s.share_percent:.0f}",
                "overall": f"{s.overall_percent:.0f}",
            }
            cases.append(
                open_case(
                    source=CaseSource.CONCENTRATION,
                    kind=CaseKind.STEERING,
                    subject=_("%(period)s: %(unit)s has %(share)s%% of %(manager)s's projects") % context,
                    details=_(
                        "%(count)s of %(total)s projects of %(manager)s in %(period)s chose %(unit)s "
                        "(%(share)s%%), against %(overall)s%% of all projects of the same kind."
                    )
                    % context,
                    manager=manager,
                    dedupe_key=f"concentration:{period}:{manager.pk}:{unit.pk}",
                )
            )
    return cases


def previous_month(today: date) -> tuple[date, date, str]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last, f"{last:%Y-%m}"
