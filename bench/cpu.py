"""CPU per request of the read hot paths, in process (not part of ``make bench``'s HTTP figures).

    uv run --frozen python bench/cpu.py                  # CPU ms per request, queries
    uv run --frozen python bench/cpu.py --profile lookup # + cProfile of one path (top 40)

Runs Django's test client against the bench database (``BENCH_DATABASE_URL``) with the bench's
settings and environment (``bench/run.py``: Redis cache, DEBUG off), through the whole middleware
stack, in this one process. The figure is the process CPU time per request, best of ``--rounds``
rounds of ``--requests`` requests each (after a warm-up round): unlike wrk's req/s it stays
meaningful on a shared machine, since other processes' load does not count against it (PostgreSQL's
and Redis's own CPU is not in it either). Needs the data set and the users of a previous
``make bench`` (the bench users ``bench_leader``, ``load_mgr001``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run  # noqa: E402  (sets the bench environment)


def paths() -> dict[str, tuple[list[str], bool]]:
    """name → (paths asked at random, signed in as the manager?)"""
    from django.db import connection

    from sunshine.accounts.models import User
    from sunshine.applications.models import Application
    from sunshine.pii.crypto import decrypt

    with connection.cursor() as cur:
        cur.execute(
            "SELECT number, contact_phone FROM applications_application TABLESAMPLE SYSTEM (1) "
            "WHERE length(contact_phone) >= 4 LIMIT 200"
        )
        known = [(n, decrypt(p)) for n, p in cur.fetchall()]
    manager = User.objects.get(username=run.MANAGER)
    apps = list(
        Application.objects.filter(customer_manager=manager).order_by("?").values_list("number", flat=True)[:100]
    )
    return {
        "bare": ([f"/bench/bare-read/{random.randint(1, run.BARE_ROWS)}/" for _ in range(200)], False),
        "lookup": ([f"/api/v1/public/applications/{n}?phone_tail={p[-4:]}" for n, p in known], False),
        "app_page": ([f"/workbench/applications/{n}/" for n in apps], True),
        "queue": (
            ["/workbench/", "/workbench/?overdue=1", "/workbench/?page=2", "/workbench/?category=lv_residential"],
            True,
        ),
    }


def measure(
    only: list[str] | None = None, requests: int = 200, rounds: int = 5, profile: str | None = None, top: int = 40
) -> dict[str, dict[str, float]]:
    """name → {"cpu_ms", "wall_ms", "queries"} per request (Django set up by the caller)."""
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from sunshine.accounts.models import User

    manager = User.objects.get(username=run.MANAGER)
    anon = Client(HTTP_HOST="127.0.0.1")
    staff = Client(HTTP_HOST="127.0.0.1")
    staff.force_login(manager)
    out: dict[str, dict[str, float]] = {}
    for name, (urls, signed) in paths().items():
        if only and name not in only:
            continue
        client = staff if signed else anon

        def ask(n: int, urls: list[str] = urls, client: Client = client) -> None:
            for i in range(n):
                r = client.get(urls[i % len(urls)])
                if r.status_code != 200:
                    raise SystemExit(f"{urls[i % len(urls)]}: HTTP {r.status_code}")

        best = float("inf")
        wall = float("inf")
        for _ in range(rounds):
            # warm-up, untimed, before each round: every path once (kept answers and pages, which
            # a loaded machine could otherwise see expire after 30 s within a round; compiled
            # templates): the figure is the repeat request, as the HTTP figures after their warm-up
            ask(len(urls))
            c0, w0 = time.process_time(), time.perf_counter()
            ask(requests)
            best = min(best, (time.process_time() - c0) / requests * 1000)
            wall = min(wall, (time.perf_counter() - w0) / requests * 1000)
        reset_queries()
        ask(len(urls[:20]))
        with CaptureQueriesContext(connection) as ctx:
            ask(len(urls[:20]))
        queries = len(ctx.captured_queries) / len(urls[:20])
        out[name] = {"cpu_ms": round(best, 3), "wall_ms": round(wall, 3), "queries": round(queries, 1)}
        print(f"{name:10} CPU {best:6.2f} ms/request  wall {wall:6.2f} ms  queries {queries:.1f}", flush=True)
        if profile == name:
            prof = cProfile.Profile(time.process_time)  # CPU, not waiting
            prof.enable()
            ask(requests)
            prof.disable()
            text = io.StringIO()
            stats = pstats.Stats(prof, stream=text)
            stats.sort_stats("cumulative").print_stats(top)
            stats.sort_stats("tottime").print_stats(top)
            print(text.getvalue())
            if os.environ.get("PROFILE_OUT"):
                stats.dump_stats(os.environ["PROFILE_OUT"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--profile", default=None, help="a path name to profile with cProfile")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    import django

    django.setup()
    measure(args.only, args.requests, args.rounds, args.profile, args.top)


if __name__ == "__main__":
    main()
