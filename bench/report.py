"""Benchmark: generate the half-monthly report on a large PostgreSQL data set (not in the suite).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reports_bench \
        uv run python bench/report.py --load 1000000 --period 2026-11-01

``--load N`` first fills the database with ``manage.py generate_load --applications N`` (skip it
when the data is already there). Prints the time and the SQL queries of computing the sections
(no files), then of the whole generation (sections, .xlsx and .pdf), and the slowest queries.
The point: the number of queries does not grow with the number of applications (aggregates,
not Python loops over rows). The last line, ``BENCH_JSON {…}``, carries the figures and the
baseline (a raw COUNT over the same period) for ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sunshine.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load", type=int, default=0, help="generate_load this many applications first")
    parser.add_argument("--period", default=None, help="first day of the half-month (default: the current one)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from sunshine.applications.models import Application, StageInstance
    from sunshine.reports.sections import Computer
    from sunshine.reports.services import half_month_of

    if args.load:
        call_command("migrate", verbosity=0)
        t = time.perf_counter()
        call_command("generate_load", applications=args.load)
        print(f"generate_load {args.load:,}: {time.perf_counter() - t:.1f}s")
    from django.utils import timezone

    start = date.fromisoformat(args.period) if args.period else half_month_of(timezone.localdate())[0]
    start, end = half_month_of(start)
    print(
        f"database: {connection.vendor}; applications: {Application.objects.count():,}; "
        f"stage instances: {StageInstance.objects.count():,}; period {start} – {end}"
    )
    best = None
    for i in range(args.repeat):
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            data = Computer(start, end).compute()
            took = time.perf_counter() - t
        best = took if best is None else min(best, took)
        print(f"run {i + 1}: sections in {took:.2f}s with {len(ctx.captured_queries)} SQL queries")
    print(f"best: {best:.2f}s")
    # The baseline: a raw COUNT over the same period (applications accepted, completed) in one statement.
    from datetime import datetime, timedelta
    from datetime import time as dtime

    tz = timezone.get_default_timezone()
    lo = datetime.combine(start, dtime(0), tzinfo=tz)
    hi = datetime.combine(end + timedelta(days=1), dtime(0), tzinfo=tz)
    with connection.cursor() as cur:
        t = time.perf_counter()
        cur.execute(
            "SELECT count(*) FILTER (WHERE accepted_at >= %s AND accepted_at < %s), "
            "count(*) FILTER (WHERE completed_at >= %s AND completed_at < %s) FROM applications_application "
            "WHERE (accepted_at >= %s AND accepted_at < %s) OR (completed_at >= %s AND completed_at < %s)",
            [lo, hi] * 4,
        )
        accepted, completed = cur.fetchone()
        raw_count_s = time.perf_counter() - t
    print(f"raw COUNT over the period: {raw_count_s:.3f}s ({accepted:,} accepted, {completed:,} completed)")
    slow = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:5]
    for q in slow:
        print(f"  {float(q['time']):7.3f}s  {q['sql'][:140]}…")
    headline = next(s for s in data["sections"] if s["key"] == "headline")
    for row in headline["rows"]:
        print("  ", row)

    import tempfile

    from sunshine.reports import pdf, xlsx

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        xlsx.write(data, Path(tmp) / "r.xlsx")
        pdf.write(data, Path(tmp) / "r.pdf")
        files_s = time.perf_counter() - t
        print(f"files (xlsx + pdf): {files_s:.2f}s")
    record = {
        "period": [start.isoformat(), end.isoformat()],
        "sections_s": round(best or 0.0, 4),
        "queries": len(ctx.captured_queries),
        "files_s": round(files_s, 3),
        "raw_count_s": round(raw_count_s, 5),
        "accepted": accepted,
        "completed": completed,
    }
    print("BENCH_JSON " + json.dumps(record), flush=True)  # read by bench/run.py


if __name__ == "__main__":
    main()
