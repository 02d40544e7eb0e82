"""Benchmark of the deadline sweep on PostgreSQL (standalone; not part of the test suite).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sweep_bench uv run python bench/sweep.py --applications 1000000

1. Migrates the database and tops it up to ``--applications`` with ``manage.py generate_load``.
2. Stores (tops up, on every run) four rung moments per running utility stage of an open
   application with one SQL statement (due_soon/due_today/overdue/overdue_3 around the stored deadline, calendar days,
   which is enough for a load test); moments before now count as fired (history). The
   unfired backlog is what a sweep must *not* read.
3. For each scenario (0, 1,000 and 10,000 due rungs) re-arms that many moments of running
   stages (fired or not) one minute ago, then times one full sweep (claim, timeline event, outbox rows per
   recipient), and prints a table with the sweep's time, its queries and the plan of the
   selection query (it must use the partial index ``rung_moment_unfired_due``).
   After each scenario a ``BENCH_JSON {…}`` line carries its figures (and the time of the
   sweep's selection as one raw SQL statement, the baseline of the empty sweep) for
   ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sunshine.settings")

MOMENTS_SQL = """
INSERT INTO supervision_rungmoment (stage_id, rung_code, due_at, deadline, fired_at)
SELECT s.id, r.code,
       ((s.deadline + r.days) + time '08:30') AT TIME ZONE 'Asia/Shanghai',
       s.deadline,
       CASE WHEN ((s.deadline + r.days) + time '08:30') AT TIME ZONE 'Asia/Shanghai' < %(now)s
            THEN ((s.deadline + r.days) + time '08:30') AT TIME ZONE 'Asia/Shanghai' END
FROM applications_stageinstance s
JOIN applications_application a ON a.id = s.application_id
CROSS JOIN (VALUES ('due_soon', -1), ('due_today', 0), ('overdue', 1), ('overdue_3', 3)) AS r(code, days)
WHERE s.status = 'in_progress' AND s.owner = 'utility' AND s.deadline IS NOT NULL
  AND a.status = 'in_progress'
ON CONFLICT DO NOTHING
"""

# Any rung moment of a running stage of an open application that is not due now, fired before
# (history, or by an earlier run of this benchmark) or not: re-armed one minute ago. So every run
# has its 1,000 and 10,000 due rungs as long as the running stages have that many moments.
MAKE_DUE_SQL = """
UPDATE supervision_rungmoment SET due_at = %(due)s, fired_at = NULL
WHERE id IN (
    SELECT m.id FROM supervision_rungmoment m
    JOIN applications_stageinstance s ON s.id = m.stage_id
    JOIN applications_application a ON a.id = s.application_id
    WHERE NOT (m.fired_at IS NULL AND m.due_at <= %(due)s)
      AND s.status = 'in_progress' AND a.status = 'in_progress'
    ORDER BY m.id LIMIT %(n)s
)
"""


class QueryCounter:
    """Counts the queries a sweep runs (no cap, unlike the debug query log)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.n += 1
        return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", type=int, default=1_000_000, help="total applications in the database")
    parser.add_argument("--due", default="0,1000,10000", help="due rungs per scenario, comma-separated")
    parser.add_argument("--batch-size", type=int, default=None, help="sweep batch (default SUNSHINE_SWEEP_BATCH)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.utils import timezone

    from sunshine.applications.models import Application, StageInstance
    from sunshine.notifications.models import Message
    from sunshine.supervision.models import RungMoment
    from sunshine.supervision.services import sweep

    if connection.vendor != "postgresql":
        sys.exit("bench/sweep.py needs PostgreSQL: set DATABASE_URL=postgres://…")
    call_command("migrate", verbosity=0)
    have = Application.objects.count()
    if have < args.applications:
        print(f"generate_load: {have:,} applications present, adding {args.applications - have:,} …", flush=True)
        call_command("generate_load", applications=args.applications - have, stdout=sys.stdout)
    now = timezone.now()
    # Every run: moments for the running stages that have none yet (ON CONFLICT DO NOTHING).
    t0 = time.monotonic()
    with connection.cursor() as cur:
        cur.execute(MOMENTS_SQL, {"now": now})
        cur.execute("ANALYZE supervision_rungmoment")
    print(f"{RungMoment.objects.count():,} rung moments stored, topped up in {time.monotonic() - t0:.1f}s", flush=True)
    # the "history" that became due since the last run, so the first scenario really has 0 due
    RungMoment.objects.filter(fired_at__isnull=True, due_at__lte=now).update(fired_at=now)

    total = Application.objects.count()
    open_apps = Application.objects.filter(status__in=["in_progress", "paused"]).count()
    running = StageInstance.objects.filter(status="in_progress", owner="utility").count()
    backlog = RungMoment.objects.filter(fired_at__isnull=True).count()
    print()
    print(f"applications: {total:,}  open: {open_apps:,}  running utility stages: {running:,}")
    print(f"unfired rung moments (not due): {backlog:,}")
    print()
    header = f"{'due rungs':>10} {'fired':>7} {'sweep s':>9} {'ms/rung':>8} {'queries':>8} {'messages':>9}"
    print(header)
    print("-" * len(header))
    plans = []
    for n in [int(x) for x in args.due.split(",")]:
        now = timezone.now()
        due = now - timezone.timedelta(minutes=1)
        with connection.cursor() as cur:
            cur.execute(MAKE_DUE_SQL, {"due": due, "n": n})
            cur.execute("ANALYZE supervision_rungmoment")
        before = Message.objects.count()
        reset_queries()
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            t0 = time.perf_counter()
            fired = sweep(now=now, batch_size=args.batch_size)
            elapsed = time.perf_counter() - t0
        messages = Message.objects.count() - before
        per = elapsed / len(fired) * 1000 if fired else 0.0
        print(f"{n:>10,} {len(fired):>7,} {elapsed:>9.3f} {per:>8.2f} {counter.n:>8,} {messages:>9,}")
        # The baseline of an empty sweep: the same selection as one raw SQL statement.
        with connection.cursor() as cur:
            t0 = time.perf_counter()
            cur.execute(
                "SELECT id FROM supervision_rungmoment WHERE fired_at IS NULL AND due_at <= %s "
                "ORDER BY due_at, id LIMIT 200",
                [now],
            )
            cur.fetchall()
            select_s = time.perf_counter() - t0
        record = {
            "due": n,
            "fired": len(fired),
            "seconds": round(elapsed, 4),
            "ms_per_rung": round(per, 3),
            "queries": counter.n,
            "messages": messages,
            "raw_selection_s": round(select_s, 5),
        }
        print("BENCH_JSON " + json.dumps(record), flush=True)  # read by bench/run.py
        with connection.cursor() as cur:
            cur.execute(
                "EXPLAIN SELECT id FROM supervision_rungmoment WHERE fired_at IS NULL AND due_at <= %s "
                "ORDER BY due_at, id LIMIT 200",
                [now],
            )
            plans.append((n, [row[0] for row in cur.fetchall()]))
    print()
    for n, plan in plans[:1]:
        print(f"plan of the sweep's selection ({n} due):")
        for line in plan:
            print("   ", line)


if __name__ == "__main__":
    main()
