"""Benchmark: the province's reports on a large PostgreSQL data set (issue 19; not in the suite).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/province_bench uv run python bench/province.py

Run by ``make bench`` (bench/run.py) as an extra, after ``generate_load`` spread the data over
山西's 11 cities and 117 counties (sunshine/ops/province.py). For the last finished half-month it
measures, in this process (best of ``--repeat``, wall and CPU seconds, SQL statements):

- ``city_report``: 太原's half-month report (``reports.sections.Computer(unit=ty).compute()``:
  every section, with the ranking of its counties), and the city's unit page (its figures and
  the ranking of its counties, what ``/workbench/reports/units/?unit=ty`` computes);
- ``province_ranking``: the province's ranking of all its counties
  (``Computer().unit_figures("county")``);
- ``county_queue_sql``: the raw SQL of a county leader's work queue (the county's open
  applications: count, and the first page by deadline), the baseline of the HTTP figure.

Each against a raw SQL baseline in the same run: one grouped statement counting, per county of
the city (of the province), the applications accepted and completed in the period. The last
line, ``BENCH_JSON {…}``, carries the records for ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sunshine.settings")

CITY = "ty"
COUNTY = "ty-yingze"  # the county of bench/run.py's measured staff (load_mgr012, leader.ty-yingze)


def best_of(repeat: int, fn: Callable[[], Any]) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    wall: list[float] = []
    cpu: list[float] = []
    queries = 0
    result = None
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            t, c = time.perf_counter(), time.process_time()
            result = fn()
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        queries = len(ctx.captured_queries)
    return {"seconds": round(min(wall), 4), "cpu_s": round(min(cpu), 4), "queries": queries, "result": result}


def raw_ranking(start_dt: Any, end_dt: Any, prefix: str) -> Callable[[], list[tuple[Any, ...]]]:
    """Per county below ``prefix`` (a unit path): applications accepted and completed in the
    period, one statement (what the ranking's volume columns would cost in bare SQL)."""
    from django.db import connection

    sql = (
        "SELECT c.code, count(*) FILTER (WHERE a.accepted_at >= %s AND a.accepted_at < %s), "
        "count(*) FILTER (WHERE a.completed_at >= %s AND a.completed_at < %s) "
        "FROM applications_application a JOIN accounts_unit u ON u.id = a.unit_id "
        "JOIN accounts_unit c ON c.kind = 'county' AND u.path LIKE c.path || '%%' "
        "WHERE c.path LIKE %s AND ((a.accepted_at >= %s AND a.accepted_at < %s) "
        "OR (a.completed_at >= %s AND a.completed_at < %s)) GROUP BY c.code"
    )

    def run() -> list[tuple[Any, ...]]:
        with connection.cursor() as cur:
            cur.execute(sql, [start_dt, end_dt, start_dt, end_dt, prefix + "%", start_dt, end_dt, start_dt, end_dt])
            return cur.fetchall()

    return run


def raw_queue(unit_ids: list[int]) -> Callable[[], tuple[int, list[Any]]]:
    from django.db import connection

    count_sql = (
        "SELECT count(*) FROM applications_application WHERE unit_id = ANY(%s) AND status IN ('in_progress', 'paused')"
    )
    page_sql = (
        "SELECT a.number, a.customer_name, a.status, s.deadline FROM applications_application a "
        "LEFT JOIN applications_stageinstance s ON s.application_id = a.id AND s.status IN ('in_progress', 'paused') "
        "AND s.owner = 'utility' WHERE a.unit_id = ANY(%s) AND a.status IN ('in_progress', 'paused') "
        "ORDER BY (a.status = 'paused'), s.deadline NULLS LAST, a.accepted_at, a.id LIMIT 50"
    )

    def run() -> tuple[int, list[Any]]:
        with connection.cursor() as cur:
            cur.execute(count_sql, [unit_ids])
            n = cur.fetchone()[0]
            cur.execute(page_sql, [unit_ids])
            return n, cur.fetchall()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--period", default=None, help="first day of the half-month (default: the last finished one)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from datetime import date, timedelta

    from django.utils import timezone

    from sunshine.accounts import units
    from sunshine.applications.models import Application
    from sunshine.reports import services
    from sunshine.reports.sections import Computer, local_bounds

    tree = units.tree()
    city, county = tree.by_code(CITY), tree.by_code(COUNTY)
    if city is None or county is None or tree.top is None:
        raise SystemExit("no province in this database: run manage.py generate_load first (sunshine/ops/province.py)")
    if args.period:
        start, end = services.half_month_of(date.fromisoformat(args.period))
    else:
        current, _ = services.half_month_of(timezone.localdate())
        start, end = services.half_month_of(current - timedelta(days=1))
    start_dt, end_dt = local_bounds(start, end)
    top_path = tree.path(tree.top) or "/"
    print(f"applications: {Application.objects.count():,}; units: {len(tree.nodes)}; period {start} – {end}")
    records: dict[str, Any] = {"period": [start.isoformat(), end.isoformat()]}

    def city_page() -> list[dict[str, Any]]:
        c = Computer(start, end, {"unit": CITY})
        c._headline_values(start, end)
        return c.unit_figures()

    steps: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("city_page", city_page, raw_ranking(start_dt, end_dt, city.path)),
        (
            "city_report",
            lambda: Computer(start, end, {"unit": CITY}).compute(),
            raw_ranking(start_dt, end_dt, city.path),
        ),
        (
            "province_ranking",
            lambda: Computer(start, end).unit_figures("county"),
            raw_ranking(start_dt, end_dt, top_path),
        ),
        ("county_queue_sql", raw_queue(tree.below(county.id)), raw_queue(tree.below(county.id))),
    ]
    for name, fn, raw in steps:
        got = best_of(args.repeat, fn)
        base = best_of(args.repeat, raw)
        result = got.pop("result")
        base.pop("result")
        rec = {**got, "raw_s": base["seconds"], "raw_cpu_s": base["cpu_s"]}
        if name == "province_ranking" or name == "city_page":
            rec["units_ranked"] = len(result)
            rec["first"] = result[0]["name"] if result else None
        if name == "county_queue_sql":
            rec["open"] = result[0]
        records[name] = rec
        print(
            f"{name}: {rec['seconds']:.3f}s (CPU {rec['cpu_s']:.3f}s, {rec['queries']} queries) "
            f"vs raw SQL {rec['raw_s']:.3f}s"
            + (f"; {rec['units_ranked']} units ranked, first {rec['first']}" if "units_ranked" in rec else "")
        )
    print("BENCH_JSON " + json.dumps(records, ensure_ascii=False), flush=True)  # read by bench/run.py


if __name__ == "__main__":
    main()
