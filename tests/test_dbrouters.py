"""With a read replica configured, the public portal's reads and report generation go to it, and
nothing else does: writes, staff pages, sessions and reads inside a transaction stay on the primary.

The "replica" alias of the test settings mirrors the test database (TEST MIRROR), as a streaming
replica mirrors the primary; the queries each connection ran show where the router sent them.
Transactional tests: a mirror is a second connection and sees only committed rows.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.db import connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from sunshine.dbrouters import replica_reads
from sunshine.directory.models import FeeSchedule
from sunshine.processes.models import ProcessTemplate
from sunshine.reports import services as reports
from tests.conftest import ApiClient, intake_body

pytestmark = [
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]
with_replica = override_settings(SUNSHINE_READ_REPLICA="replica")


class Captured:
    """The SQL each connection ran in the block."""

    def __enter__(self) -> Captured:
        self._ctx = {alias: CaptureQueriesContext(connections[alias]) for alias in ("default", "replica")}
        for ctx in self._ctx.values():
            ctx.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        for ctx in self._ctx.values():
            ctx.__exit__(*exc)

    def tables(self, alias: str, verb: str = "SELECT") -> set[str]:
        """Tables named after FROM/INTO/UPDATE in the statements of ``verb`` on ``alias``."""
        found = set()
        for q in self._ctx[alias].captured_queries:
            sql = q["sql"]
            if sql.lstrip().upper().startswith(verb):
                found.update(t for t in _TABLES if f'"{t}"' in sql)
            elif verb == "INSERT":  # a change's rows in one statement (applications/writes.py): WITH … INSERT INTO t
                found.update(t for t in _TABLES if re.search(rf'INSERT INTO "?{t}"?[\s(]', sql, re.IGNORECASE))
        return found


_TABLES = [
    "directory_feeschedule",
    "directory_feeitem",
    "processes_processtemplate",
    "applications_application",
    "applications_stageinstance",
    "applications_event",
    "django_session",
    "accounts_user",
    "reports_report",
]


@with_replica
def test_public_pages_and_api_read_from_the_replica(personas):
    assert FeeSchedule.objects.exists() and ProcessTemplate.objects.exists()  # the seeded catalogue
    with Captured() as q:
        page = Client().get("/fees/")
        api = Client().get("/api/v1/public/time-limits")
    assert (page.status_code, api.status_code) == (200, 200)
    assert {"directory_feeschedule", "processes_processtemplate"} <= q.tables("replica")
    assert q.tables("default") & {"directory_feeschedule", "processes_processtemplate"} == set()


@with_replica
def test_staff_requests_and_every_write_use_the_primary(personas):
    clerk = ApiClient(personas["clerk"])
    with Captured() as q:
        r = clerk.post("/api/v1/applications", intake_body())
        page = Client()
        page.force_login(personas["clerk"])
        queue = page.get("/workbench/")
    assert (r.status_code, queue.status_code) == (201, 200)
    assert q._ctx["replica"].captured_queries == []
    assert "applications_application" in q.tables("default", "INSERT")


@with_replica
def test_a_public_post_and_reads_inside_a_transaction_stay_on_the_primary(personas):
    with Captured() as q:
        Client().post("/api/v1/public/verification-codes", {"phone": "13800138000"}, content_type="application/json")
        with replica_reads():
            with transaction.atomic():
                FeeSchedule.objects.select_for_update().first()  # a read-then-write must see the primary
            outside = FeeSchedule.objects.first()  # outside a transaction: the replica
    assert q.tables("replica") == {"directory_feeschedule"}
    assert len(q._ctx["replica"].captured_queries) == 1
    # An object read from the replica is written back to the primary, not to where it came from.
    assert outside is not None and outside._state.db == "replica"
    with Captured() as q:
        outside.save(update_fields=["effective_from"])
    assert q._ctx["replica"].captured_queries == []
    assert "directory_feeschedule" in q.tables("default", "UPDATE")


@with_replica
def test_report_generation_computes_from_the_replica_and_stores_on_the_primary(personas):
    ApiClient(personas["clerk"]).post("/api/v1/applications", intake_body())
    with Captured() as q:
        report, created = reports.generate_half_month(date(2026, 11, 16), email=False)
    assert created and report.status == "done"
    assert {"applications_application", "applications_stageinstance"} <= q.tables("replica")
    assert q.tables("default") & {"applications_application", "applications_stageinstance"} == set()
    assert "reports_report" in q.tables("default", "UPDATE")


def test_without_a_replica_everything_reads_from_the_primary(personas):
    with Captured() as q:
        assert Client().get("/fees/").status_code == 200
        with replica_reads():
            FeeSchedule.objects.first()
    assert q._ctx["replica"].captured_queries == []
    assert "directory_feeschedule" in q.tables("default")
