"""Statistics on generated load: the aggregates equal a brute-force computation from the
application API's own numbers, and the page costs the same queries (none on applications) with
six applications or two thousand. Timings are printed (pytest -s) as the benchmark."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from sunshine.applications import selectors
from sunshine.applications.models import Application, Status
from sunshine.metrics.selectors import statistics
from sunshine.metrics.services import refresh

NOW = datetime(2026, 11, 27, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
N = 2000


@pytest.fixture(autouse=True)
def _chinese():
    with translation.override("zh-hans"):
        yield


def brute_force(from_date: date, to_date: date) -> dict[str, dict[str, object]]:
    """Per category, straight from every application's API body (the slow way)."""
    acc: dict[str, dict[str, list]] = defaultdict(lambda: {"accepted": [], "wd": [], "cd": [], "on_time": []})
    apps = Application.objects.select_related("customer", "customer_manager", "process")
    for app in apps:
        accepted_on = timezone.localdate(app.accepted_at)
        if from_date <= accepted_on <= to_date:
            acc[app.category]["accepted"].append(app.pk)
        if app.status != Status.COMPLETED:
            continue
        completed_on = timezone.localdate(app.completed_at)
        if not (from_date <= completed_on <= to_date):
            continue
        body = selectors.application_detail(app)
        acc[app.category]["wd"].append(body["utility_working_days"])
        acc[app.category]["cd"].append((completed_on - accepted_on).days)
        acc[app.category]["on_time"].append(body["on_time"])
    out = {}
    for cat, a in acc.items():
        n = len(a["wd"])
        out[cat] = {
            "accepted": len(a["accepted"]),
            "completed": n,
            "on_time": sum(1 for x in a["on_time"] if x),
            "average_working_days": (Decimal(sum(a["wd"])) / n).quantize(Decimal("0.01"), ROUND_HALF_UP) if n else None,
            "average_calendar_days": (Decimal(sum(a["cd"])) / n).quantize(Decimal("0.01"), ROUND_HALF_UP)
            if n
            else None,
        }
    return out


@pytest.mark.django_db
def test_aggregates_equal_brute_force_and_the_page_never_scans_applications():
    with time_machine.travel(NOW, tick=False):
        call_command("generate_load", applications=N, seed=7, batch_size=500, managers=5, stdout=StringIO())
        t0 = time.perf_counter()
        refresh()
        refresh_seconds = time.perf_counter() - t0
        first, last = date(2026, 1, 1), date(2026, 11, 27)
        expected = brute_force(first, last)
        result = statistics(first, last)
        assert sum(v["completed"] for v in expected.values()) > N // 4  # the load has many completions
        for block in result["categories"]:
            want = expected.get(block["category"])
            if want is None:
                assert block["accepted"] == 0
                continue
            got = {k: block[k] for k in want}
            assert got == want, block["category"]
        cache.clear()  # the page's first view computes from the aggregate tables
        client = Client()
        params = {"from_date": first.isoformat(), "to_date": last.isoformat()}
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            r = client.get("/statistics/", params)
            cold = time.perf_counter() - t0
        assert r.status_code == 200
        sql = [q["sql"] for q in ctx.captured_queries]
        assert len(sql) == 6 and not any("applications_" in s for s in sql), sql
        cache.clear()
        t0 = time.perf_counter()
        client.get("/statistics/", params)
        cold2 = time.perf_counter() - t0
        cache.clear()
        t0 = time.perf_counter()
        statistics(first, last)
        selector = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(20):
            client.get("/statistics/", params)
        warm = (time.perf_counter() - t0) / 20
    print(
        f"\n{N} applications: refresh {refresh_seconds:.2f} s; page first view {cold * 1000:.0f} ms, "
        f"again uncached {cold2 * 1000:.0f} ms (selector alone {selector * 1000:.0f} ms), cached {warm * 1000:.1f} ms"
    )
