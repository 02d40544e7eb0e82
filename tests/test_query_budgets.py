"""Query budgets: the exact number of SQL queries of every API operation and every page, with a
small and a larger data set (the access-matrix world of 3 applications, then 10 more with
completed stages and a pause), so a query per row fails here the day it is written.

The endpoints are found from the OpenAPI document and the URL configuration (the access matrix's
discovery, tests/test_access_matrix.py): a new operation or page fails
``test_every_endpoint_has_a_budget`` until its budget is written below.

Each call is made by a persona who is let through (the matrix's expected status is asserted, so
the budget is the cost of the real path, not of a refusal), with the per-process caches
(sunshine/caching.py, the working-day calendar) and Django's cache empty: the cost of a process's
first request (a warm process saves the calendar's 4 and the caches' 1–3 queries; a call that
checks what the caller may see reads the tree of units once: sunshine/accounts/units.py). A POST is
measured twice from the same state (rolled back in between), once with each data set.

Budgets are the same on SQLite and PostgreSQL unless the entry is a ``(sqlite, postgresql)`` pair.
Set ``BUDGETS_RECORD=file`` to write what the code costs instead of comparing (never in CI).

Elsewhere, with more rows of their own kind: the case page (tests/test_workbench_case.py,
2 or 12 stages), the desk queue (tests/test_workbench_desk_queue.py), the supervision pages
(tests/test_supervision_pages.py), the inbox (tests/test_notifications_inbox.py), the
follow-up pages (tests/test_feedback_pages.py), the statistics (tests/test_openinfo_statistics.py),
the report sections (tests/test_reports.py) and the sweep (tests/test_sweep.py).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sunshine import caching
from sunshine.calendar import workdays
from tests.conftest import intake_body
from tests.test_access_matrix import (
    API,
    NOT_STAFF_PAGES,
    NOW,
    PAGE_POSTS,
    PAGES,
    PUBLIC_PORTAL,
    _api_call,
    _build_world,
    _page_path,
    api_operations,
    staff_routes,
)

_RECORD = os.environ.get("BUDGETS_RECORD")

# Who makes each call: the first of these the matrix lets through (a 2xx, or a redirect that is
# not to sign-in); where nobody is (the public validation answers), the first of them.
PREFERENCE = ["admin", "leader", "auditor", "clerk", "alice", "engineer", "anonymous"]

# (sqlite, postgresql) where they differ: on PostgreSQL a change's rows are one statement
# (applications/writes.py, Batch) and the engine's lock is raw SQL, 3 fewer than on SQLite.
Budget = int | tuple[int, int]

# (method, OpenAPI path) -> queries.
API_BUDGETS: dict[tuple[str, str], Budget] = {
    ("GET", "/api/v1/applications"): 10,
    ("GET", "/api/v1/applications/{number}"): 9,
    ("GET", "/api/v1/applications/{number}/events"): 4,
    ("GET", "/api/v1/cases"): 3,  # scoped to the caller's units: the unit tree
    ("GET", "/api/v1/cases/{number}"): 4,  # the case's unit within the caller's: the unit tree
    ("GET", "/api/v1/evaluations/{period}"): 2,
    ("GET", "/api/v1/followups"): 3,  # scoped to the caller's units: the unit tree
    ("GET", "/api/v1/inbox"): 3,
    # find the row (1), the calendar (4), then build the answer: the application with its stages
    # and pauses in one statement (1), the process's stage templates (1, kept by the process);
    # an answer already kept costs the first query only (tests/test_lookup_cache.py)
    ("GET", "/api/v1/public/applications/{number}"): 7,
    ("POST", "/api/v1/public/applications/{number}/progress"): 7,
    ("GET", "/api/v1/public/audit-digests"): 1,
    # the feed: the page, its events, their applications (docs/integration.md)
    ("GET", "/api/v1/events"): 5,  # the unit tree (the caller's scope), cold in this test
    ("GET", "/api/v1/webhooks/subscriptions"): 5,  # +1 the units (filters)
    ("GET", "/api/v1/webhooks/subscriptions/{pk}"): 5,
    ("POST", "/api/v1/webhooks/subscriptions"): 11,
    ("POST", "/api/v1/webhooks/subscriptions/{pk}"): 12,
    # the world's intake event again (on both databases now: the body names its id, not 1): the
    # subscription with its units and areas, the feed item, the event's facts, the application's
    # later moves, the unit tree, the delivery written and reset, the audit row
    ("POST", "/api/v1/webhooks/subscriptions/{pk}/redeliveries"): 13,
    ("GET", "/api/v1/public/contractors"): 1,
    ("GET", "/api/v1/public/fees"): 4,
    ("GET", "/api/v1/public/fees/high-reliability"): 0,
    ("GET", "/api/v1/public/statistics"): 5,
    ("GET", "/api/v1/public/time-limits"): 2,
    ("GET", "/api/v1/reports"): 3,  # the reports of the caller's units: the unit tree (once per process)
    ("GET", "/api/v1/reports/{report_id}"): 3,  # the report's unit within the caller's: the unit tree
    ("GET", "/api/v1/satisfaction"): 2,
    ("GET", "/api/v1/supervisions"): 2,
    ("POST", "/api/v1/applications"): (20, 13),  # the answer is built from the rows in hand
    ("POST", "/api/v1/applications/{number}/cancel"): (18, 15),
    # the matrix posts valid bodies since the typed API: the charge is recorded (+1: its event is published)
    ("POST", "/api/v1/applications/{number}/charges"): 9,
    ("POST", "/api/v1/applications/{number}/contractor-choices"): 8,
    # a transition's stage templates are kept per process (writes.templates): +1 on PostgreSQL in
    # these counts, which start from cold caches (none while the process is warm)
    ("POST", "/api/v1/applications/{number}/pause"): (19, 17),
    ("POST", "/api/v1/applications/{number}/reassign"): (20, 17),  # +2: the running stage read and moved
    ("POST", "/api/v1/applications/{number}/resume"): (19, 16),
    ("POST", "/api/v1/applications/{number}/stages/{code}/complete"): (18, 16),
    ("POST", "/api/v1/applications/{number}/stages/{code}/skip"): (18, 16),
    # +1 since the webhooks: supervision_started is published, so the change writes an outbox entry
    ("POST", "/api/v1/applications/{number}/supervision"): (20, 19),
    # +1 since the webhooks: unit_moved is published, an outbox entry; -1: the unit written with
    # the rest of the row (one UPDATE, the queue stamps bumped once)
    ("POST", "/api/v1/applications/{number}/unit"): (16, 14),
    # the correction (the application and customer locked, both saved, the event) and the detail answered
    ("POST", "/api/v1/applications/{number}/contact"): (20, 19),
    ("GET", "/api/v1/units"): 2,  # the token, the tree
    ("POST", "/api/v1/auth/token"): 0,
    # valid bodies too; +1 each since the webhooks (case_decided, followup_attempt published: an outbox entry)
    ("POST", "/api/v1/cases/{number}/finding"): (15, 14),  # + the unit tree
    ("POST", "/api/v1/cases/{number}/notes"): 11,  # + the unit tree
    ("POST", "/api/v1/followups/{pk}/attempts"): (14, 13),  # + the call's unit: its row, the unit tree
    ("POST", "/api/v1/followups/{pk}/result"): 3,  # the call's unit first: its row, the unit tree
    ("POST", "/api/v1/inbox/read"): 3,
    ("POST", "/api/v1/public/applications"): 0,
    ("POST", "/api/v1/public/verification-codes"): 0,
}

# (method, route) -> queries; the public portal's and the sign-in routes' too.
PAGE_BUDGETS: dict[tuple[str, str], Budget] = {
    ("GET", "workbench/export.csv"): 4,  # not in the access matrix yet: called by the admin
    ("POST", "workbench/export.csv"): 4,
    ("GET", ""): 2,
    ("GET", "accounts/login/"): 0,
    ("GET", "accounts/login/code/"): 0,
    ("GET", "accounts/logout/"): 0,
    ("GET", "apply/"): 0,
    ("GET", "apply/check/"): 0,
    ("GET", "apply/code/"): 0,
    ("GET", "apply/submitted/"): 0,
    ("GET", "complaints/"): 0,
    ("GET", "complaints/code/"): 0,
    ("GET", "contractors/"): 1,
    ("GET", "fees/"): 4,
    ("GET", "i18n/setlang/"): 0,
    ("GET", "open-data/"): 1,
    ("GET", "open-data/<int:report_id>/"): 1,
    ("GET", "open-data/audit/"): 1,
    ("GET", "progress/"): 0,
    ("GET", "progress/contest/"): 0,
    ("GET", "progress/choices/"): 0,
    ("GET", "statistics/"): 6,  # +1 the unit tree of the unit selector (once per process)
    ("GET", "service-halls/"): 1,  # the unit tree (once per process)
    ("GET", "statistics/download.csv"): 6,  # +1 the unit tree of the unit selector (once per process)
    ("GET", "statistics/download.xlsx"): 6,  # +1 the unit tree of the unit selector (once per process)
    ("GET", "workbench/"): 14,
    ("GET", "workbench/applications/<str:number>/"): 17,  # built; kept: 2 (tests/test_kept_pages.py)
    ("GET", "workbench/applications/<str:number>/choices/"): 7,  # its own card: choices, units
    ("GET", "workbench/applications/<str:number>/documents/<int:document_id>/"): 6,
    ("GET", "workbench/cases/"): 5,
    ("GET", "workbench/cases/<str:number>/"): 6,
    ("GET", "workbench/cases/<str:number>/decide/"): 2,
    ("GET", "workbench/cases/<str:number>/note/"): 2,
    ("GET", "workbench/concentration/"): 5,
    ("GET", "workbench/dashboard/"): 16,  # + the units below the viewer's, one grouped statement
    ("GET", "workbench/evaluations/"): 4,
    ("GET", "workbench/evaluations/<str:period>/"): 3,
    ("GET", "workbench/evaluations/managers/<str:username>/"): 6,
    ("GET", "workbench/followups/"): 5,
    ("GET", "workbench/followups/<int:pk>/"): 6,
    ("GET", "workbench/followups/<int:pk>/attempt/"): 2,
    ("GET", "workbench/inbox/"): 4,
    ("GET", "workbench/intake/"): 4,  # + the document kinds of the "documents brought" checklist
    ("GET", "workbench/intake/<str:number>/receipt.pdf"): 12,
    ("GET", "workbench/intake/<str:number>/receipt/"): 13,
    ("GET", "workbench/intake/validate/"): 2,
    ("GET", "workbench/jobs/"): 15,  # the failed reports (1), the failed webhook deliveries (1)
    ("GET", "workbench/reassign/"): 10,
    ("GET", "workbench/security/"): 6,
    ("GET", "workbench/reports/"): 8,
    ("GET", "workbench/reports/<int:report_id>/"): 6,
    ("GET", "workbench/reports/<int:report_id>/download/<str:fmt>/"): 4,
    ("GET", "workbench/reports/<int:report_id>/publish/"): 2,
    ("GET", "workbench/reports/<int:report_id>/regenerate/"): 2,
    ("GET", "workbench/reports/<int:report_id>/status/"): 4,
    ("GET", "workbench/reports/adhoc/"): 2,
    # the unit's figures, its units ranked (one statement per figure); its stored report
    ("GET", "workbench/reports/units/"): 11,
    ("GET", "workbench/supervision/"): 5,
    ("GET", "workbench/supervision/<str:number>/"): 10,
    ("GET", "workbench/supervision/deadlines/"): 7,
    ("GET", "workbench/team/"): 15,
    ("GET", "workbench/visits/"): 8,
    ("GET", "workbench/visits/<int:pk>/"): 8,
    ("GET", "workbench/visits/<int:pk>/actions/<int:action_pk>/close/"): 2,
    ("POST", ""): 0,
    ("POST", "accounts/login/"): 0,
    ("POST", "accounts/login/code/"): 0,
    ("POST", "accounts/logout/"): 1,
    ("POST", "apply/"): 0,
    ("POST", "apply/check/"): 0,
    ("POST", "apply/code/"): 0,
    ("POST", "apply/submitted/"): 0,
    ("POST", "complaints/"): 0,
    ("POST", "complaints/code/"): 0,
    ("POST", "contractors/"): 0,
    ("POST", "fees/"): 0,
    ("POST", "i18n/setlang/"): 0,
    ("POST", "open-data/"): 0,
    ("POST", "open-data/<int:report_id>/"): 0,
    ("POST", "open-data/audit/"): 0,
    ("POST", "progress/"): 0,
    ("POST", "progress/contest/"): 0,
    ("POST", "progress/choices/"): 1,  # the look-up of the (empty) number
    ("POST", "statistics/"): 0,
    ("POST", "service-halls/"): 0,
    ("POST", "statistics/download.csv"): 0,
    ("POST", "statistics/download.xlsx"): 0,
    ("POST", "workbench/"): 14,
    ("POST", "workbench/applications/<str:number>/cancel/"): (12, 9),
    ("POST", "workbench/applications/<str:number>/choices/"): 7,
    # +1 on PostgreSQL from cold caches: the stage templates (writes.templates), as in the API
    ("POST", "workbench/applications/<str:number>/complete/"): (17, 15),
    # 更正客户联系方式 (its event is published: an outbox entry)
    ("POST", "workbench/applications/<str:number>/contact/"): (14, 13),
    ("POST", "workbench/applications/<str:number>/documents/received/"): 17,
    ("POST", "workbench/applications/<str:number>/documents/upload/"): 19,
    ("POST", "workbench/applications/<str:number>/documents/waive/"): 17,
    ("POST", "workbench/applications/<str:number>/pause/"): (14, 12),
    ("POST", "workbench/applications/<str:number>/reassign/"): (15, 12),  # as the API
    ("POST", "workbench/applications/<str:number>/resume/"): (18, 15),
    ("POST", "workbench/applications/<str:number>/reveal/<str:field>/"): 22,
    ("POST", "workbench/applications/<str:number>/skip/"): (12, 10),
    ("POST", "workbench/cases/"): 5,
    ("POST", "workbench/cases/<str:number>/"): 6,
    ("POST", "workbench/cases/<str:number>/decide/"): 6,
    ("POST", "workbench/cases/<str:number>/note/"): 5,
    ("POST", "workbench/concentration/"): 3,
    ("POST", "workbench/dashboard/"): 16,
    ("POST", "workbench/evaluations/"): 2,
    ("POST", "workbench/evaluations/<str:period>/"): 3,
    ("POST", "workbench/evaluations/managers/<str:username>/"): 2,
    ("POST", "workbench/followups/"): 5,
    ("POST", "workbench/followups/<int:pk>/"): 6,
    ("POST", "workbench/followups/<int:pk>/attempt/"): 5,  # + the unit tree (who may work the call)
    ("POST", "workbench/inbox/"): 4,
    ("POST", "workbench/inbox/<int:pk>/read/"): 3,
    ("POST", "workbench/inbox/read-all/"): 3,
    ("POST", "workbench/intake/"): 4,  # + the document kinds of the "documents brought" checklist
    ("POST", "workbench/intake/<str:number>/receipt.pdf"): 12,
    ("POST", "workbench/intake/<str:number>/receipt/"): 13,
    ("POST", "workbench/intake/validate/"): 4,  # posts an ID number: the duplicate look-up (1)
    ("POST", "workbench/jobs/"): 15,
    ("POST", "workbench/jobs/<str:result_id>/retry/"): 2,
    ("POST", "workbench/jobs/messages/<int:pk>/retry/"): 6,
    ("POST", "workbench/jobs/webhooks/<int:pk>/retry/"): 6,  # an unknown delivery: as a message
    ("POST", "workbench/reassign/"): 10,
    ("POST", "workbench/security/"): 6,
    ("POST", "workbench/reports/"): 2,
    ("POST", "workbench/reports/<int:report_id>/"): 2,
    ("POST", "workbench/reports/<int:report_id>/download/<str:fmt>/"): 2,
    ("POST", "workbench/reports/<int:report_id>/publish/"): 8,
    ("POST", "workbench/reports/<int:report_id>/regenerate/"): 4,
    ("POST", "workbench/reports/<int:report_id>/status/"): 2,
    ("POST", "workbench/reports/adhoc/"): 8,
    ("POST", "workbench/reports/units/"): 2,
    ("POST", "workbench/supervision/"): 3,
    ("POST", "workbench/supervision/<str:number>/"): 15,
    ("POST", "workbench/supervision/deadlines/"): 7,
    ("POST", "workbench/team/"): 15,
    ("POST", "workbench/visits/"): 8,
    ("POST", "workbench/visits/<int:pk>/"): 8,
    ("POST", "workbench/visits/<int:pk>/actions/<int:action_pk>/close/"): 4,  # + the action of the visit, the tree
}

PUBLIC_ROUTES = sorted(PUBLIC_PORTAL | NOT_STAFF_PAGES)


def page_keys() -> set[tuple[str, str]]:
    """The matrix's staff pages, the public ones and any staff route the matrix lacks yet (called
    by the admin)."""
    covered = {r for _, r in PAGES}
    missing = {(m, r) for r in staff_routes() - covered for m in ("GET", "POST")}
    return set(PAGES) | missing | {(m, r) for r in PUBLIC_ROUTES for m in ("GET", "POST")}


def _send(client: Client, method: str, path: str, **kwargs: Any) -> int:
    """The status, after reading the whole body (a streamed export runs its queries then)."""
    r = client.get(path, **kwargs) if method == "GET" else client.post(path, **kwargs)
    if r.streaming:
        b"".join(r.streaming_content)
    return r.status_code


def test_every_endpoint_has_a_budget():
    """A new API operation or page fails here until its budget is written above."""
    assert sorted(api_operations() - set(API_BUDGETS)) == []
    assert sorted(set(API_BUDGETS) - api_operations()) == []
    routes = {r for _, r in page_keys()}
    assert sorted(staff_routes() - routes) == []
    assert sorted(page_keys() - set(PAGE_BUDGETS)) == []
    assert sorted(set(PAGE_BUDGETS) - page_keys()) == []


# --- the world ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    traveller = time_machine.travel(NOW, tick=False)
    traveller.start()
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield _build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            traveller.stop()


@pytest.fixture(autouse=True)
def _reactions_after_commit(settings):
    """Budgets are what a request costs in production: the change's own transaction, with its
    outbox entry; the reactions run later in a worker (measured apart, below). The world itself
    was built with its reactions run (module fixture, eager mode)."""
    settings.SUNSHINE_REACTIONS = "worker"


def more_rows(world: dict[str, Any], n: int = 10) -> None:
    """``n`` more of alice's applications: half past the survey, one paused, each with its
    events, rung moments and messages (their reactions run as a worker would run them)."""
    from sunshine.applications import outbox, services
    from sunshine.applications.validation import validate_intake

    clerk, admin = world["users"]["clerk"], world["users"]["admin"]
    today = timezone.localdate()
    for i in range(n):
        body = intake_body(
            customer__name=f"客户{i}",
            customer__id_number=_rid(500 + i),
            customer__phone=f"1390000{i:04d}",
            address=f"太原市晋源区晋祠路{i + 10}号",
        )
        number = services.intake(validate_intake(body, today), clerk).application.number
        if i % 2:
            services.complete_stage(number, "survey", admin)
        elif i == 4:
            services.pause(number, admin, reason_code="customer_request", reason="客户要求")
    outbox.drain()


def _rid(i: int) -> str:
    from sunshine.applications.validation import resident_id_check_character

    first17 = f"11010519491231{i:03d}"
    return first17 + resident_id_check_character(first17)


def _persona(expected: dict[str, int]) -> str:
    for name in PREFERENCE:
        if 200 <= expected[name] < 300 or (expected[name] == 302 and name != "anonymous"):
            return name
    return PREFERENCE[0]


def _count(call: Any) -> tuple[int, int]:
    caching.clear_all()
    cache.clear()
    workdays.invalidate()
    with CaptureQueriesContext(connection) as ctx:
        status = call()
    return len(ctx.captured_queries), status


def _measure(world: dict[str, Any], call: Any) -> tuple[int, int, int, int]:
    """Queries and status with the matrix world, then with ``more_rows`` added, from the same
    state each time (savepoints rolled back)."""
    sid = transaction.savepoint()
    small, s1 = _count(call)
    transaction.savepoint_rollback(sid)
    sid = transaction.savepoint()
    more_rows(world)
    large, s2 = _count(call)
    transaction.savepoint_rollback(sid)
    return small, large, s1, s2


def _budget(value: Budget) -> int:
    if isinstance(value, tuple):
        return value[1] if connection.vendor == "postgresql" else value[0]
    return value


def _check(kind: str, key: tuple[str, str], small: int, large: int, status: int, expected: int) -> None:
    if _RECORD:
        with open(_RECORD, "a") as f:
            f.write(json.dumps([kind, key[0], key[1], connection.vendor, small, large, status]) + "\n")
        return
    table = API_BUDGETS if kind == "api" else PAGE_BUDGETS
    assert status == expected, (key, status)
    assert (small, large) == (_budget(table[key]), _budget(table[key])), key


@pytest.mark.django_db
@pytest.mark.parametrize("operation", sorted(API), ids=lambda op: f"{op[0]} {op[1]}")
def test_api_budget(world, operation):
    method, template = operation
    persona = _persona(API[operation])
    path, query, body = _api_call(world, method, template)
    headers = {}
    if persona != "anonymous":
        headers["HTTP_AUTHORIZATION"] = "Bearer " + world["tokens"][persona]
    client = Client()

    def call() -> int:
        if method == "GET":
            return _send(client, "GET", path, data=query, **headers)
        data = json.dumps(body, ensure_ascii=False)
        return _send(client, "POST", path, data=data, content_type="application/json", **headers)

    small, large, s1, s2 = _measure(world, call)
    assert s1 == s2, (operation, s1, s2)
    _check("api", operation, small, large, s1, API[operation][persona])


@pytest.mark.django_db
@pytest.mark.parametrize("page", sorted(page_keys()), ids=lambda p: f"{p[0]} /{p[1]}")
def test_page_budget(world, page):
    method, route = page
    expected: int | None = None
    client = Client()
    if page in PAGES:
        persona = _persona(PAGES[page])
        expected = PAGES[page][persona]
        if persona != "anonymous":
            client.force_login(world["users"][persona])
        path = _page_path(world, route)
    elif route.startswith("workbench/"):  # a staff page the matrix has no row for yet
        client.force_login(world["users"]["admin"])
        path = _page_path(world, route)
    else:
        path = "/" + route.replace("<int:report_id>", "999999")

    def call() -> int:
        if method == "GET":
            return _send(client, "GET", path)
        return _send(client, "POST", path, data=PAGE_POSTS.get(route, {}))

    small, large, s1, s2 = _measure(world, call)
    assert s1 == s2, (page, s1, s2)
    _check("page", page, small, large, s1, s1 if expected is None else expected)


# --- the engine's hot paths in a warm process ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [0, 10])
def test_intake_and_a_transition_cost_a_fixed_number_of_queries_in_a_warm_process(world, extra):
    """What ``make bench`` times, inside the test's transaction (a savepoint and its release
    instead of BEGIN and COMMIT), in production's mode: the change commits its outbox entry and a
    worker runs the reactions after it (counted apart).

    intake on SQLite: customer look-up and insert (3 with the savepoint of get_or_create),
    manager, the application, its stages, its audit head, its events, the outbox entry, the
    manager's open count (plus the savepoint and its release: 13). On PostgreSQL: the customer
    (inserted unless it exists, with the duplicate check) and the manager with the application's
    key as one statement (writes.intake_rows), then everything else as one statement
    (writes.Batch): 4.
    complete_stage on SQLite: lock (with the manager), stages, the 2 stages in one UPDATE, the
    application (with the audit head), events, the outbox entry (plus the savepoint and its
    release: 8). On PostgreSQL: lock, stages, one statement for the rest: 5.
    The worker's batch for that transition: claim, events, stages, the reaction savepoint and its
    release, supervision look-up, old moments dropped, new ones, 1 message, the entry deleted
    (no marks to delete: it never failed), in a savepoint of its own; and the webhooks' publication (the feed counter
    locked, the unpublished events, the feed items, the counter, the subscriptions and their areas:
    6 more, docs/integration.md)."""
    from sunshine.applications import outbox, services
    from sunshine.applications.validation import validate_intake

    clerk, admin = world["users"]["clerk"], world["users"]["admin"]
    if extra:
        more_rows(world, extra)
    today = timezone.localdate()
    warm = intake_body(customer__id_number=_rid(700), address="太原市晋源区晋祠路70号")
    services.complete_stage(services.intake(validate_intake(warm, today), clerk).application.number, "survey", admin)
    body = intake_body(customer__id_number=_rid(701), address="太原市晋源区晋祠路71号")
    with CaptureQueriesContext(connection) as ctx:
        number = services.intake(validate_intake(body, today), clerk).application.number
    postgres = connection.vendor == "postgresql"
    assert len(ctx.captured_queries) == (4 if postgres else 13)
    outbox.drain()
    with CaptureQueriesContext(connection) as ctx:
        services.complete_stage(number, "survey", admin)
    assert len(ctx.captured_queries) == (5 if postgres else 8)
    with CaptureQueriesContext(connection) as ctx:
        assert outbox.drain() == outbox.Drained(entries=1)
    assert len(ctx.captured_queries) == 19
