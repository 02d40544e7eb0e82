"""The hot queries use their indexes (PostgreSQL only: the plans are PostgreSQL's).

A few thousand generated applications (``generate_load``), the tables analysed, then each query
is explained (``EXPLAIN (FORMAT JSON)``) with sequential scans priced out (``SET LOCAL
enable_seqscan = off``): a plan can then still choose a sequential scan only when no index serves
the query, so naming the expected index proves the index exists *and* matches the query's shape.
The queries are the code's own querysets wherever the code names one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from sunshine.accounts import units
from sunshine.accounts.models import Role, User
from sunshine.applications import selectors, services, writes
from sunshine.applications.models import OPEN_STATUSES, Application, StageInstance
from sunshine.metrics.models import DailyStat
from sunshine.processes.models import Category
from sunshine.reports import sections
from sunshine.reports.sections import Computer
from sunshine.supervision import moments
from sunshine.supervision.services import due_moments
from sunshine.workbench.desk import queries

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="EXPLAIN plans are PostgreSQL's: run with DATABASE_URL=postgres://… (apt-get install postgresql)",
    ),
    pytest.mark.django_db,
]

ROWS = 800


@pytest.fixture
def loaded(db) -> None:
    """ROWS generated applications with their rung moments, analysed (inside the test's transaction)."""
    call_command("generate_load", applications=ROWS, seed=7, verbosity=0)
    moments.backfill()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def indexes_used(qs: Any) -> set[str]:
    """The index names in the plan of ``qs`` (a queryset) with sequential scans priced out."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    try:
        raw = qs.explain(format="json")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = on")
    plan = json.loads(raw)[0]["Plan"]
    return {n["Index Name"] for n in _nodes(plan) if "Index Name" in n}


def indexes_led_by(model: Any, column: str) -> set[str]:
    """The names of the indexes of ``model``'s table whose first column is ``column``."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    names = {n for n, c in constraints.items() if c["columns"][:1] == [column] and (c["index"] or c["unique"])}
    assert names, f"no index on {model._meta.db_table}({column}, …)"
    return names


def test_the_progress_look_up_finds_the_application_by_its_number(loaded):
    number = Application.objects.order_by("pk").values_list("number", flat=True)[ROWS // 2]
    assert indexes_used(Application.objects.filter(number=number)) & indexes_led_by(Application, "number")


def test_a_managers_work_queue_reads_their_open_applications_through_manager_and_status(loaded):
    manager = (
        User.objects.filter(role=Role.CUSTOMER_MANAGER, managed_applications__status__in=OPEN_STATUSES)
        .order_by("pk")
        .first()
    )
    assert manager is not None
    used = indexes_used(queries.by_urgency(queries.queue_scope(manager)))
    assert "app_manager_status" in used
    # and each row's current deadline comes from the stages' application index
    assert used & indexes_led_by(StageInstance, "application_id")


def test_a_transition_reads_the_cases_stages_through_the_application_and_seq_index(loaded):
    """The stage table has no index of the application alone (migration applications 0023):
    stage_seq_unique (application, seq) serves both reads of a case's stages, in timeline order."""
    number = Application.objects.order_by("pk").values_list("number", flat=True)[ROWS // 2]
    app = Application.objects.get(number=number)
    # the ORM path (services._lock_with_stages without the fast writes) and the reactions' reads
    assert "stage_seq_unique" in indexes_used(StageInstance.objects.filter(application=app).order_by("seq"))
    # the fast path's raw statement (writes.lock)
    stages_sql = writes._lock_sql()[1]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + stages_sql, [number])
        plan = cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_seqscan = on")
    plan = json.loads(plan) if isinstance(plan, str) else plan
    assert "stage_seq_unique" in {n["Index Name"] for n in _nodes(plan[0]["Plan"]) if "Index Name" in n}


def test_a_transitions_update_of_the_application_row_is_a_hot_update(loaded):
    """The application table keeps room on its pages (fillfactor 80, migration applications 0025),
    so the engine's UPDATE of a row whose indexed columns stay put (a stage completed, the next one
    started: current stage and audit head) writes no index entry. The generated rows were written
    after the migration, as fresh intakes are."""

    def hot_updates() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated('applications_application'::regclass)")
            return int(cursor.fetchone()[0])

    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'applications_application'")
        assert "fillfactor=80" in cursor.fetchone()[0]
    later = StageInstance.objects.filter(application=OuterRef("application"), status="pending")
    candidates = list(
        StageInstance.objects.select_related("template", "application")
        .filter(status="in_progress", application__status="in_progress")
        .filter(Exists(later))
        .order_by("pk")
    )
    assert len(candidates) > 10
    stage = candidates[len(candidates) // 2]
    before = hot_updates()
    services.complete_stage(
        stage.application.number, stage.code, None, outcome="passed" if stage.template.has_outcome else None
    )
    assert hot_updates() - before == 1


def test_the_sweep_selects_only_unfired_due_moments_through_the_partial_index(loaded):
    now = timezone.now() + timedelta(days=3)
    assert "rung_moment_unfired_due" in indexes_used(due_moments(now)[:500])


def test_the_statistics_read_a_date_range_of_daily_rows_by_day(loaded):
    qs = DailyStat.objects.filter(
        day__gte=date(2026, 11, 1), day__lte=date(2026, 11, 15), category__in=list(Category.values)
    )
    assert "daily_stat_unique" in indexes_used(qs)


def test_the_intake_duplicate_check_looks_at_the_customers_open_applications(loaded):
    app = Application.objects.order_by("pk").select_related("customer")[ROWS // 3]
    qs = Application.objects.filter(customer=app.customer, address=app.address, status__in=OPEN_STATUSES).order_by(
        "accepted_at"
    )
    # app_customer_status (customer, status) or the foreign key's own index: the customer's rows only
    assert indexes_used(qs) & indexes_led_by(Application, "customer_id")


def test_the_report_selects_the_stages_and_applications_completed_in_its_period(loaded):
    start, end = date(2026, 11, 1), date(2026, 11, 15)
    computer = Computer(start, end)
    assert "stage_completed_on" in indexes_used(computer._completed_utility_stages(start, end))
    tz = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=tz)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    qs = Application.objects.filter(completed_at__gte=since, completed_at__lt=until)
    assert "app_completed_at" in indexes_used(qs)


# --- the unit queries (issue 19): generate_load spreads the rows over 山西's 117 counties ---------


def test_a_county_leaders_queue_reads_the_countys_open_applications_through_unit_and_status(loaded):
    leader = User.objects.get(username="leader.ty-xiaodian")
    qs = queries.queue_scope(leader)
    assert "unit_id" in str(qs.query)  # the county's subtree, not everything
    used = indexes_used(queries.by_urgency(qs))
    assert "app_unit_status" in used
    assert used & indexes_led_by(StageInstance, "application_id")


def test_the_api_lists_unit_filter_counts_and_pages_through_indexes(loaded):
    ids = units.tree().below(units.tree().by_code("ty").id)
    qs = selectors.filter_applications(Application.objects.all(), unit_ids=ids)
    assert "app_unit_status" in indexes_used(qs.order_by())  # the count
    page = qs.order_by("-accepted_at", "-id")[:20]
    # the unit's rows, or the newest first until 20 of the unit are found: an index either way
    assert indexes_used(page) & ({"app_unit_status", "app_accepted_at"} | indexes_led_by(Application, "unit_id"))
    assert "Seq Scan" not in _plan_text(page)


def test_the_ranking_of_units_reads_the_period_and_the_stages_open_at_its_end_through_indexes(loaded):
    start, end = date(2026, 11, 1), date(2026, 11, 15)
    for filters in ({}, {"unit": "ty"}):
        computer = Computer(start, end, filters)
        accepted = computer.apps.filter(accepted_at__gte=computer.start_dt, accepted_at__lt=computer.end_dt)
        assert indexes_used(accepted.values("unit")) & {"app_accepted_at", "app_unit_status"}
        # running now, or completed or skipped after the period's end: the three partial indexes
        used = indexes_used(computer._overdue_candidates(end, computer.end_dt))
        assert {"stage_open_deadline", "stage_completed_on", "stage_skipped_on"} <= used, (filters, used)


def _plan_text(qs: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    try:
        return str(qs.explain())
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = on")


def test_the_reports_first_relevant_day_reads_three_index_bounded_parts_and_equals_the_plain_minimum(loaded):
    tz = timezone.get_current_timezone()
    for since_day in (date(2026, 3, 1), date(2026, 9, 1), date(2026, 11, 1)):
        since = datetime.combine(since_day, time.min, tzinfo=tz)
        end = datetime.combine(date(2026, 11, 16), time.min, tzinfo=tz)
        for unit in (None, "ty", "ty-xiaodian"):
            apps = Application.objects.filter(accepted_at__lt=end)
            if unit:
                apps = apps.filter(unit__in=units.tree().below(units.tree().by_code(unit).id))
            plain = (
                apps.filter(Q(completed_at__isnull=True) | Q(completed_at__gte=since))
                .filter(Q(cancelled_at__isnull=True) | Q(cancelled_at__gte=since))
                .aggregate(m=Min("accepted_at"))["m"]
            )
            assert sections._first_relevant(apps, since) == plain, (since_day, unit)
    open_ = Application.objects.filter(completed_at__isnull=True, cancelled_at__isnull=True).order_by("accepted_at")
    assert "app_open_accepted_at" in indexes_used(open_.values("accepted_at")[:1])
    assert "app_cancelled_at" in indexes_used(Application.objects.filter(cancelled_at__gte=since, completed_at=None))
