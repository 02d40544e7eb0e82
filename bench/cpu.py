"""CPU per request of the hot paths, in process (not part of ``make bench``'s HTTP figures).

    uv run --frozen python bench/cpu.py                  # CPU ms per request, queries
    uv run --frozen python bench/cpu.py --profile lookup # + cProfile of one path (top 40)
    uv run --frozen python bench/cpu.py --only lookup_first  # each look-up a first view (only when asked)

Paths: ``bare``, ``lookup``, ``app_page``, ``queue`` (the manager's four URLs), ``county_queue``
(the county leader's queue, when the data set has the province), ``bare_insert``, ``intake``.

Runs Django's test client against the bench database (``BENCH_DATABASE_URL``) with the bench's
settings and environment (``bench/run.py``: Redis cache, DEBUG off), through the whole middleware
stack, in this one process. The figure is the process CPU time per request, best of ``--rounds``
rounds of ``--requests`` requests each (after a warm-up round): unlike wrk's req/s it stays
meaningful on a shared machine, since other processes' load does not count against it (PostgreSQL's
and Redis's own CPU is not in it either). Needs the data set and the users of a previous
``make bench`` (the bench users ``bench_clerk``, ``run.MANAGER``: ``load_mgr012`` of 迎泽区, whose
queue the bench's own intakes never reach).

Two write paths are measured the same way: ``intake`` (``POST /api/v1/applications`` with the
clerk's bearer token and ``bench/run.py``'s bodies, a new address each time) against
``bare_insert`` (``POST /bench/bare-insert/`` with the same bodies). Each adds applications to
the bench data set, as ``make bench``'s own intake run does.
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
    """name → (paths asked at random, signed in as the manager?); the write paths: ``bodies()``"""
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
        # the same URLs, each request a first view: no answer kept here or in the shared cache
        "lookup_first": ([f"/api/v1/public/applications/{n}?phone_tail={p[-4:]}" for n, p in known], False),
        "app_page": ([f"/workbench/applications/{n}/" for n in apps], True),
        "queue": (
            ["/workbench/", "/workbench/?overdue=1", "/workbench/?page=2", "/workbench/?category=lv_residential"],
            True,
        ),
    }


WRITES = {"bare_insert": "/bench/bare-insert/", "intake": "/api/v1/applications"}
ONLY_WHEN_ASKED = {"lookup_first"}  # measured with --only (make bench times the first views over HTTP)


def bodies(n: int = 50) -> list[str]:
    """Intake bodies (bench/run.py's), ``@N@`` in the address left for a per-request counter."""
    return run.intake_bodies(n)


def clerk_token() -> str:
    """A fresh two-hour API token of the bench clerk."""
    from datetime import timedelta

    from django.utils import timezone

    from sunshine.accounts.models import ApiToken, Role, hash_token

    clerk = run.staff(run.CLERK, Role.CLERK)
    raw = ApiToken.new_raw()
    ApiToken.objects.create(user=clerk, key_hash=hash_token(raw), expires_at=timezone.now() + timedelta(hours=2))
    return str(raw)


def measure(
    only: list[str] | None = None, requests: int = 200, rounds: int = 5, profile: str | None = None, top: int = 40
) -> dict[str, dict[str, float]]:
    """name → {"cpu_ms", "wall_ms", "queries"} per request (Django set up by the caller)."""
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from sunshine.accounts.models import User
    from sunshine.applications import progress

    manager = User.objects.get(username=run.MANAGER)
    anon = Client(HTTP_HOST="127.0.0.1")
    staff = Client(HTTP_HOST="127.0.0.1")
    staff.force_login(manager)
    clerk = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {clerk_token()}")
    out: dict[str, dict[str, float]] = {}
    tag = f"{time.time_ns()}"
    counter = iter(range(10**9))
    todo: dict[str, tuple[list[str], Client, str | None]] = {
        name: (urls, staff if signed else anon, None) for name, (urls, signed) in paths().items()
    }
    county = User.objects.filter(username=run.COUNTY_LEADER, unit__isnull=False).first()
    if county is not None:  # issue 19: the county leader's queue (bench/run.py asks its first three URLs)
        leader = Client(HTTP_HOST="127.0.0.1")
        leader.force_login(county)
        todo["county_queue"] = (paths()["queue"][0][:3], leader, None)
    for name, url in WRITES.items():
        todo[name] = (bodies(), clerk if name == "intake" else anon, url)
    for name, (urls, client, post_to) in todo.items():
        if (only and name not in only) or (not only and name in ONLY_WHEN_ASKED):
            continue

        first = name == "lookup_first"

        def ask(
            n: int, urls: list[str] = urls, client: Client = client, post_to: str | None = post_to, first: bool = first
        ) -> None:
            for i in range(n):
                if first:
                    progress.forget()  # nothing kept: the answer is built (queries, clocks, rendering)
                if post_to is None:
                    r = client.get(urls[i % len(urls)])
                else:
                    body = urls[i % len(urls)].replace("@N@", f"C{tag}-{next(counter)}")
                    r = client.post(post_to, body, content_type="application/json")
                if r.status_code not in (200, 201):
                    raise SystemExit(f"{post_to or urls[i % len(urls)]}: HTTP {r.status_code} {r.content[:300]!r}")

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
