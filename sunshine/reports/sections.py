"""The numbers of a report, section by section, computed with aggregate queries.

Every figure is "as of the end of the period" (the end of its last day, Asia/Shanghai), so a
report regenerated later for the same period gives the same numbers unless the history itself
changed. Utility time only: customer-owned stages are not counted, pauses are subtracted, and a
cancelled application (whose stage stays ``in_progress``) stops counting when it was cancelled.

Working days inside SQL: the query joins a small table of working-day ordinals (``wd(d, n)``:
n = working days from an anchor up to d) built from the calendar in force, so
``working days in (a, b] = n(b) - n(a)`` is computed by the database for every stage at once.
Medians and 90th percentiles are ``percentile_cont`` in PostgreSQL and, on SQLite, the same
linear interpolation over the histogram of integer working-day durations (exact and cheap: the
histogram has one row per distinct duration, not per stage).

A section is a plain dict (see ``section``) with Chinese headers: the report is a Chinese document,
and the snapshot must read the same whoever reopens it. A section whose source has no data says
so (``empty``) rather than showing zeros.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, connections, router
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from sunshine.accounts import units
from sunshine.applications.clock import stage_clock
from sunshine.applications.models import Application, Pause, StageInstance, StageStatus
from sunshine.calendar import workdays
from sunshine.evaluation.models import EvaluationSnapshot
from sunshine.evaluation.selectors import snapshot_results
from sunshine.feedback.models import SupervisionCase
from sunshine.feedback.selectors import satisfaction
from sunshine.processes.models import Owner
from sunshine.supervision.models import LeaderSupervision

log = logging.getLogger(__name__)

NO_DATA = "本期暂无数据"

CATEGORY_ZH = {
    "lv_residential": "低压居民",
    "lv_non_residential": "低压非居民",
    "hv_single": "高压单电源",
    "hv_dual": "高压双电源",
}
CATEGORY_ORDER = list(CATEGORY_ZH)
PAUSE_REASON_ZH = {
    "missing_documents": "资料不全",
    "customer_request": "客户要求暂缓",
    "government_approval": "等待政府审批",
    "force_majeure": "不可抗力",
}
SOURCE_ZH = {
    "followup": "回访",
    "complaint": "投诉",
    "pause_contest": "暂停申诉",
    "concentration": "集中度预警",
    "staff": "内部发现",
    "choice": "客户反映单位系工作人员推荐",
}

# Section keys in report order; personal sections name managers or customers and are never
# published as open data.
PERSONAL = {"overdue", "key_projects", "ranking"}
CASE_COLUMNS = [("来源", "text"), ("本期新立", "int"), ("本期办结", "int"), ("期末未结", "int")]

T = TypeVar("T")


def local_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in the site's time zone."""
    tz = ZoneInfo(settings.TIME_ZONE)
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The half-month before a half-month; for any other range, the same number of days before."""
    if start.day == 1 and end.day == 15 and end.month == start.month:
        prev_end = start - timedelta(days=1)
        return prev_end.replace(day=16), prev_end
    if start.day == 16 and (end + timedelta(days=1)).day == 1 and end.month == start.month:
        return start.replace(day=1), start.replace(day=15)
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def section(
    key: str,
    title: str,
    columns: list[tuple[str, str]],
    rows: list[list[Any]],
    *,
    chart: dict[str, Any] | None = None,
    note: str = "",
    empty: bool | None = None,
) -> dict[str, Any]:
    """``columns``: (Chinese header, format) with format one of text, int, num, delta, pct, date."""
    is_empty = (not rows) if empty is None else empty
    return {
        "key": key,
        "title": title,
        "personal": key in PERSONAL,
        "columns": [{"label": label, "fmt": fmt} for label, fmt in columns],
        "rows": [] if is_empty else rows,
        "empty": is_empty,
        "note": NO_DATA if is_empty else note,
        "chart": None if is_empty else chart,
    }


# --- filters ------------------------------------------------------------------------------------


def app_filter(filters: dict[str, Any], prefix: str = "") -> Q:
    """The ad-hoc filters as a Q on Application (``prefix`` e.g. "application__"); ``unit``: a
    unit's code, the unit and every unit below it."""
    q = Q()
    if filters.get("unit"):
        tree = units.tree()
        node = tree.by_code(str(filters["unit"]))
        q &= Q(**{prefix + "unit__in": tree.below(node.id) if node is not None else []})
    if filters.get("category"):
        q &= Q(**{prefix + "category": filters["category"]})
    if filters.get("area"):
        q &= Q(**{prefix + "area__code": filters["area"]})
    if filters.get("manager"):
        q &= Q(**{prefix + "customer_manager__username": filters["manager"]})
    if filters.get("key_project") is not None and filters.get("key_project") != "":
        q &= Q(**{prefix + "key_project": bool(filters["key_project"])})
    return q


def holder_filter(filters: dict[str, Any], holder: str, prefix: str = "application__") -> Q:
    """The ad-hoc filters as a Q on rows attributed to a manager by who held the work: the
    manager filter matches ``holder`` (a stage's ``manager``, a case's ``manager``), or the
    application's manager where the row has none; the other filters as ``app_filter``."""
    q = app_filter({k: v for k, v in filters.items() if k != "manager"}, prefix)
    if filters.get("manager"):
        m = filters["manager"]
        q &= Q(**{holder + "__username": m}) | Q(
            **{holder + "__isnull": True, prefix + "customer_manager__username": m}
        )
    return q


def not_cancelled_by(end_dt: datetime, prefix: str = "") -> Q:
    return Q(**{prefix + "cancelled_at__isnull": True}) | Q(**{prefix + "cancelled_at__gte": end_dt})


# --- working-day ordinals inside SQL -------------------------------------------------------------


def _ordinal_cte(first: date, last: date) -> tuple[str, list[Any]]:
    """``WITH wd(d, n) AS (VALUES …)`` for every day in [first, last] (``first <= last``: a VALUES
    list cannot be empty)."""
    if first > last:
        raise ValueError(f"no days from {first} to {last}")
    anchor = first - timedelta(days=1)
    pg = connection.vendor == "postgresql"
    params: list[Any] = []
    values = []
    day = first
    cal_days = (last - first).days + 1
    for _i in range(cal_days):
        values.append("(%s, %s)")
        params += [day if pg else day.isoformat(), workdays.working_days_in(anchor, day)]
        day += timedelta(days=1)
    if pg:
        values[0] = "(%s::date, %s::integer)"
    return "WITH wd(d, n) AS (VALUES " + ", ".join(values) + ") ", params


# A stage's working days used, in SQL over the ordinals' CTE: its end's ordinal (we) minus its
# start's (ws) minus the working days it was paused, never below zero.
_USED_DAYS = "CASE WHEN we.n - ws.n - t.paused > 0 THEN we.n - ws.n - t.paused ELSE 0 END"


def _sql(qs: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = qs.query.sql_with_params()
    return sql, tuple(params)


def _fetch(sql: str, params: Iterable[Any]) -> list[tuple[Any, ...]]:
    # Raw SQL over the application tables: the database the router reads them from (the replica
    # during report generation when one is configured, see sunshine/dbrouters.py).
    with connections[router.db_for_read(StageInstance)].cursor() as cur:
        cur.execute(sql, list(params))
        return list(cur.fetchall())


def _first_relevant(apps: QuerySet[Application], since: datetime) -> datetime | None:
    """The earliest acceptance among ``apps`` not completed nor cancelled before ``since``, in one
    statement whose three parts are each bounded by an index, not by the history (PostgreSQL):
    the oldest open application (``app_open_accepted_at``), those completed since
    (``app_completed_at``) and those cancelled since (``app_cancelled_at``). A plain MIN over the
    whole condition walks ``app_accepted_at`` from the oldest application until one qualifies:
    most of the history once the old ones are all finished (docs/deploy.md)."""
    open_ = apps.filter(completed_at__isnull=True, cancelled_at__isnull=True)
    completed = apps.filter(completed_at__gte=since).filter(Q(cancelled_at__isnull=True) | Q(cancelled_at__gte=since))
    cancelled = apps.filter(completed_at__isnull=True, cancelled_at__gte=since)
    parts: list[str] = []
    params: list[Any] = []
    for qs, fenced in ((open_, False), (completed, True), (cancelled, True)):
        sql, p = _sql(qs.order_by().values("accepted_at"))
        # OFFSET 0 keeps the planner from turning MIN into a walk of app_accepted_at
        fence = " OFFSET 0" if fenced else ""
        parts.append(f"(SELECT MIN(t.accepted_at) FROM ({sql}{fence}) t)")  # noqa: S608 (the ORM's own SQL)
        params.extend(p)
    rows = _fetch(f"SELECT LEAST({', '.join(parts)})", params)
    return rows[0][0] if rows else None


def _pct_from_histogram(hist: list[tuple[int, int]], p: float) -> float | None:
    """percentile_cont(p) over the values of a histogram [(value, count), …] sorted by value."""
    total = sum(c for _v, c in hist)
    if total == 0:
        return None
    rank = p * (total - 1)
    lo_i, frac = int(rank), rank - int(rank)

    def nth(i: int) -> int:
        seen = 0
        for v, c in hist:
            seen += c
            if i < seen:
                return v
        return hist[-1][0]

    lo = nth(lo_i)
    hi = nth(lo_i + 1) if frac else lo
    return lo + (hi - lo) * frac


def _r1(x: float | None) -> float | None:
    return None if x is None else round(float(x), 1)


def _rate(part: int, whole: int) -> float | None:
    return None if not whole else round(100.0 * part / whole, 1)


# --- the report --------------------------------------------------------------------------------


class Computer:
    """Computes the sections of one report for [start, end] with ``filters``."""

    def __init__(self, start: date, end: date, filters: dict[str, Any] | None = None) -> None:
        self.start, self.end = start, end
        self.filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
        self.start_dt, self.end_dt = local_bounds(start, end)
        self.prev_start, self.prev_end = previous_period(start, end)
        self.apps = Application.objects.filter(app_filter(self.filters))
        # Stages count for the manager who held them (StageInstance.manager, docs/evaluation.md);
        # whole applications (completed, key projects) for their manager.
        self.stage_q = holder_filter(self.filters, "manager")
        self.app_stage_q = app_filter(self.filters, "application__")
        self._names: dict[tuple[str, str], tuple[int, str]] | None = None

    def ordinals(self) -> tuple[str, list[Any]] | None:
        """The working-day ordinals from the first day any stage counted here can have started (the
        earliest acceptance among applications accepted by the period's end and not finished before
        the previous period: one query on applications, none on stages) to the period's end; None
        when there is no such application (an empty period, or a past period whose only open
        applications were accepted after it)."""
        if not hasattr(self, "_ordinals"):
            since, _e = local_bounds(self.prev_start, self.prev_end)
            # every manager's applications: a stage held by the filtered manager may belong to
            # an application reassigned to someone else since
            others = Application.objects.filter(app_filter({k: v for k, v in self.filters.items() if k != "manager"}))
            others = others.filter(accepted_at__lt=self.end_dt)
            if connections[others.db].vendor == "postgresql":
                first = _first_relevant(others, since)
            else:
                first = (
                    others.filter(Q(completed_at__isnull=True) | Q(completed_at__gte=since))
                    .filter(Q(cancelled_at__isnull=True) | Q(cancelled_at__gte=since))
                    .aggregate(m=Min("accepted_at"))["m"]
                )
            self._ordinals = None if first is None else _ordinal_cte(timezone.localdate(first), self.end)
        return self._ordinals

    # node names from the process templates: (category, code) -> (position, Chinese name)
    def names(self) -> dict[tuple[str, str], tuple[int, str]]:
        if self._names is None:
            from sunshine.processes.models import StageTemplate

            out: dict[tuple[str, str], tuple[int, str]] = {}
            for cat, code, pos, name in StageTemplate.objects.values_list(
                "process__category", "code", "position", "name_zh"
            ).order_by("process__category", "code", "-process__effective_from", "-process__version"):
                out.setdefault((cat, code), (pos, name))
            self._names = out
        return self._names

    def node_key(self, cat: str, code: str) -> tuple[int, int]:
        return (
            CATEGORY_ORDER.index(cat) if cat in CATEGORY_ORDER else 99,
            self.names().get((cat, code), (99, code))[0],
        )

    def node_name(self, cat: str, code: str) -> str:
        return self.names().get((cat, code), (0, code))[1]

    # -- counts per category -----------------------------------------------------------------
    def _category_counts(self, start_dt: datetime, end_dt: datetime) -> dict[str, dict[str, Any]]:
        rows = (
            self.apps.filter(accepted_at__lt=end_dt)
            # applications finished before the period count for nothing: skip them early
            .filter(Q(completed_at__isnull=True) | Q(completed_at__gte=start_dt))
            .filter(Q(cancelled_at__isnull=True) | Q(cancelled_at__gte=start_dt))
            .values("category")
            .annotate(
                accepted=Count("id", filter=Q(accepted_at__gte=start_dt)),
                completed=Count("id", filter=Q(completed_at__gte=start_dt, completed_at__lt=end_dt)),
                cancelled=Count("id", filter=Q(cancelled_at__gte=start_dt, cancelled_at__lt=end_dt)),
                open=Count(
                    "id",
                    filter=(Q(completed_at__isnull=True) | Q(completed_at__gte=end_dt)) & not_cancelled_by(end_dt),
                ),
            )
        )
        return {r["category"]: dict(r) for r in rows}

    # -- per node: stages in progress at the end, started and completed in the period ----------
    def node_counts(self) -> list[dict[str, Any]]:
        s, e = self.start, self.end
        open_at_end = (
            Q(started_on__lte=e)
            & (Q(completed_on__isnull=True) | Q(completed_on__gt=e))
            & not_cancelled_by(self.end_dt, "application__")
            & ~Q(status=StageStatus.PENDING)
        )
        return [
            dict(r)
            for r in StageInstance.objects.filter(self.stage_q, started_on__isnull=False, started_on__lte=e)
            .filter(Q(completed_on__isnull=True) | Q(completed_on__gte=s))
            .values(cat=F("application__category"), node=F("code"))
            .annotate(
                started=Count("id", filter=Q(started_on__gte=s)),
                completed=Count("id", filter=Q(status=StageStatus.COMPLETED, completed_on__gte=s, completed_on__lte=e)),
                open=Count("id", filter=open_at_end),
                owner=Max("owner"),
            )
            .order_by()
        ]

    # -- time per node ------------------------------------------------------------------------
    def _completed_utility_stages(self, s: date, e: date) -> QuerySet[StageInstance]:
        return StageInstance.objects.filter(
            self.stage_q,
            owner=Owner.UTILITY,
            status=StageStatus.COMPLETED,
            completed_on__gte=s,
            completed_on__lte=e,
            started_on__isnull=False,
        )

    def node_durations(self) -> list[dict[str, Any]]:
        """Per (category, node): count, average, median, p90 working days and the limit."""
        qs = self._completed_utility_stages(self.start, self.end)
        ords = self.ordinals()
        if ords is None:
            return []
        cte, cte_params = ords
        inner, inner_params = _sql(
            qs.values(
                cat=F("application__category"),
                node=F("code"),
                s_on=F("started_on"),
                c_on=F("completed_on"),
                paused=F("paused_working_days"),
                lim=F("time_limit_days"),
            )
        )
        used = _USED_DAYS
        # Only our own SQL fragments and compiled querysets are interpolated; values are parameters.
        base = (
            f"{cte} SELECT t.cat, t.node, {used} AS used, t.lim FROM ({inner}) t "  # noqa: S608
            "JOIN wd ws ON ws.d = t.s_on JOIN wd we ON we.d = t.c_on"
        )
        params = [*cte_params, *inner_params]
        out = []
        if connection.vendor == "postgresql":
            for cat, node, n, avg, med, p90, lim in _fetch(
                f"SELECT cat, node, COUNT(*), AVG(used), percentile_cont(0.5) WITHIN GROUP (ORDER BY used), "  # noqa: S608
                f"percentile_cont(0.9) WITHIN GROUP (ORDER BY used), MAX(lim) FROM ({base}) x GROUP BY cat, node",
                params,
            ):
                out.append({"cat": cat, "node": node, "n": n, "avg": avg, "median": med, "p90": p90, "limit": lim})
            return out
        hist: dict[tuple[str, str], list[tuple[int, int]]] = {}
        limits: dict[tuple[str, str], int] = {}
        for cat, node, used_days, count, lim in _fetch(
            f"SELECT cat, node, used, COUNT(*), MAX(lim) FROM ({base}) x "  # noqa: S608
            "GROUP BY cat, node, used ORDER BY cat, node, used",
            params,
        ):
            hist.setdefault((cat, node), []).append((int(used_days), int(count)))
            limits[(cat, node)] = max(limits.get((cat, node), 0), lim or 0)
        for (cat, node), h in hist.items():
            n = sum(c for _v, c in h)
            out.append(
                {
                    "cat": cat,
                    "node": node,
                    "n": n,
                    "avg": sum(v * c for v, c in h) / n,
                    "median": _pct_from_histogram(h, 0.5),
                    "p90": _pct_from_histogram(h, 0.9),
                    "limit": limits[(cat, node)] or None,
                }
            )
        return out

    # -- on time per node (a completed stage is on time when completed_on <= its deadline) ------
    def _node_on_time(self, s: date, e: date) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self._completed_utility_stages(s, e)
            .values(cat=F("application__category"), node=F("code"))
            .annotate(n=Count("id"), on_time=Count("id", filter=Q(completed_on__lte=F("deadline"))))
            .order_by()
        ]

    # -- applications completed: utility working days and on-time (domain rules) ---------------
    def completed_apps(self, start_dt: datetime, end_dt: datetime, s: date, e: date) -> dict[str, Any]:
        """Completed in [start_dt, end_dt): count, on time, average utility working days.

        Low voltage is judged end to end (sum of the utility stages' working days against the
        process limit), high voltage node by node (every completed utility stage on time).
        """
        stages = StageInstance.objects.filter(
            self.app_stage_q,
            owner=Owner.UTILITY,
            status__in=[StageStatus.COMPLETED, StageStatus.SKIPPED],
            started_on__isnull=False,
            application__completed_at__gte=start_dt,
            application__completed_at__lt=end_dt,
        )
        ords = self.ordinals()
        if ords is None:
            return {"n": 0, "on_time": 0, "avg": None}
        cte, cte_params = ords
        inner, inner_params = _sql(
            stages.values(
                app=F("application_id"),
                s_on=F("started_on"),
                c_on=F("completed_on"),
                paused=F("paused_working_days"),
                late=F("deadline"),
                st=F("status"),
                e2e=F("application__process__end_to_end_limit_days"),
            )
        )
        used = _USED_DAYS
        late = "CASE WHEN t.st = 'completed' AND t.c_on > t.late THEN 1 ELSE 0 END"
        sql = (
            f"{cte} SELECT COUNT(*), SUM(CASE WHEN (a.e2e IS NOT NULL AND a.used <= a.e2e) "  # noqa: S608
            "OR (a.e2e IS NULL AND a.late = 0) THEN 1 ELSE 0 END), AVG(a.used) FROM ("
            f"SELECT t.app, MAX(t.e2e) AS e2e, SUM({used}) AS used, SUM({late}) AS late FROM ({inner}) t "
            "JOIN wd ws ON ws.d = t.s_on JOIN wd we ON we.d = t.c_on GROUP BY t.app) a"
        )
        n, on_time, avg = _fetch(sql, [*cte_params, *inner_params])[0]
        return {"n": int(n or 0), "on_time": int(on_time or 0), "avg": avg}

    # -- overdue utility stages at the end of the period ----------------------------------------
    def _overdue_candidates(self, e: date, end_dt: datetime) -> QuerySet[StageInstance]:
        """The utility stages that may be overdue at the end of ``e`` (``_overdue_rows``)."""
        # Open at e: running now (the open-stage index) or finished after e (completed: the
        # reports' index; skipped: its own), never the whole table (a million applications have
        # five million stages); the pauses as EXISTS, so no DISTINCT over the wide rows.
        open_at_e = (
            Q(status__in=[StageStatus.IN_PROGRESS, StageStatus.PAUSED])
            | Q(status=StageStatus.COMPLETED, completed_on__gt=e)
            | Q(status=StageStatus.SKIPPED, completed_on__gt=e)
        )
        pauses_after = Pause.objects.filter(stage=OuterRef("pk")).filter(Q(ended_on__gt=e) | Q(ended_on__isnull=True))
        return (
            StageInstance.objects.filter(
                self.stage_q,
                not_cancelled_by(end_dt, "application__"),
                open_at_e,
                owner=Owner.UTILITY,
                started_on__lte=e,
                deadline__isnull=False,
            )
            .filter(Q(deadline__lt=e) | Exists(pauses_after))
            .select_related("application", "application__customer_manager", "manager")
            .order_by("deadline", "id")
        )

    def _overdue_rows(self, e: date, end_dt: datetime) -> list[dict[str, Any]]:
        """Every utility stage open at the end of ``e`` and past its deadline as it stood then.

        Candidates come from one indexed query (open at e, and either past the stored deadline
        or touched by a pause that ended later, which may have moved the stored deadline); the
        clock of each candidate is then taken as of ``e``, pauses included. For a period still
        running (the current half-month so far) that is as of today: days not yet lived make no
        stage overdue.
        """
        e = min(e, timezone.localdate())
        candidates = list(self._overdue_candidates(e, end_dt))
        if not candidates:
            return []
        pauses: dict[int, list[Pause]] = {}
        for p in Pause.objects.filter(stage__in=[c.pk for c in candidates], started_on__lte=e).order_by("started_on"):
            pauses.setdefault(p.stage_id, []).append(p)
        cal = workdays.current()
        out: list[dict[str, Any]] = []
        for st in candidates:
            own = pauses.get(st.pk, [])
            finished = sum(p.working_days or 0 for p in own if p.ended_on is not None and p.ended_on <= e)
            running = next((p.started_on for p in own if p.ended_on is None or p.ended_on > e), None)
            clock = stage_clock(
                cal,
                started_on=st.started_on,
                limit=st.time_limit_days,
                finished_pause_days=finished,
                running_pause_from=running,
                completed_on=None,
                today=e,
            )
            if not clock.overdue or clock.deadline is None:
                continue
            app = st.application
            manager = st.manager or app.customer_manager  # who held the stage while it ran late
            reason = (own[-1].reason if own else "") or st.note or "未说明"
            out.append(
                {
                    "number": app.number,
                    "customer": app.customer_name,
                    "cat": app.category,
                    "node": st.code,
                    "manager": manager.display_name if manager else "—",
                    "started_on": st.started_on,
                    "deadline": clock.deadline,
                    "days_over": cal.working_days_in(clock.deadline, e),
                    "reason": reason,
                    "unit": app.unit_id,
                }
            )
        out.sort(key=lambda r: (-r["days_over"], r["number"], self.node_key(r["cat"], r["node"])))
        return out

    # The headline and the sections ask for the same figures: each is computed once per report.
    def _memo(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        cache: dict[tuple[Any, ...], Any] = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            cache[key] = compute()
        return cast(T, cache[key])

    def category_counts(self, start_dt: datetime, end_dt: datetime) -> dict[str, dict[str, Any]]:
        return self._memo(("cat", start_dt, end_dt), lambda: self._category_counts(start_dt, end_dt))

    def node_on_time(self, s: date, e: date) -> list[dict[str, Any]]:
        return self._memo(("on_time", s, e), lambda: self._node_on_time(s, e))

    def overdue_rows(self, e: date, end_dt: datetime) -> list[dict[str, Any]]:
        return self._memo(("overdue", e, end_dt), lambda: self._overdue_rows(e, end_dt))

    # ==========================================================================================
    def compute(self, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        steps: list[Callable[[], dict[str, Any]]] = [
            self.sec_headline,
            self.sec_volume_category,
            self.sec_volume_node,
            self.sec_durations,
            self.sec_on_time,
            self.sec_overdue,
            self.sec_key_projects,
            self.sec_pauses,
            self.sec_followup,
            self.sec_cases,
            self.sec_ranking,
        ]
        if self.child_units():
            steps.append(self.sec_units)
        sections = []
        for i, step in enumerate(steps, start=1):
            sections.append(step())
            if progress:
                progress(int(100 * i / len(steps)))
        return {
            "meta": {
                "period_start": self.start.isoformat(),
                "period_end": self.end.isoformat(),
                "previous_start": self.prev_start.isoformat(),
                "previous_end": self.prev_end.isoformat(),
                "filters": self.filters,
                "filters_zh": self.filters_zh(),
                "computed_at": timezone.now().isoformat(),
            },
            "sections": sections,
        }

    def filters_zh(self) -> str:
        parts = []
        f = self.filters
        if f.get("category"):
            parts.append("类别：" + CATEGORY_ZH.get(f["category"], f["category"]))
        if f.get("area"):
            from sunshine.accounts.models import ServiceArea

            area = ServiceArea.objects.filter(code=f["area"]).first()
            parts.append("供电区域：" + (area.name if area else f["area"]))
        if f.get("manager"):
            from sunshine.accounts.models import User

            user = User.objects.filter(username=f["manager"]).first()
            parts.append("客户经理：" + (user.display_name if user else f["manager"]))
        if "key_project" in f:
            parts.append("重点项目：" + ("是" if f["key_project"] else "否"))
        if f.get("unit"):
            node = units.tree().by_code(str(f["unit"]))
            parts.append("单位：" + (node.name if node else str(f["unit"])))
        return "；".join(parts) or "全部"

    # -- sections --------------------------------------------------------------------------------
    def _headline_values(self, s: date, e: date) -> dict[str, Any]:
        start_dt, end_dt = local_bounds(s, e)
        cats = self.category_counts(start_dt, end_dt)
        done = self.completed_apps(start_dt, end_dt, s, e)
        nodes = self.node_on_time(s, e)
        n_nodes = sum(r["n"] for r in nodes)
        on_nodes = sum(r["on_time"] for r in nodes)
        return {
            "accepted": sum(r["accepted"] for r in cats.values()),
            "completed": sum(r["completed"] for r in cats.values()),
            "open": sum(r["open"] for r in cats.values()),
            "overdue": len(self.overdue_rows(e, end_dt)),
            "app_on_time": _rate(done["on_time"], done["n"]),
            "node_on_time": _rate(on_nodes, n_nodes),
            "avg_days": _r1(done["avg"]),
        }

    def sec_headline(self) -> dict[str, Any]:
        now = self._headline_values(self.start, self.end)
        self._headline_now = now
        before = self._headline_values(self.prev_start, self.prev_end)
        labels = [
            ("accepted", "受理申请（件）"),
            ("completed", "办结申请（件）"),
            ("open", "期末在途（件）"),
            ("overdue", "期末超期环节（个）"),
            ("app_on_time", "办结按时率（%）"),
            ("node_on_time", "环节按时率（%）"),
            ("avg_days", "办结平均供电企业用时（工作日）"),
        ]
        rows = []
        for key, label in labels:
            a, b = now[key], before[key]
            change = None if a is None or b is None else _r1(a - b)
            rows.append([label, a, b, change])
        empty = not any(now[k] for k in ("accepted", "completed", "open"))
        return section(
            "headline",
            "核心指标（与上期比较）",
            [("指标", "text"), ("本期", "num"), ("上期", "num"), ("变化", "delta")],
            rows,
            empty=empty,
            note=f"上期：{self.prev_start:%Y-%m-%d} 至 {self.prev_end:%Y-%m-%d}",
        )

    def sec_volume_category(self) -> dict[str, Any]:
        cats = self.category_counts(self.start_dt, self.end_dt)
        rows = []
        for cat in CATEGORY_ORDER:
            r = cats.get(cat)
            if r and (r["accepted"] or r["completed"] or r["open"] or r["cancelled"]):
                rows.append([CATEGORY_ZH[cat], r["accepted"], r["completed"], r["cancelled"], r["open"]])
        if rows:
            rows.append(["合计", *[sum(int(r[i]) for r in rows) for i in range(1, 5)]])
        chart = {
            "type": "bar",
            "title": "按类别受理、办结、在途（件）",
            "categories": [r[0] for r in rows[:-1]],
            "series": [
                {"name": "受理", "data": [r[1] for r in rows[:-1]]},
                {"name": "办结", "data": [r[2] for r in rows[:-1]]},
                {"name": "期末在途", "data": [r[4] for r in rows[:-1]]},
            ],
        }
        return section(
            "volume_category",
            "按类别：受理、办结、撤销、期末在途",
            [("类别", "text"), ("受理", "int"), ("办结", "int"), ("撤销", "int"), ("期末在途", "int")],
            rows,
            chart=chart,
        )

    def sec_volume_node(self) -> dict[str, Any]:
        data = sorted(self.node_counts(), key=lambda r: self.node_key(r["cat"], r["node"]))
        rows = [
            [
                CATEGORY_ZH.get(r["cat"], r["cat"]),
                self.node_name(r["cat"], r["node"]),
                "供电企业" if r["owner"] == Owner.UTILITY else "客户",
                r["started"],
                r["completed"],
                r["open"],
            ]
            for r in data
            if r["started"] or r["completed"] or r["open"]
        ]
        return section(
            "volume_node",
            "按环节：本期开始、本期完成、期末在办",
            [
                ("类别", "text"),
                ("环节", "text"),
                ("责任方", "text"),
                ("本期开始", "int"),
                ("本期完成", "int"),
                ("期末在办", "int"),
            ],
            rows,
        )

    def sec_durations(self) -> dict[str, Any]:
        data = sorted(self.node_durations(), key=lambda r: self.node_key(r["cat"], r["node"]))
        rows = [
            [
                CATEGORY_ZH.get(r["cat"], r["cat"]),
                self.node_name(r["cat"], r["node"]),
                r["n"],
                _r1(r["avg"]),
                _r1(r["median"]),
                _r1(r["p90"]),
                r["limit"],
            ]
            for r in data
        ]
        labels = [f"{r[0]}·{r[1]}" for r in rows]
        chart = {
            "type": "bar",
            "title": "各环节用时与时限（工作日）",
            "categories": labels,
            "series": [
                {"name": "平均用时", "data": [r[3] for r in rows]},
                {"name": "90%分位", "data": [r[5] for r in rows]},
                {"name": "时限", "data": [r[6] for r in rows]},
            ],
        }
        return section(
            "durations",
            "各环节用时（本期完成的供电企业环节，工作日，扣除暂停）",
            [
                ("类别", "text"),
                ("环节", "text"),
                ("完成数", "int"),
                ("平均用时", "num"),
                ("中位数", "num"),
                ("90%分位", "num"),
                ("时限", "int"),
            ],
            rows,
            chart=chart,
        )

    def sec_on_time(self) -> dict[str, Any]:
        data = sorted(self.node_on_time(self.start, self.end), key=lambda r: self.node_key(r["cat"], r["node"]))
        rows = [
            [
                CATEGORY_ZH.get(r["cat"], r["cat"]),
                self.node_name(r["cat"], r["node"]),
                r["n"],
                r["on_time"],
                r["n"] - r["on_time"],
                _rate(r["on_time"], r["n"]),
            ]
            for r in data
        ]
        if rows:
            n = sum(r[2] for r in rows)
            ok = sum(r[3] for r in rows)
            rows.append(["合计", "全部环节", n, ok, n - ok, _rate(ok, n)])
        chart = {
            "type": "bar",
            "title": "各环节按时率（%）",
            "categories": [f"{r[0]}·{r[1]}" for r in rows],
            "series": [{"name": "按时率", "data": [r[5] for r in rows]}],
        }
        now = getattr(self, "_headline_now", None) or {}
        note = ""
        if now.get("app_on_time") is not None:
            note = f"办结申请按时率（低压按全流程时限、高压按各环节）：{now['app_on_time']}%"
        return section(
            "on_time",
            "按时率（本期完成的供电企业环节）",
            [
                ("类别", "text"),
                ("环节", "text"),
                ("完成数", "int"),
                ("按时", "int"),
                ("超时", "int"),
                ("按时率", "pct"),
            ],
            rows,
            chart=chart,
            note=note,
        )

    def sec_overdue(self) -> dict[str, Any]:
        rows = [
            [
                r["number"],
                r["customer"],
                CATEGORY_ZH.get(r["cat"], r["cat"]),
                self.node_name(r["cat"], r["node"]),
                r["manager"],
                r["started_on"].isoformat(),
                r["deadline"].isoformat(),
                r["days_over"],
                r["reason"],
            ]
            for r in self.overdue_rows(self.end, self.end_dt)
        ]
        return section(
            "overdue",
            "期末超期环节（逐项）",
            [
                ("申请编号", "text"),
                ("客户", "text"),
                ("类别", "text"),
                ("环节", "text"),
                ("客户经理", "text"),
                ("开始日期", "date"),
                ("期限", "date"),
                ("超期工作日", "int"),
                ("原因", "text"),
            ],
            rows,
        )

    def sec_key_projects(self) -> dict[str, Any]:
        e, end_dt = self.end, self.end_dt
        supervised = _supervision(end_dt)
        numbers = set(supervised.keys())
        scope = (
            self.apps.filter(accepted_at__lt=end_dt)
            .filter(not_cancelled_by(end_dt))
            .filter(Q(completed_at__isnull=True) | Q(completed_at__gte=self.start_dt))
            .filter(Q(key_project=True) | Q(number__in=numbers))
            .select_related("customer_manager")
            .order_by("accepted_at", "number")
        )
        apps = list(scope[:500])
        stages: dict[int, list[StageInstance]] = {}
        for st in StageInstance.objects.filter(application__in=[a.pk for a in apps]).order_by("application", "seq"):
            stages.setdefault(st.application_id, []).append(st)
        rows = []
        for app in apps:
            own = stages.get(app.pk, [])
            done = sum(1 for s in own if s.completed_on is not None and s.completed_on <= e)
            current = next(
                (
                    s
                    for s in own
                    if s.started_on and s.started_on <= e and (s.completed_on is None or s.completed_on > e)
                ),
                None,
            )
            finished = app.completed_at is not None and app.completed_at < end_dt
            sup = supervised.get(app.number) or {}
            rows.append(
                [
                    app.number,
                    app.customer_name,
                    CATEGORY_ZH.get(app.category, app.category),
                    "已办结" if finished else (self.node_name(app.category, current.code) if current else "—"),
                    f"{done}/{len(own)}",
                    (current.deadline.isoformat() if current and current.deadline and not finished else "—"),
                    app.customer_manager.display_name if app.customer_manager else "—",
                    "是" if app.key_project else "否",
                    sup.get("leader") or "—",
                    sup.get("target") or "—",
                ]
            )
        note = "" if supervised else "领导挂牌督办数据尚未接入或本期无督办项目。"
        return section(
            "key_projects",
            "重点项目及领导挂牌督办项目进展",
            [
                ("申请编号", "text"),
                ("客户", "text"),
                ("类别", "text"),
                ("当前环节", "text"),
                ("进度（已完成/全部环节）", "text"),
                ("下一期限", "date"),
                ("客户经理", "text"),
                ("重点项目", "text"),
                ("督办领导", "text"),
                ("督办目标日期", "date"),
            ],
            rows,
            note=note,
        )

    def sec_pauses(self) -> dict[str, Any]:
        s, e = self.start, self.end
        data = {
            r["reason_code"]: r
            for r in Pause.objects.filter(holder_filter(self.filters, "stage__manager"), started_on__lte=e)
            .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=s))
            .values("reason_code")
            .annotate(
                started=Count("id", filter=Q(started_on__gte=s)),
                ended=Count("id", filter=Q(ended_on__gte=s, ended_on__lte=e)),
                days=Sum("working_days", filter=Q(ended_on__gte=s, ended_on__lte=e)),
                running=Count("id", filter=Q(ended_on__isnull=True) | Q(ended_on__gt=e)),
            )
            .order_by()
        }
        rows = []
        for code, label in PAUSE_REASON_ZH.items():
            r = data.get(code)
            if r:
                rows.append([label, r["started"], r["ended"], r["days"] or 0, r["running"]])
        if rows:
            rows.append(["合计", *[sum(int(r[i]) for r in rows) for i in range(1, 5)]])
        chart = {
            "type": "pie",
            "title": "本期新增暂停按原因",
            "categories": [r[0] for r in rows[:-1]],
            "series": [{"name": "本期新增", "data": [r[1] for r in rows[:-1]]}],
        }
        return section(
            "pauses",
            "暂停（客户原因）按原因",
            [
                ("原因", "text"),
                ("本期新增", "int"),
                ("本期结束", "int"),
                ("已结束暂停的工作日", "int"),
                ("期末仍暂停", "int"),
            ],
            rows,
            chart=chart if any(r[1] for r in rows) else None,
        )

    def sec_followup(self) -> dict[str, Any]:
        """Follow-up calls closed in the period (``sunshine.feedback.selectors.satisfaction``)."""
        data: Any = None
        try:
            data = satisfaction(self.start, self.end, **self._feedback_filters())
        except Exception:  # a section must not sink the report
            log.exception("follow-up results unavailable")
        rows = _flatten(data) if isinstance(data, dict) else []
        if not isinstance(data, dict) or not _has_any_count(data):
            rows = []
        return section(
            "followup",
            "回访结果（满意度、三不指定、额外收费）",
            [("指标", "text"), ("数值", "num")],
            rows,
            note="满意度为1–5分的平均分；“反映被指定单位”“反映额外收费”的回访已转稽查督办。",
        )

    def _feedback_filters(self) -> dict[str, Any]:
        """The ad-hoc filters as the feedback selector takes them (ids, not codes)."""
        from sunshine.accounts.models import ServiceArea, User

        out: dict[str, Any] = {}
        if self.filters.get("category"):
            out["category"] = self.filters["category"]
        if self.filters.get("manager"):
            out["manager"] = User.objects.filter(username=self.filters["manager"]).values_list("pk", flat=True).first()
        if self.filters.get("area"):
            out["area"] = ServiceArea.objects.filter(code=self.filters["area"]).values_list("pk", flat=True).first()
        return out

    def sec_cases(self) -> dict[str, Any]:
        """Supervision cases (``feedback.SupervisionCase``) per source: opened and closed in the
        period, and still open at its end."""
        qs = SupervisionCase.objects.all()
        qf = holder_filter(self.filters, "manager")
        if qf:
            qs = qs.filter(qf)
        open_at_end = Q(opened_at__lt=self.end_dt) & (Q(closed_at__isnull=True) | Q(closed_at__gte=self.end_dt))
        annotations = {
            "opened": Count("id", filter=Q(opened_at__gte=self.start_dt, opened_at__lt=self.end_dt)),
            "open_at_end": Count("id", filter=open_at_end),
            "closed": Count("id", filter=Q(closed_at__gte=self.start_dt, closed_at__lt=self.end_dt)),
        }
        group = "source"
        rows = []
        for r in qs.values(group).annotate(**annotations).order_by(group):
            label = SOURCE_ZH.get(r[group], r[group])
            if r["opened"] or r["closed"] or r["open_at_end"]:
                rows.append([str(label), r["opened"], r["closed"], r["open_at_end"]])
        if rows:
            rows.append(["合计", *[sum(int(r[i]) for r in rows) for i in (1, 2, 3)]])
        return section("cases", "稽查督办案件（新立、办结）", CASE_COLUMNS, rows)

    def sec_ranking(self) -> dict[str, Any]:
        """Excerpt of the latest monthly evaluation frozen for a month that ended by the period's
        end (``sunshine.evaluation``): per service area the first three and the last two."""
        columns = [
            ("供电区域", "text"),
            ("名次", "int"),
            ("参评人数", "int"),
            ("客户经理", "text"),
            ("得分", "num"),
            ("否决", "text"),
            ("淘汰预警", "text"),
        ]
        title = "客户经理考评排名（节选：各区域前三名与后两名）"
        snap = (
            EvaluationSnapshot.objects.filter(period__regex=r"^\d{4}-\d{2}$", ends_on__lte=self.end)
            .order_by("-starts_on", "-version")
            .first()
        )
        if snap is None:
            return section("ranking", title, columns, [])
        results = [r for r in snapshot_results(snap) if r["rank"] is not None]
        if self.filters.get("manager"):
            results = [r for r in results if r["username"] == self.filters["manager"]]
        from sunshine.accounts.models import User

        names = {u.username: u.display_name for u in User.objects.filter(username__in=[r["username"] for r in results])}
        by_area: dict[str, list[dict[str, Any]]] = {}
        for r in results:
            by_area.setdefault(r["area"] or "—", []).append(r)
        rows: list[list[Any]] = []
        for area, entries in by_area.items():
            entries.sort(key=lambda r: (r["rank"], r["username"]))
            picked = entries[:3] + [r for r in entries[-2:] if r not in entries[:3]]
            for r in picked:
                rows.append(
                    [
                        area,
                        r["rank"],
                        r["ranked_in_area"],
                        names.get(r["username"], r["name"]),
                        None if r["score"] is None else float(r["score"]),
                        "是" if r["veto"] else "否",
                        "是" if r["warning"] else "否",
                    ]
                )
        return section("ranking", title, columns, rows, note=f"考评期：{snap.period}（第 {snap.version} 版）")

    # -- the units below: roll-up and ranking (issue 19) -------------------------------------------
    def child_units(self) -> list[units.Node]:
        """The units directly below the report's unit (the top one when none is named)."""
        tree = units.tree()
        node = tree.by_code(str(self.filters["unit"])) if self.filters.get("unit") else None
        parent = node.id if node is not None else tree.top
        return tree.children(parent) if parent is not None else []

    def ranked_units(self, kind: str | None = None) -> list[units.Node]:
        """The units ranked: those directly below the report's unit, or with ``kind`` every unit
        of that kind below it (the province's ranking of all its counties)."""
        if kind is None:
            return self.child_units()
        tree = units.tree()
        node = tree.by_code(str(self.filters["unit"])) if self.filters.get("unit") else None
        root = node.id if node is not None else tree.top
        prefix = tree.path(root)
        if prefix is None:
            return []
        found = (n for n in tree.nodes.values() if n.kind == kind and n.id != root and n.path.startswith(prefix))
        return sorted(found, key=lambda n: n.path)

    def unit_figures(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Per unit ranked (``ranked_units``): the period's figures of it and everything under it,
        ranked (on-time rate high first, then average working days short first, complaints and
        promises broken few first; a unit with nothing completed last)."""
        return self._memo(("units", kind), lambda: self._unit_figures(kind))

    def _unit_figures(self, kind: str | None) -> list[dict[str, Any]]:
        # Each figure in one statement grouped by the applications' unit (not one per unit ranked:
        # 117 counties would be ~500 statements), then summed up the tree to the unit ranked.
        tree = units.tree()
        targets = self.ranked_units(kind)
        ranked_of: dict[int, int] = {}  # a unit -> the unit ranked that contains it
        for t in targets:
            for unit_id in tree.below(t.id):
                ranked_of.setdefault(unit_id, t.id)
        totals = {
            t.id: dict.fromkeys(("accepted", "n", "on_time", "used", "overdue", "complaints"), 0) for t in targets
        }

        def add(unit_id: int | None, key: str, value: Any) -> None:
            ranked = ranked_of.get(unit_id) if unit_id is not None else None
            if ranked is not None and value:
                totals[ranked][key] += value

        accepted = (
            self.apps.filter(accepted_at__gte=self.start_dt, accepted_at__lt=self.end_dt)
            .values("unit")
            .annotate(n=Count("id"))
            .order_by()
        )
        for grouped in accepted:
            add(grouped["unit"], "accepted", grouped["n"])
        for unit_id, n, on_time, used in self._completed_by_unit():
            add(unit_id, "n", int(n or 0))
            add(unit_id, "on_time", int(on_time or 0))
            add(unit_id, "used", used or 0)
        for row in self.overdue_rows(self.end, self.end_dt):
            add(row["unit"], "overdue", 1)
        for unit_id, n in self._complaints_by_unit().items():
            add(unit_id, "complaints", n)
        out: list[dict[str, Any]] = []
        for t in targets:
            f = totals[t.id]
            parent = tree.nodes.get(t.parent_id) if t.parent_id is not None else None
            out.append(
                {
                    "code": t.code,
                    "name": t.name,
                    "kind": t.kind,
                    "parent": parent.name if parent is not None else "",
                    "accepted": f["accepted"],
                    "completed": f["n"],
                    "on_time_rate": _rate(f["on_time"], f["n"]),
                    "avg_days": _r1(float(f["used"]) / f["n"]) if f["n"] else None,
                    "complaints": f["complaints"],
                    # a promise broken: an application completed later than promised, or a
                    # stage past its deadline at the period's end
                    "promises_broken": f["n"] - f["on_time"] + f["overdue"],
                }
            )

        def order(r: dict[str, Any]) -> tuple[Any, ...]:
            rate = r["on_time_rate"]
            return (
                rate is None,
                -(rate or 0),
                r["avg_days"] if r["avg_days"] is not None else 1e9,
                r["complaints"],
                r["promises_broken"],
                r["code"],
            )

        out.sort(key=order)
        for i, r in enumerate(out, start=1):
            r["rank"] = i
        return out

    def _completed_by_unit(self) -> list[tuple[Any, ...]]:
        """``completed_apps`` of the period per application unit: (unit, completed, on time,
        sum of the utility working days)."""
        stages = StageInstance.objects.filter(
            self.app_stage_q,
            owner=Owner.UTILITY,
            status__in=[StageStatus.COMPLETED, StageStatus.SKIPPED],
            started_on__isnull=False,
            application__completed_at__gte=self.start_dt,
            application__completed_at__lt=self.end_dt,
        )
        ords = self.ordinals()
        if ords is None:
            return []
        cte, cte_params = ords
        inner, inner_params = _sql(
            stages.values(
                app=F("application_id"),
                unit=F("application__unit_id"),
                s_on=F("started_on"),
                c_on=F("completed_on"),
                paused=F("paused_working_days"),
                late=F("deadline"),
                st=F("status"),
                e2e=F("application__process__end_to_end_limit_days"),
            )
        )
        used = _USED_DAYS
        late = "CASE WHEN t.st = 'completed' AND t.c_on > t.late THEN 1 ELSE 0 END"
        sql = (
            f"{cte} SELECT a.unit, COUNT(*), SUM(CASE WHEN (a.e2e IS NOT NULL AND a.used <= a.e2e) "  # noqa: S608
            "OR (a.e2e IS NULL AND a.late = 0) THEN 1 ELSE 0 END), SUM(a.used) FROM ("
            f"SELECT t.app, MAX(t.unit) AS unit, MAX(t.e2e) AS e2e, SUM({used}) AS used, SUM({late}) AS late "
            f"FROM ({inner}) t JOIN wd ws ON ws.d = t.s_on JOIN wd we ON we.d = t.c_on GROUP BY t.app) a "
            "GROUP BY a.unit"
        )
        return _fetch(sql, [*cte_params, *inner_params])

    def _complaints_by_unit(self) -> dict[int, int]:
        """Complaints (supervision cases from a complaint) opened in the period, per application unit."""
        qs = SupervisionCase.objects.filter(
            source="complaint", opened_at__gte=self.start_dt, opened_at__lt=self.end_dt, application__isnull=False
        )
        qf = app_filter({k: v for k, v in self.filters.items() if k != "unit"}, "application__")
        if qf:
            qs = qs.filter(qf)
        return {r["application__unit"]: r["n"] for r in qs.values("application__unit").annotate(n=Count("id"))}

    def sec_units(self) -> dict[str, Any]:
        rows = [
            [
                r["rank"],
                r["name"],
                r["accepted"],
                r["completed"],
                r["on_time_rate"],
                r["avg_days"],
                r["complaints"],
                r["promises_broken"],
            ]
            for r in self.unit_figures()
        ]
        return section(
            "units",
            "下级单位排名（按办结按时率）",
            [
                ("名次", "int"),
                ("单位", "text"),
                ("受理（件）", "int"),
                ("办结（件）", "int"),
                ("办结按时率", "pct"),
                ("平均用时（工作日）", "num"),
                ("投诉（件）", "int"),
                ("承诺未兑现（次）", "int"),
            ],
            rows,
            empty=not any(r[2] or r[3] or r[7] for r in rows),
            note="每个单位含其全部下级单位；承诺未兑现＝超时办结的申请＋期末超期的环节。",
        )


# --- other apps' sources ------------------------------------------------------------------------


def _supervision(end_dt: datetime) -> dict[str, dict[str, str]]:
    """{number: {"leader", "target"}} of the applications under leader supervision (督办) at
    ``end_dt`` (``supervision.LeaderSupervision``). One query."""
    rows = (
        LeaderSupervision.objects.filter(started_at__lt=end_dt)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=end_dt))
        .select_related("leader", "application")
        .order_by("started_at")
    )
    return {
        r.application.number: {
            "leader": r.leader.display_name,
            "target": r.target_date.isoformat() if r.target_date else "",
        }
        for r in rows
    }


FOLLOWUP_ZH = {
    # the keys of sunshine.feedback.selectors.satisfaction
    "calls": "回访结束（件）",
    "completed": "完成问卷（件）",
    "unreachable": "无法接通（件）",
    "refused": "拒绝回访（件）",
    "wrong_number": "号码错误（件）",
    "overall": "总体满意度（分）",
    "manager": "客户经理服务满意度（分）",
    "timeliness": "办电时效满意度（分）",
    "steered": "反映被指定设计、施工或供货单位（三不指定，件）",
    "overcharged": "反映额外收费（件）",
    "told_once": "确认一次性告知（件）",
}


def _flatten(data: dict[str, Any], prefix: str = "") -> list[list[Any]]:
    rows: list[list[Any]] = []
    for k, v in data.items():
        label = prefix + FOLLOWUP_ZH.get(str(k), str(k))
        if isinstance(v, dict):
            rows += _flatten(v, label + "·")
        elif v is None:
            rows.append([label, None])
        elif isinstance(v, bool):
            continue
        elif isinstance(v, int | float):
            rows.append([label, round(float(v), 2) if isinstance(v, float) else v])
        elif hasattr(v, "__float__"):
            rows.append([label, round(float(v), 2)])
    return rows


def _has_any_count(data: Any) -> bool:
    if isinstance(data, dict):
        return any(_has_any_count(v) for v in data.values())
    return isinstance(data, int | float) and not isinstance(data, bool) and data != 0
