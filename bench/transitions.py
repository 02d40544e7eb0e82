"""The transition and reactions-drain step of ``make bench`` alone, with CPU figures (docs/bench.md).

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/trans_bench \
        uv run python bench/transitions.py [--n 400] [--profile]

Uses a data set ``make bench`` made (``bench_clerk`` must exist). For each of ``--n`` fresh
applications (intake not timed) one ``services.complete_stage`` in worker mode, then one drain of
their outbox entries, as ``bench/run.py``'s ``transitions()`` does. Prints, besides the wall-clock
rates (meaningless on a loaded machine but for their ratio to the raw baseline measured in the
same process), what stays meaningful under load: **CPU time per call** of this process
(``time.process_time``), the statements per call, Python function calls per call (cProfile), and
with ``--profile`` the functions where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run


def _fresh(clerk: Any, n: int) -> list[tuple[str, str, str | None]]:
    from django.utils import timezone

    from sunshine.applications import services
    from sunshine.applications.models import StageInstance
    from sunshine.applications.validation import validate_intake

    today = timezone.localdate()
    bodies = [json.loads(b.replace("@N@", f"P{i}-{time.time_ns()}")) for i, b in enumerate(run.intake_bodies(n))]
    numbers = [services.intake(validate_intake(b, today), clerk).application.number for b in bodies]
    todo = []
    for number in numbers:
        st = (
            StageInstance.objects.select_related("template")
            .filter(application__number=number, status="in_progress")
            .order_by("seq")
            .first()
        )
        if st is not None:
            todo.append((number, st.code, "passed" if st.template.has_outcome else None))
    return todo


def _raw(m: int = 2000) -> tuple[float, float]:
    import psycopg

    with psycopg.connect(run.DB_URL) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_case (id bigint PRIMARY KEY, status text NOT NULL, "
            "updated_at timestamptz NOT NULL)"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_audit (id bigserial PRIMARY KEY, case_id bigint NOT NULL, "
            "kind text NOT NULL, at timestamptz NOT NULL)"
        )
        conn.execute("TRUNCATE bench_case, bench_audit")
        conn.execute("INSERT INTO bench_case SELECT g, 'open', now() FROM generate_series(1, 10000) g")
        conn.commit()
        t, c = time.perf_counter(), time.process_time()
        for i in range(m):
            with conn.transaction():
                conn.execute("UPDATE bench_case SET status = %s, updated_at = now() WHERE id = %s", ["done", i + 1])
                conn.execute("INSERT INTO bench_audit (case_id, kind, at) VALUES (%s, 'completed', now())", [i + 1])
        return m / (time.perf_counter() - t), (time.process_time() - c) / m


def _explain(todo: list[tuple[str, str, str | None]], clerk: Any) -> None:
    """The server's side of a transition: each call runs in an outer transaction that is rolled
    back (so the applications stay fresh for the timed calls); its ``WITH …`` statement is first
    run under ``EXPLAIN (ANALYZE, BUFFERS, WAL)`` in a savepoint rolled back, then for real.
    Prints the first plan and the mean execution time, WAL records and bytes."""
    from django.db import connection, transaction

    from sunshine.applications import services, writes

    plans: list[dict[str, Any]] = []

    def explain(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        body = sql.removeprefix(writes.STAMPED)
        if body.startswith("WITH p0"):
            mark = sql[: len(sql) - len(body)]  # first, as in the statement: the triggers skip it
            with connection.connection.cursor() as c:
                c.execute("SAVEPOINT bench_explain")
                c.execute(mark + "EXPLAIN (ANALYZE, BUFFERS, WAL, FORMAT JSON) " + body, params)
                plans.append(c.fetchone()[0][0])
                if len(plans) == 1:
                    c.execute(mark + "EXPLAIN (ANALYZE, BUFFERS, WAL) " + body, params)
                    print("\n".join(r[0] for r in c.fetchall()))
                c.execute("ROLLBACK TO SAVEPOINT bench_explain")
        return execute(sql, params, many, context)

    for number, code, outcome in todo:
        with transaction.atomic(), connection.execute_wrapper(explain):
            services.complete_stage(number, code, clerk, outcome=outcome)
            transaction.set_rollback(True)

    def wal(plan: dict[str, Any]) -> tuple[int, int, int]:
        node = plan["Plan"]
        return node.get("WAL Records", 0), node.get("WAL Bytes", 0), node.get("WAL FPI", 0)

    n = len(plans)
    records, size, fpi = (sum(wal(p)[i] for p in plans) / n for i in range(3))
    print(
        f"EXPLAIN of {n} change statements: execution {sum(p['Execution Time'] for p in plans) / n:.3f} ms,"
        f" planning {sum(p['Planning Time'] for p in plans) / n:.3f} ms, WAL {records:.1f} records"
        f" {size:.0f} bytes ({fpi:.1f} full pages) per statement"
    )


def _wal(todo: list[tuple[str, str, str | None]], clerk: Any) -> None:
    """What a transition writes to the WAL, exactly: the records (from ``pg_walinspect``) that
    touch this database (only this process writes to it) or belong to a transaction that did,
    by resource manager and kind, averaged over the calls."""
    from collections import Counter

    from django.db import connection

    from sunshine.applications import services

    with connection.cursor() as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        c.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        pattern = f"%rel %/{c.fetchone()[0]}/%"
        c.execute("CHECKPOINT")  # then the first touch of each page pays its full-page image here
    kinds: Counter[str] = Counter()
    size = fpi = 0
    for number, code, outcome in todo:
        with connection.cursor() as c:
            c.execute("SELECT pg_current_wal_insert_lsn()")
            start = c.fetchone()[0]
        services.complete_stage(number, code, clerk, outcome=outcome)
        with connection.cursor() as c:
            c.execute("SELECT pg_current_wal_flush_lsn()")  # past the commit record: flushed
            end = c.fetchone()[0]
            c.execute(
                "WITH r AS (SELECT * FROM pg_get_wal_records_info(%s, %s)),"
                " mine AS (SELECT * FROM r WHERE block_ref LIKE %s"
                " OR xid IN (SELECT xid FROM r WHERE block_ref LIKE %s AND xid <> '0'))"
                " SELECT resource_manager, split_part(record_type, ' ', 1), count(*), sum(record_length),"
                " sum(fpi_length) FROM mine GROUP BY 1, 2",
                [start, end, pattern, pattern],
            )
            for rm, kind, n, length, images in c.fetchall():
                kinds[f"{rm} {kind}"] += n
                size += length
                fpi += images
    n = len(todo)
    print(
        f"WAL of {n} transitions: {sum(kinds.values()) / n:.1f} records, {size / n:.0f} bytes"
        f" ({fpi / n:.0f} of full-page images) each: " + ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(kinds.items()))
    )


def _backend_cpu() -> Any:
    """A function giving the seconds of CPU this connection's PostgreSQL backend has used since
    this call (``/proc/<pid>/schedstat``: the server must run on this machine), or None. The
    server's part of a transition, which the client's CPU figure does not see, and which a loaded
    machine stretches less than the wall clock."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT pg_backend_pid()")
        path = Path(f"/proc/{c.fetchone()[0]}/schedstat")

    def ns() -> int:
        return int(path.read_text().split()[0])

    try:
        start = ns()
    except (OSError, ValueError, IndexError):
        return None
    return lambda: (ns() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--profile", action="store_true", help="print the top functions (cumulative and own time)")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-drain", action="store_true")
    parser.add_argument(
        "--wal",
        type=int,
        default=0,
        metavar="K",
        help="first count the WAL records of K transitions by kind (pg_walinspect, created in the bench database)",
    )
    parser.add_argument("--dump", metavar="FILE", help="write the transitions' cProfile statistics to FILE")
    parser.add_argument(
        "--explain",
        type=int,
        default=0,
        metavar="K",
        help="first EXPLAIN (ANALYZE, BUFFERS, WAL) the change's statement of K transitions (rolled back)",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sunshine.accounts.models import User
    from sunshine.applications import outbox, services

    clerk = User.objects.get(username=run.CLERK)
    todo = _fresh(clerk, args.n)
    outbox.drain(due_only=False)
    if args.explain:
        _explain(todo[: args.explain], clerk)
        todo = todo[args.explain :]
    if args.wal:
        _wal(todo[: args.wal], clerk)
        todo = todo[args.wal :]
    number, code, outcome = todo.pop()
    with CaptureQueriesContext(connection) as ctx:
        services.complete_stage(number, code, clerk, outcome=outcome)
    queries = [q["sql"][:120] for q in ctx.captured_queries]
    half = len(todo) // 2
    timed, profiled = todo[:half], todo[half:]
    times = []
    backend = _backend_cpu()
    c0 = time.process_time()
    for number, code, outcome in timed:
        t = time.perf_counter()
        services.complete_stage(number, code, clerk, outcome=outcome)
        times.append(time.perf_counter() - t)
    cpu = (time.process_time() - c0) / len(timed)
    server = backend() / len(timed) if backend else None
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    for number, code, outcome in profiled:
        services.complete_stage(number, code, clerk, outcome=outcome)
    prof.disable()
    stats = pstats.Stats(prof)
    if args.dump:
        stats.dump_stats(args.dump)
    calls = stats.total_calls / len(profiled)  # type: ignore[attr-defined]
    times.sort()
    rate = len(times) / sum(times)
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))] * 1000
    raw_rate, raw_cpu = _raw()
    print(
        f"transitions: {len(timed)} timed, {rate:.0f}/s wall (p99 {p99:.1f} ms), raw psycopg {raw_rate:.0f}/s "
        f"-> ratio {rate / raw_rate:.2f}"
    )
    if server is not None:
        print(f"  PostgreSQL backend's CPU per transition {server * 1000:.3f} ms")
    print(
        f"  CPU per transition {cpu * 1000:.3f} ms (raw psycopg transaction {raw_cpu * 1000:.3f} ms); "
        f"{calls:.0f} Python calls per transition; {len(queries)} statements:"
    )
    for q in queries:
        print(f"    {q}")
    if args.profile:
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    if args.no_drain:
        return
    pending = outbox.pending()
    t, c = time.perf_counter(), time.process_time()
    dprof = cProfile.Profile(time.process_time) if args.profile else None
    statements = [0]

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        if dprof:
            dprof.enable()
        result = outbox.drain(due_only=False)
        if dprof:
            dprof.disable()
    wall, dcpu = time.perf_counter() - t, time.process_time() - c
    print(
        f"drain: {result.entries} of {pending} entries ({result.failed} failed) in {wall:.2f}s wall -> "
        f"{result.entries / wall:.0f} changes/s (ratio to transitions {result.entries / wall / rate:.2f}); "
        f"CPU {dcpu / max(1, result.entries) * 1000:.3f} ms per change; "
        f"{statements[0]} statements ({statements[0] / max(1, result.entries):.1f} per change)"
    )
    if dprof:
        ds = pstats.Stats(dprof)
        ds.sort_stats("cumulative").print_stats(args.top)
        ds.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
