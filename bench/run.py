"""``make bench``: measure Sunshine against bare baselines on PostgreSQL (not part of the test suite).

    BENCH_APPLICATIONS=100000 uv run python bench/run.py
    BENCH_ONLY=intake,transitions uv run python bench/run.py     # chosen steps, the data set reused
    uv run python bench/run.py --only app_page,queue             # the same as a flag

Environment (docs/bench.md):
  BENCH_DATABASE_URL  PostgreSQL to use (created when missing), default
                      postgres://postgres@127.0.0.1:5432/sunshine_bench
  BENCH_APPLICATIONS  applications in the data set (default 1,000,000; reused when present)
  BENCH_JOBS          generate_load writer processes (default: the number of CPUs)
  BENCH_DURATION      seconds per HTTP measurement (default 10, after a 5 s warm-up)
  BENCH_TRANSITIONS   fresh applications the transitions step moves and drains (default 1,000)
  BENCH_ROUNDS        rounds of the intake and the bare insert measured in turn (default 3; the
                      median round of each is its figure)
  BENCH_CONNECTIONS   concurrent HTTP connections (default 8)
  BENCH_WORKERS       gunicorn workers (default 2, gthread, BENCH_THREADS=4 threads each)
  BENCH_RSS_REQUESTS  requests before the second worker-RSS reading (default 100,000)
  BENCH_RSS_MAX_S     at most this many seconds of extra requests to get there (default 240)
  BENCH_EXPORT_ROWS   rows of the large CSV export (default 100,000; the small one has a tenth)
  BENCH_EXTRAS        1 (default) also runs bench/sweep.py and bench/report.py, 0 skips them
  BENCH_EXTRAS_TIMEOUT seconds allowed for each of them (default 300)
  BENCH_RESULT        name of the results files (default: the day, bench/results/<day>.json and .md)
  BENCH_REDIS_URL     the cache of the server (default redis://127.0.0.1:6379/0, keys prefixed
                      sunshine-bench-<database name>), as in production
  BENCH_ONLY          comma-separated steps (``--only`` does the same): run only these against the data
                      set as it is, see below

Steps (``BENCH_ONLY`` / ``--only``; every step's baseline is measured with it in the same run):
  lookup        public look-up, first views then kept (baseline: the bare read)
  app_page      staff application page, first views then kept (bare read)
  queue         the customer manager's work queue, first views then kept (bare read)
  county_queue  the county leader's work queue (bare read)
  statistics    the public statistics page (bare read)
  intake        POST /api/v1/applications (baseline: the bare insert, same bodies)
  export        the CSV exports and their memory (baseline: psycopg COPY)
  rss           worker RSS after 1,000 and BENCH_RSS_REQUESTS requests (the read mix)
  transitions   complete_stage in process and the reactions drain (baseline: raw psycopg transactions)
  workdays      add_working_days (baseline: a day-by-day loop)
  cpu           CPU per request in process (bench/cpu.py)
  sweep, report, province   the extras (bench/sweep.py, report.py, province.py)
  aliases: ``reads`` (lookup, app_page, queue, county_queue), ``extras`` (sweep, report, province)
With chosen steps the run neither migrates (it stops when migrations are pending: the data set
may be shared) nor generates (it stops on an empty data set), folds the statistics only for
statistics/report/province, still vacuums what autovacuum would have and recreates the bare
table; it prints the table of the chosen figures with their ratios and writes bench/results only
when BENCH_RESULT names the files (a partial run never overwrites the day's results).

The whole run: create/migrate the database, top the data set up with ``generate_load`` (parallel writers)
and bring the statistics up to date, start gunicorn (the production configuration
``deploy/gunicorn.conf.py`` when present, DEBUG off, persistent connections) with
``bench.settings_bench`` on a free loopback port, measure with wrk (fixed duration and
connections) and a streaming client, stop gunicorn, measure the in-process figures, run the sweep
and report benchmarks, write ``bench/results/<date>.json`` and ``.md`` and print the table.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from bench.table import SERVER_SETTINGS, figure, markdown, server_warnings  # noqa: E402

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sunshine_bench")
APPLICATIONS = int(os.environ.get("BENCH_APPLICATIONS", "1000000"))
JOBS = int(os.environ.get("BENCH_JOBS", "0")) or (os.cpu_count() or 1)
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
# Fresh applications moved one stage each by the transitions step; their reactions are then drained.
# 200 drained in 0.1-0.2 s gave the drain's ratio 0.81-1.36 between runs of the same code.
TRANSITIONS = int(os.environ.get("BENCH_TRANSITIONS", "1000"))
# The intake and the bare insert are measured in turn, this many rounds each (Server.wrk_alternating).
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
RSS_REQUESTS = int(os.environ.get("BENCH_RSS_REQUESTS", "100000"))
RSS_MAX_S = int(os.environ.get("BENCH_RSS_MAX_S", "240"))
EXPORT_ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", "100000"))
EXTRAS = os.environ.get("BENCH_EXTRAS", "1") == "1"
EXTRAS_TIMEOUT = int(os.environ.get("BENCH_EXTRAS_TIMEOUT", "300"))
BARE_ROWS = 10_000
STEPS = (
    "lookup",
    "app_page",
    "queue",
    "county_queue",
    "statistics",
    "intake",
    "export",
    "rss",
    "transitions",
    "workdays",
    "cpu",
    "sweep",
    "report",
    "province",
)
ALIASES = {"reads": ("lookup", "app_page", "queue", "county_queue"), "extras": ("sweep", "report", "province")}
READS = ("lookup", "app_page", "queue", "county_queue", "statistics")
HTTP_STEPS = (*READS, "intake", "export", "rss")
P99_MS = 50  # issue 17: the p99 of each hot path under 50 ms at 8 connections
CLERK = "bench_clerk"
LEADER = "bench_leader"
# The staff whose pages are measured work in 迎泽区, a unit the bench's own writes never reach: its
# intakes (and the transitions' fresh applications) are addressed to 小店区 (intake_bodies), whose
# three managers take them, so a queue there grew with every run (load_mgr001: 727 -> 3,063 open
# in two runs). 迎泽区 is of 小店区's size class: a district of 太原 (the same weight in
# generate_load) with three managers (sunshine/ops/province.py deals load_mgr012, 129, 246 to it).
MANAGER = "load_mgr012"  # a customer manager of generate_load (one of 迎泽区's three, ≈ 1/120 of the applications)
COUNTY_LEADER = "leader.ty-yingze"  # the leader of 迎泽区, ≈ 2.5 % of the applications
BENCH_CUSTOMER = "基准测试"  # the customer name of every application the bench itself makes
# Whose cases warm the server's processes before the first views are measured (Server.warm_up):
# a manager of another county, so that nothing measured is built or kept by the warm-up.
WARM_STAFF = "load_mgr001"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"

# The server and this process see the same production-like settings.
SERVER_ENV = {
    "DATABASE_URL": DB_URL,
    "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
    "DEBUG": "false",
    "CONN_MAX_AGE": "600",
    # The public look-up throttles per client; every wrk request comes from 127.0.0.1.
    "SUNSHINE_PUBLIC_LOOKUPS": "1000000000",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    # The cache of production (throttles, look-up locks): Redis, not a trial's database cache.
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
    # One prefix per bench database: runs on other databases of this machine (several engineers
    # at once) neither read each other's kept answers (a copied data set has the same audit
    # heads) nor lose theirs to this run's clear_kept().
    "CACHE_KEY_PREFIX": f"sunshine-bench-{urlsplit(DB_URL).path.lstrip('/')}",
    # Production's mode: a change's reactions run after commit in the job workers (the bench
    # measures a transition without them, then how fast one worker drains them).
    "SUNSHINE_REACTIONS": "worker",
    # deploy/gunicorn.conf.py: no access log, and no recycling of workers after N requests
    # (the worker-RSS figure measures growth; production bounds it with WEB_MAX_REQUESTS).
    "WEB_ACCESS_LOG": "",
    "WEB_LOG_LEVEL": "warning",
    "WEB_MAX_REQUESTS": "0",
    "WEB_MAX_REQUESTS_JITTER": "0",
    "WEB_WORKERS": str(WORKERS),
    "WEB_THREADS": str(THREADS),
    # The data set is synthetic and shared by every checkout that runs the bench: its ID numbers
    # and phones are encrypted under keys derived from this fixed, public, bench-only secret (a
    # checkout's own trial var/secret_key would make another checkout's data set unreadable).
    "SECRET_KEY": os.environ.get(
        "BENCH_SECRET_KEY", "XRCmI6RrDmWovWSV8xW7sRA5ESk6wfPb4uLTqObf2DSRRg-GI76Z-SwL4NqH9bmrPoA"
    ),
}
os.environ.update(SERVER_ENV)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S', time.gmtime())} UTC] {msg}", flush=True)


def chosen_steps(text: str | None) -> frozenset[str] | None:
    """The steps named by ``BENCH_ONLY`` / ``--only`` (commas or spaces; aliases expanded), or
    None for the whole run."""
    if text is None or not text.strip():
        return None
    out: set[str] = set()
    for word in re.split(r"[,\s]+", text.strip()):
        if not word:
            continue
        if word in ALIASES:
            out.update(ALIASES[word])
        elif word in STEPS:
            out.add(word)
        else:
            raise SystemExit(f"unknown bench step {word!r}: choose from {', '.join(STEPS)} (or {', '.join(ALIASES)})")
    return frozenset(out)


# None: the whole run (make bench); otherwise the steps chosen (set by main() from the flag or env).
ONLY: frozenset[str] | None = None


def wanted(step: str) -> bool:
    """Does this run measure ``step``? The whole run measures every step (the extras when
    BENCH_EXTRAS says so)."""
    if ONLY is None:
        return EXTRAS if step in ALIASES["extras"] else True
    return step in ONLY


# --- database ----------------------------------------------------------------------------------


def ensure_database() -> None:
    import psycopg

    parts = urlsplit(DB_URL)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def staff(username: str, role: str) -> Any:
    from sunshine.accounts.models import User

    user, _ = User.objects.get_or_create(username=username, defaults={"role": role, "last_name": "基准"})
    if user.role != role:
        user.role = role
        user.save(update_fields=["role"])
    return user


def session_cookie(user: Any) -> str:
    """A signed-in session of ``user`` stored where the server reads it (the session engine)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def export_start(rows: int) -> tuple[str, int]:
    """The first acceptance day (local) from which about ``rows`` applications run to the newest;
    returns it and the exact number of applications accepted since (what the export writes)."""
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cur:
        cur.execute(
            "SELECT accepted_at FROM applications_application ORDER BY accepted_at DESC OFFSET %s LIMIT 1",
            [max(rows - 1, 0)],
        )
        row = cur.fetchone()
        if row is None:
            cur.execute("SELECT min(accepted_at) FROM applications_application")
            row = cur.fetchone()
        day = timezone.localdate(row[0])
        since = timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()))
        cur.execute("SELECT count(*) FROM applications_application WHERE accepted_at >= %s", [since])
        return day.isoformat(), int(cur.fetchone()[0])


def _facts_of(chunk: list[int]) -> set[date]:
    """(A forked worker of ``refresh_statistics``.) The metrics facts of ``chunk``."""
    from django.db import transaction

    from sunshine.metrics import services

    with transaction.atomic():
        return services._refresh_facts(chunk)


def refresh_statistics() -> int:
    """Bring the statistics tables up to date (what ``manage.py refresh_statistics`` does).

    A data set that was never folded in (a fresh ``generate_load``: a million applications) is
    folded by JOBS forked processes, each recomputing the facts of its own chunks of applications
    with the metrics app's own function, then every day's aggregates are rebuilt once and the
    mark set, exactly as ``metrics.services.refresh`` finishes. Otherwise ``refresh()`` itself
    folds the events added since (a few hundred per bench run)."""
    import multiprocessing

    from django.db import connections, transaction
    from django.utils import timezone

    from sunshine.applications.models import Application, Event
    from sunshine.metrics import services
    from sunshine.metrics.models import RefreshMark

    mark = RefreshMark.objects.filter(name=services.MARK).first()
    if (mark is not None and mark.last_event_id > 0) or JOBS == 1:
        return services.refresh().applications
    last_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ids = list(Application.objects.order_by("pk").values_list("pk", flat=True))
    chunks = [ids[i : i + services.BATCH] for i in range(0, len(ids), services.BATCH)]
    from sunshine.calendar import workdays

    workdays.current()  # built once, before the fork
    connections.close_all()
    with multiprocessing.get_context("fork").Pool(JOBS) as pool:
        days: set[date] = set().union(*pool.imap_unordered(_facts_of, chunks))
    with transaction.atomic():
        mark, _ = RefreshMark.objects.select_for_update().get_or_create(name=services.MARK)
        services._rebuild_days(sorted(days))
        services._snapshot(timezone.localdate())
        mark.last_event_id = last_event
        mark.refreshed_at = timezone.now()
        mark.save(update_fields=["last_event_id", "refreshed_at"])
    return len(ids)


def count_since(day: str) -> int:
    from django.db import connection
    from django.utils import timezone

    since = timezone.make_aware(timezone.datetime.combine(date.fromisoformat(day), timezone.datetime.min.time()))
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM applications_application WHERE accepted_at >= %s", [since])
        return int(cur.fetchone()[0])


def vacuum_as_autovacuum() -> list[str]:
    """``VACUUM (ANALYZE)`` each table that PostgreSQL's autovacuum would have vacuumed by now with
    its default thresholds (dead or inserted rows since the last vacuum > 50 + 20 % of the live
    rows, or inserts > 1,000 + 20 %), as in production, where autovacuum is on. A server with
    autovacuum off (seen on these machines) would otherwise serve the bench from a data set that was
    never vacuumed: no visibility map, so every index-only scan reads the heap too (the inbox count
    of a manager with 2,451 unread messages: 1.2 ms instead of ≈ 0.2). Returns the tables vacuumed."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE n_dead_tup > 50 + 0.2 * n_live_tup "
            "OR n_ins_since_vacuum > 1000 + 0.2 * n_live_tup ORDER BY relname"
        )
        tables = [r[0] for r in cur.fetchall()]
    if tables:
        log(f"vacuuming {len(tables)} tables autovacuum would have vacuumed by now (VACUUM (ANALYZE))")
        t = time.perf_counter()
        with connection.cursor() as cur:
            for table in tables:
                cur.execute(f'VACUUM (ANALYZE) "{table}"')
        log(f"vacuumed in {time.perf_counter() - t:.0f}s")
    return tables


def pending_migrations() -> list[str]:
    """The migrations not applied to the database (``app.name``), as ``migrate`` would plan them."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _backwards in plan]


def check_measured_units(manager: Any, county_leader: Any, data: dict[str, Any]) -> None:
    """Warn when the measured queues are not independent of the bench's own writes: the unit the
    intake bodies' address routes to must not be the measured manager's or county leader's, and
    none of their open applications should be the bench's own (a data set of before 2026-12-05's
    change of the measured staff still has them in 小店区's queues, not in 迎泽区's)."""
    from sunshine.applications.services import match_area

    area = match_area(json.loads(intake_bodies(1)[0])["address"])
    data["intake_unit"] = area.unit.name if area is not None else None
    for user in (manager, county_leader):
        if user is not None and (user.unit is None or (area is not None and user.unit.contains(area.unit.path))):
            log(f"WARNING: {user.username}'s unit holds the bench's own intakes: its queue grows with every run")
    if data["manager_bench_made"] or data["county_bench_made"]:
        log(
            f"WARNING: the measured queues hold applications the bench made ({MANAGER}: "
            f"{data['manager_bench_made']:,}, {COUNTY_LEADER}: {data['county_bench_made']:,})"
        )
    if not data["manager_open"]:
        log(f"WARNING: {MANAGER} has no open applications (a data set with fewer than 12 generated managers?)")


def prepare_data() -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from sunshine.accounts.models import ApiToken, Role, User, hash_token
    from sunshine.applications import access
    from sunshine.applications.models import Application
    from sunshine.pii.crypto import decrypt

    out: dict[str, Any] = {"generated": 0, "generate_s": None, "refresh_s": None}
    if ONLY is not None:  # chosen steps: the data set as it is (it may be shared: never migrated here)
        pending = pending_migrations()
        if pending:
            raise SystemExit(
                f"BENCH_ONLY: {len(pending)} migrations not applied to {DB_URL} (first: {pending[0]}); "
                "a partial run does not migrate: when they are landed on main, migrate the data set "
                "(DATABASE_URL=… uv run python manage.py migrate), otherwise use a database of your own"
            )
    else:
        log("migrating")
        call_command("migrate", verbosity=0)
    have = Application.objects.count()
    if ONLY is not None:
        if not have:
            raise SystemExit(f"BENCH_ONLY: no applications in {DB_URL}; make bench generates them")
        log(f"reusing {have:,} applications (BENCH_ONLY: nothing generated)")
    elif have < APPLICATIONS:
        todo = APPLICATIONS - have
        log(f"generate_load: {have:,} present, adding {todo:,} with {JOBS} writer processes")
        t = time.perf_counter()
        call_command("generate_load", applications=todo, jobs=JOBS)
        out["generate_s"] = round(time.perf_counter() - t, 1)
        out["generated"] = todo
        log(f"generate_load took {out['generate_s']:.0f}s ({todo / out['generate_s']:,.0f} applications/s)")
    else:
        log(f"reusing {have:,} applications")
    if ONLY is None or ONLY & {"statistics", "report", "province"}:
        log("refreshing the statistics (metrics facts and daily aggregates)")
        t = time.perf_counter()
        folded = refresh_statistics()
        out["refresh_s"] = round(time.perf_counter() - t, 1)
        log(f"statistics: {folded:,} applications folded in {out['refresh_s']:.0f}s")
    out["vacuumed"] = vacuum_as_autovacuum()
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_row (id bigserial PRIMARY KEY, payload text NOT NULL)")
        cur.execute("TRUNCATE bench_row RESTART IDENTITY")
        cur.execute("INSERT INTO bench_row (payload) SELECT 'row ' || g FROM generate_series(1, %s) g", [BARE_ROWS])
        cur.execute("ANALYZE bench_row")
        # Known applications (random sample) for the public look-up.
        cur.execute(
            "SELECT number, contact_phone FROM applications_application TABLESAMPLE SYSTEM (5) "
            "WHERE length(contact_phone) >= 4 LIMIT 2000"
        )
        out["known"] = cur.fetchall()
        if len(out["known"]) < 100:
            cur.execute("SELECT number, contact_phone FROM applications_application LIMIT 2000")
            out["known"] = cur.fetchall()
        # The column holds ciphertext (sunshine.pii): the look-up needs the phone's last digits.
        out["known"] = [(number, decrypt(phone)) for number, phone in out["known"]]
    clerk = staff(CLERK, Role.CLERK)
    leader = staff(LEADER, Role.LEADER)
    manager = User.objects.filter(username=MANAGER).first() or staff(MANAGER, Role.CUSTOMER_MANAGER)
    raw = ApiToken.new_raw()
    ApiToken.objects.create(user=clerk, key_hash=hash_token(raw), expires_at=timezone.now() + timedelta(hours=2))
    out["token"] = raw
    out["clerk"] = clerk
    out["manager_cookie"] = session_cookie(manager)
    out["leader_cookie"] = session_cookie(leader)
    county_leader = User.objects.filter(username=COUNTY_LEADER, unit__isnull=False).first()
    out["county_leader_cookie"] = session_cookie(county_leader) if county_leader is not None else None
    out["county_open"] = (
        access.visible_applications(county_leader).filter(status__in=["in_progress", "paused"]).count()
        if county_leader is not None
        else 0
    )
    out["manager_apps"] = list(
        Application.objects.filter(customer_manager=manager).order_by("?").values_list("number", flat=True)[:500]
    )
    warm = User.objects.filter(username=WARM_STAFF).exclude(pk=manager.pk).first()
    out["warm_cookie"] = session_cookie(warm) if warm is not None else None
    measured = {number for number, _phone in out["known"]} | set(out["manager_apps"])
    out["warm_cases"] = (
        [
            (number, decrypt(phone))
            for number, phone in Application.objects.filter(customer_manager=warm)
            .exclude(contact_phone="")
            .order_by("-pk")
            .values_list("number", "contact_phone")[:60]
            if number not in measured
        ][:40]
        if warm is not None
        else []
    )
    open_ = ["in_progress", "paused"]
    out["manager_open"] = Application.objects.filter(customer_manager=manager, status__in=open_).count()
    out["manager_bench_made"] = Application.objects.filter(
        customer_manager=manager, status__in=open_, customer_name=BENCH_CUSTOMER
    ).count()
    out["county_bench_made"] = (
        access.visible_applications(county_leader).filter(status__in=open_, customer_name=BENCH_CUSTOMER).count()
        if county_leader is not None
        else 0
    )
    check_measured_units(manager, county_leader, out)
    out["export_large"] = export_start(EXPORT_ROWS)
    out["export_small"] = export_start(max(EXPORT_ROWS // 10, 1))
    out["applications"] = Application.objects.count()
    return out


# --- server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command(port: int) -> list[str]:
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
    cmd = [gunicorn]
    if GUNICORN_CONF.exists():  # the production configuration (deploy), bind and sizes overridden
        cmd += ["-c", str(GUNICORN_CONF)]
    cmd += [
        "sunshine.wsgi:application",
        "--chdir",
        str(ROOT),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "gthread",
        "--threads",
        str(THREADS),
        "--max-requests",
        "0",
        "--log-level",
        "warning",
    ]
    return cmd


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, **SERVER_ENV}
    proc = subprocess.Popen(server_command(port), cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/bare-read/1/", timeout=2) as r:
                if r.status == 200 and len(worker_pids(proc.pid)) == WORKERS:
                    return proc
        except OSError:
            pass
        time.sleep(0.5)
    stop_server(proc)
    raise SystemExit("gunicorn did not answer within 90 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def worker_pids(master: int) -> list[int]:
    try:
        text = Path(f"/proc/{master}/task/{master}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def rss_mb(pid: int) -> float:
    try:
        m = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return 0.0
    return int(m.group(1)) / 1024 if m else 0.0


# --- wrk ---------------------------------------------------------------------------------------

# Paths (and, for staff pages, the session cookie of each) picked at random per request.
LUA_GET = """
local paths = {%s}
local cookies = {%s}
request = function()
  local i = math.random(#paths)
  local c = cookies[i]
  if c ~= nil and c ~= "" then
    return wrk.format("GET", paths[i], {["Cookie"] = c})
  end
  return wrk.format("GET", paths[i])
end
"""

LUA_POST = """
local bodies = {%s}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%s
request = function()
  i = i + 1
  local b = bodies[(i %% #bodies) + 1]
  b = string.gsub(b, "@N@", tostring(i) .. "-" .. tostring(math.random(1000000000)))
  return wrk.format(nil, nil, nil, b)
end
"""


def lua_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string literal is a valid Lua string here


def lua_get(paths: list[str], cookies: list[str] | None = None) -> str:
    cookies = cookies or [""] * len(paths)
    return LUA_GET % (",".join(lua_str(p) for p in paths), ",".join(lua_str(c) for c in cookies))


def parse_wrk(out: str) -> dict[str, Any]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors:.*", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None,
        "requests": int(total.group(1)) if total else 0,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sock.group(0) if sock else "",
    }


class Server:
    """The gunicorn under test, and the count of requests it has served (for the RSS figure)."""

    def __init__(self, proc: subprocess.Popen[bytes], base: str) -> None:
        self.proc = proc
        self.base = base
        self.served = 0
        self.asked: dict[str, float] = {}  # group of paths -> when they were last asked (monotonic)

    def rss(self) -> list[float]:
        return [round(rss_mb(p), 1) for p in worker_pids(self.proc.pid)]

    def wrk_once(self, url: str, script: str, seconds: int, connections: int = CONNECTIONS) -> dict[str, Any]:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as f:
            f.write(script)
        try:
            cmd = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s", "--latency"]
            cmd += ["-s", f.name, url]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout  # noqa: S603
        finally:
            os.unlink(f.name)
        res = parse_wrk(out)
        self.served += res["requests"]
        return res

    def wrk(self, path: str, script: str, name: str, warmup: int = 5) -> dict[str, Any]:
        """A warm-up run (discarded: each worker's first requests are slow — connections, caches),
        then the measured run. Requests slower than 10 s count as timeouts (wrk's socket errors)."""
        self.wrk_once(self.base + path, script, warmup)
        res = self.wrk_once(self.base + path, script, DURATION)
        log(f"{name}: {res['rps']:.0f} req/s, p99 {res['p99_ms']} ms, non-2xx {res['non_2xx']} {res['socket_errors']}")
        return res

    def wrk_alternating(self, steps: list[tuple[str, str, str]], rounds: int = ROUNDS) -> list[dict[str, Any]]:
        """A figure and its baseline measured in turn, ``rounds`` times each (after one warm-up of
        each): a moment of the machine that slows one run (a checkpoint, another process) then
        weighs on one round of one of them, not on the whole ratio. Each one's result is its round
        with the median rate; every round's rate is kept (``rounds_rps``)."""
        for path, script, _name in steps:
            self.wrk_once(self.base + path, script, 5)
        done: list[list[dict[str, Any]]] = [[] for _ in steps]
        for r in range(rounds):
            for i, (path, script, name) in enumerate(steps):
                res = self.wrk_once(self.base + path, script, DURATION)
                done[i].append(res)
                log(
                    f"{name} (round {r + 1} of {rounds}): {res['rps']:.0f} req/s, p99 {res['p99_ms']} ms, "
                    f"non-2xx {res['non_2xx']} {res['socket_errors']}"
                )
        out = []
        for (_path, _script, name), results in zip(steps, done, strict=True):
            ordered = sorted(results, key=lambda res: res["rps"])
            median = dict(ordered[len(ordered) // 2])
            median["rounds_rps"] = [round(res["rps"], 1) for res in results]
            median["non_2xx"] = sum(res["non_2xx"] for res in results)
            each = ", ".join(f"{x:.0f}" for x in median["rounds_rps"])
            log(f"{name}: {median['rps']:.0f} req/s (the median of {each})")
            out.append(median)
        return out

    def first_views(
        self, paths: list[str], cookies: list[str] | None, name: str, group: str | None = None
    ) -> dict[str, Any]:
        """Every path asked exactly once, ``CONNECTIONS`` at a time (one keep-alive connection per
        client thread), in a shuffled order: with the server's kept answers and pages cleared before
        (``clear_kept``), each request is the **first view** of its case, what a kept answer costs to
        build. Reported as its own figure; it also leaves every answer kept for the wrk runs after."""
        import http.client
        import queue as queue_

        cookies = cookies or [""] * len(paths)
        todo: queue_.Queue[tuple[str, str]] = queue_.Queue()
        order = list(zip(paths, cookies, strict=True))
        random.Random(17).shuffle(order)
        for item in order:
            todo.put(item)
        host, port = urlsplit(self.base).netloc.split(":")
        latencies: list[float] = []
        statuses: list[int] = []
        lock = threading.Lock()

        def client() -> None:
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            try:
                while True:
                    try:
                        path, cookie = todo.get_nowait()
                    except queue_.Empty:
                        return
                    t = time.perf_counter()
                    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
                    r = conn.getresponse()
                    r.read()
                    elapsed = time.perf_counter() - t
                    with lock:
                        latencies.append(elapsed)
                        statuses.append(r.status)
            finally:
                conn.close()

        threads = [threading.Thread(target=client) for _ in range(min(CONNECTIONS, len(paths)))]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        seconds = time.perf_counter() - t0
        self.served += len(latencies)
        if group is not None:
            self.asked[group] = time.monotonic()
        latencies.sort()
        n = len(latencies)
        res = {
            "rps": n / seconds if seconds else 0.0,
            "p99_ms": round(latencies[min(n - 1, math.ceil(0.99 * n) - 1)] * 1000, 2) if n else None,
            "requests": n,
            "seconds": round(seconds, 2),
            "non_2xx": sum(1 for s in statuses if not 200 <= s < 400),
            "socket_errors": "",
        }
        log(f"{name}: {n:,} first views in {seconds:.1f}s, {res['rps']:.0f} req/s, p99 {res['p99_ms']} ms")
        return res

    def warm_up(self, data: dict[str, Any], queue_paths: list[str]) -> None:
        """Warm the server's processes before the first views are measured, with other cases
        and another staff member's pages (``WARM_STAFF``): a process's first request of a kind
        imports, compiles templates and builds schemas once in its life (at a million the four
        queue URLs, asked first on fresh processes, took 1.8–2.7 s each, 0.2 s thirty seconds
        later). Each path is asked twice, 8 at a time, so both workers build and serve each kind;
        nothing measured is built or kept, and ``clear_kept`` follows."""
        cookie = data.get("warm_cookie")
        paths = [f"/api/v1/public/applications/{n}?phone_tail={p[-4:]}" for n, p in data.get("warm_cases", [])]
        cookies = [""] * len(paths)
        if cookie:
            staff_paths = [f"/workbench/applications/{n}/" for n, _p in data["warm_cases"][:20]] + queue_paths
            paths += staff_paths
            cookies += [cookie] * len(staff_paths)
        if paths:
            self.first_views(paths * 2, cookies * 2, f"warming the workers ({WARM_STAFF}'s cases, not measured)")

    def prime(self, group: str, paths: list[str], cookies: list[str], name: str) -> None:
        """Ask each path once (untimed) right before its own wrk run, so that the run serves kept
        pages built now. A kept staff page is served at most ``caching.SECONDS`` (30 s) after it
        was built: one built earlier in this run (its first view, the read mix) would expire
        within the measured run and be rebuilt there. When less than that has passed since these
        paths were last asked, wait for the rest first, so that every page is built here."""
        from sunshine import caching

        last = self.asked.get(group)
        if last is not None and (wait := caching.SECONDS + 1 - (time.monotonic() - last)) > 0:
            log(f"{name}: waiting {wait:.0f}s for the pages kept since their last views to expire")
            time.sleep(wait)
        self.first_views(paths, cookies, name, group=group)

    def serve_until(self, total: int, script: str, max_seconds: float) -> None:
        """More requests (the mixed script) until ``total`` were served or the time is up; each
        run lasts about what the last rate says is left (wrk stops on time, not on a count)."""
        t0 = time.monotonic()
        rate = 0.0
        while self.served < total and (remaining := max_seconds - (time.monotonic() - t0)) > 1:
            left = total - self.served
            seconds = 2 if not rate else math.ceil(left / rate)
            res = self.wrk_once(self.base + "/", script, seconds=int(max(1, min(seconds, 30, remaining))))
            rate = res["rps"] or rate
            log(f"  {self.served:,} requests served so far")

    def export(self, first_day: str, cookie: str) -> dict[str, Any]:
        """One streamed CSV export, read to the end while each worker's RSS is sampled."""
        url = f"{self.base}/workbench/export.csv?status=all&accepted_from={first_day}"
        pids = worker_pids(self.proc.pid)
        before = {p: rss_mb(p) for p in pids}
        peak = dict(before)
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                for p in pids:
                    peak[p] = max(peak[p], rss_mb(p))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        req = urllib.request.Request(url, headers={"Cookie": cookie})  # noqa: S310 (our loopback server)
        t = time.perf_counter()
        lines = size = 0
        first_byte = None
        with urllib.request.urlopen(req, timeout=600) as r:  # noqa: S310
            status = r.status
            while chunk := r.read(65536):
                if first_byte is None:
                    first_byte = time.perf_counter() - t
                size += len(chunk)
                lines += chunk.count(b"\n")
        seconds = time.perf_counter() - t
        stop.set()
        sampler.join()
        self.served += 1
        grew = {p: peak[p] - before[p] for p in pids}
        worker = max(grew, key=lambda p: grew[p]) if grew else None
        return {
            "status": status,
            "rows": max(lines - 1, 0),
            "bytes": size,
            "seconds": seconds,
            "first_byte_s": first_byte,
            "peak_rss_mb": round(max(peak.values()), 1) if peak else None,
            "rss_growth_mb": round(grew[worker], 1) if worker else None,
        }


# Each run draws identities of its own (bench/cpu.py and bench/transitions.py too, through
# intake_bodies): with the same 500 in every run, each bench customer piled up open applications
# run after run, and every intake's duplicate check (the customer's earliest open application at
# the address) read them all, a cost that grew with each run (docs/bench.md: 90 rows at a million,
# 466 on a 20,000 set). Within a run the same ``n`` gives the same bodies.
IDENTITY_SEED = time.time_ns()


def intake_bodies(n: int) -> list[str]:
    from stdnum.cn import ric

    rng = random.Random(IDENTITY_SEED)
    bodies = []
    for _ in range(n):
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(40 * 365))
        body = f"140105{born:%Y%m%d}{rng.randrange(1000):03d}"
        rid = body + ric.calc_check_digit(body + "0")
        doc = {
            "category": "lv_residential",
            "business_type": "new_connection",
            "channel": "counter",
            "customer": {
                "name": BENCH_CUSTOMER,
                "id_type": "resident_id",
                "id_number": rid,
                "phone": f"139{rng.randrange(10**8):08d}",
            },
            # @N@ becomes a per-request counter: no two requests ask for the same address.
            "address": "山西省太原市小店区长治路@N@号",
            "requested_capacity": 8,
            "capacity_unit": "kW",
            "key_project": False,
        }
        bodies.append(json.dumps(doc, ensure_ascii=False))
    return bodies


def clear_kept() -> None:
    """Forget what the server under test keeps in the shared cache (its keys carry
    ``CACHE_KEY_PREFIX``): the look-up's answers and staff pages kept by an earlier run."""
    import redis

    client = redis.Redis.from_url(SERVER_ENV["REDIS_URL"])
    prefix = SERVER_ENV["CACHE_KEY_PREFIX"]
    keys = list(client.scan_iter(match=f"{prefix}:*", count=10_000))  # Django's keys: prefix:version:key
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i : i + 1000])
    log(f"cleared {len(keys):,} kept entries of the server's cache")


def http_figures(data: dict[str, Any]) -> dict[str, Any]:
    """The HTTP steps that this run measures (all of them in the whole run, in this order), each
    read figure with the bare read and the intake with the bare insert, on one gunicorn."""
    runs: dict[str, Any] = {}
    if not any(wanted(step) for step in HTTP_STEPS):
        return runs
    port = free_port()
    log(f"starting gunicorn on 127.0.0.1:{port} ({WORKERS} gthread workers × {THREADS} threads)")
    proc = start_server(port)
    srv = Server(proc, f"http://127.0.0.1:{port}")
    try:
        bare = lua_get([f"/bench/bare-read/{random.randint(1, BARE_ROWS)}/" for _ in range(2000)])
        lookup_paths = [f"/api/v1/public/applications/{n}?phone_tail={phone[-4:]}" for n, phone in data["known"]]
        lookups = lua_get(lookup_paths)
        mc = data["manager_cookie"]
        app_paths = [f"/workbench/applications/{n}/" for n in data["manager_apps"]] or ["/workbench/"]
        app_pages = lua_get(app_paths, [mc] * len(app_paths))
        queue_paths = [
            "/workbench/",
            "/workbench/?overdue=1",
            "/workbench/?page=2",
            "/workbench/?category=lv_residential",
        ]
        queue = lua_get(queue_paths, [mc] * len(queue_paths))
        from django.utils import timezone

        yesterday = timezone.localdate() - timedelta(days=1)
        stats_paths = [
            "/statistics/",
            f"/statistics/?from_date={yesterday.replace(month=1, day=1)}&to_date={yesterday}",
            f"/statistics/?from_date={yesterday - timedelta(days=90)}&to_date={yesterday}&category=lv_residential",
        ]
        stats = lua_get(stats_paths)
        # The mix the RSS figure serves: every read page above, mostly the public look-up (the
        # cheapest, so that 100,000 requests fit in the time; ≈ 3 % staff and statistics pages).
        mix_paths = lookup_paths + app_paths[:50] + queue_paths + stats_paths
        staff_n = len(app_paths[:50]) + len(queue_paths)
        mix = lua_get(mix_paths, [""] * len(lookup_paths) + [mc] * staff_n + [""] * len(stats_paths))

        # Issue 17: the look-up, the application page and the queue keep their answers per version
        # (docs/bench.md "First views and kept answers"). Each known URL is first asked once with
        # nothing kept (its own figure: the first view of a case), so the wrk runs below measure
        # what their figures say they measure: answers already kept.
        if any(wanted(step) for step in ("lookup", "app_page", "queue")):
            srv.warm_up(data, queue_paths)
        clear_kept()
        if wanted("lookup"):
            runs["progress_lookup_first"] = srv.first_views(lookup_paths, None, "first look-ups", group="lookup")
        if wanted("app_page"):
            runs["staff_application_page_first"] = srv.first_views(
                app_paths, [mc] * len(app_paths), "first views of the application page", group="app_page"
            )
        if wanted("queue"):
            runs["work_queue_first"] = srv.first_views(
                queue_paths, [mc] * len(queue_paths), "first views of the queue", group="queue"
            )

        if wanted("rss"):
            log("worker RSS: serving the first 1,000 requests (the read mix)")
            srv.serve_until(1000, mix, max_seconds=120)
            srv.asked.update(dict.fromkeys(("lookup", "app_page", "queue"), time.monotonic()))
            runs["rss_1k"] = {"served": srv.served, "rss_mb": srv.rss()}
            log(f"worker RSS after {srv.served:,} requests: {runs['rss_1k']['rss_mb']} MB")

        if any(wanted(step) for step in READS):
            runs["bare_read"] = srv.wrk("/", bare, "bare-read")
        if wanted("lookup"):
            runs["progress_lookup"] = srv.wrk("/", lookups, "progress look-up")
        # A kept staff page is served at most 30 s after it was built (docs/bench.md): each queue
        # and page is asked once more (untimed) right before its own run (Server.prime), so that
        # the measured run serves kept pages, as the look-up's does.
        if wanted("app_page"):
            srv.prime("app_page", app_paths, [mc] * len(app_paths), "application pages asked again before their run")
            runs["staff_application_page"] = srv.wrk("/", app_pages, "staff application page")
        if wanted("queue"):
            srv.prime("queue", queue_paths, [mc] * len(queue_paths), "the queue asked again before its run")
            runs["work_queue"] = srv.wrk("/", queue, "work queue")
        # issue 19: a county leader's queue (the county's open applications)
        if wanted("county_queue") and data.get("county_leader_cookie"):
            cc = [data["county_leader_cookie"]] * 3
            srv.prime("county_queue", queue_paths[:3], cc, "the county leader's queue asked before its run")
            runs["county_queue"] = srv.wrk("/", lua_get(queue_paths[:3], cc), "county leader's work queue")
        if wanted("statistics"):
            runs["statistics_page"] = srv.wrk("/", stats, "statistics page")
        if wanted("intake"):
            bodies = ",".join(lua_str(b) for b in intake_bodies(500))
            auth = f'wrk.headers["Authorization"] = "Bearer {data["token"]}"'
            # In turn, ROUNDS times: one slow baseline run once gave the intake 0.65 where runs of
            # the two alone gave 0.30-0.33 (docs/bench.md, "the run of 2026-12-05 07:00 UTC").
            runs["bare_insert"], runs["intake"] = srv.wrk_alternating(
                [
                    ("/bench/bare-insert/", LUA_POST % (bodies, ""), "bare-insert"),
                    ("/api/v1/applications", LUA_POST % (bodies, auth), "intake"),
                ]
            )

        if wanted("export"):
            for size in ("small", "large"):
                day = data[f"export_{size}"][0]
                time.sleep(1)  # intakes still in flight when wrk stopped
                expected = count_since(day)
                log(f"CSV export from {day} ({expected:,} rows expected)")
                runs[f"export_{size}"] = e = srv.export(day, data["leader_cookie"])
                e["expected"], e["expected_after"] = expected, count_since(day)
                log(
                    f"  {e['rows']:,} rows, {e['bytes'] / 1e6:.1f} MB in {e['seconds']:.1f}s (first byte "
                    f"{e['first_byte_s']}s), worker RSS +{e['rss_growth_mb']} MB, peak {e['peak_rss_mb']} MB"
                )

        if wanted("rss"):
            log(f"worker RSS: serving up to {RSS_REQUESTS:,} requests in all (at most {RSS_MAX_S}s more)")
            srv.serve_until(RSS_REQUESTS, mix, max_seconds=RSS_MAX_S)
            runs["rss_end"] = {"served": srv.served, "rss_mb": srv.rss()}
            log(f"worker RSS after {srv.served:,} requests: {runs['rss_end']['rss_mb']} MB")
    finally:
        log("stopping gunicorn")
        stop_server(proc)
    return runs


def export_baseline(first_day: str) -> dict[str, float]:
    """Raw psycopg COPY … TO STDOUT (CSV) of the same rows and columns: the export's baseline."""
    import psycopg

    sql = (
        "COPY (SELECT a.number, a.category, a.business_type, a.channel, a.status, a.current_stage, "
        "a.customer_name, a.address, a.requested_capacity, a.capacity_unit, a.key_project, u.username, "
        "a.accepted_at, a.completed_at, a.cancelled_at FROM applications_application a "
        "LEFT JOIN accounts_user u ON u.id = a.customer_manager_id "
        "WHERE a.accepted_at >= (%s::date)::timestamp AT TIME ZONE 'Asia/Shanghai' ORDER BY a.id) TO STDOUT WITH CSV"
    )
    with psycopg.connect(DB_URL) as conn, conn.cursor() as cur:
        t = time.perf_counter()
        rows = 0
        with cur.copy(sql, [first_day]) as copy:
            for chunk in copy:
                rows += bytes(chunk).count(b"\n")
        seconds = time.perf_counter() - t
    return {"rows": rows, "seconds": seconds}


# --- in-process figures ------------------------------------------------------------------------


def transitions(clerk: Any, n: int = TRANSITIONS) -> dict[str, Any]:
    from django.utils import timezone

    from sunshine.applications import services
    from sunshine.applications.models import StageInstance
    from sunshine.applications.validation import validate_intake

    log(f"transitions: creating {n} fresh applications (not timed)")
    today = timezone.localdate()
    bodies = [json.loads(b.replace("@N@", f"T{i}-{time.time_ns()}")) for i, b in enumerate(intake_bodies(n))]
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
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    outbox: Any = None
    with contextlib.suppress(ImportError):  # the outbox of issue 17: reactions run in the job workers
        outbox = importlib.import_module("sunshine.applications.outbox")
    if outbox is not None:
        log(f"transitions: draining {outbox.pending():,} pending reactions first (not timed)")
        outbox.drain(due_only=False)
    number, code, outcome = todo.pop()
    with CaptureQueriesContext(connection) as ctx:  # one untimed call, to count its queries
        services.complete_stage(number, code, clerk, outcome=outcome)
    queries = len(ctx.captured_queries)
    times = []
    for number, code, outcome in todo:
        t = time.perf_counter()
        services.complete_stage(number, code, clerk, outcome=outcome)
        times.append(time.perf_counter() - t)
    done = len(times)
    value = done / sum(times)
    times.sort()
    p99_ms = times[min(len(times) - 1, math.ceil(0.99 * len(times)) - 1)] * 1000
    drained: dict[str, Any] = {}
    if outbox is not None:
        # Do the workers keep up? One process drains the reactions of the transitions just made
        # (and of their untimed intakes' leftovers: none, drained above), as a worker would.
        entries = outbox.pending()
        t = time.perf_counter()
        result = outbox.drain(due_only=False)
        seconds = time.perf_counter() - t
        drained = {"entries": result.entries, "failed": result.failed, "pending": entries, "seconds": seconds}
        log(f"reactions: {result.entries} changes drained in {seconds:.2f}s ({result.failed} failed)")

    baseline = raw_transactions()
    log(
        f"transitions: {value:.0f}/s (p99 {p99_ms:.1f} ms; {done} stages, {queries} queries each)"
        f" vs raw psycopg {baseline:.0f}/s"
    )
    return {
        "value": value,
        "baseline": baseline,
        "count": done,
        "queries": queries,
        "p99_ms": p99_ms,
        "drained": drained,
    }


def raw_transactions(m: int = 2000) -> float:
    """The transitions' baseline: raw psycopg transactions (UPDATE one row + INSERT one audit
    row) per second, on tables of their own."""
    import psycopg

    with psycopg.connect(DB_URL) as conn:
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
        t = time.perf_counter()
        for i in range(m):
            with conn.transaction():
                conn.execute("UPDATE bench_case SET status = %s, updated_at = now() WHERE id = %s", ["done", i + 1])
                conn.execute("INSERT INTO bench_audit (case_id, kind, at) VALUES (%s, 'completed', now())", [i + 1])
        return m / (time.perf_counter() - t)


def workdays(seconds: float = 2.0) -> dict[str, float]:
    from sunshine.calendar import workdays as wd

    cal = wd.current()
    rng = random.Random(1)
    cases = [(date(2026, 1, 1) + timedelta(days=rng.randrange(330)), rng.randrange(1, 21)) for _ in range(5000)]

    def naive(start: date, n: int) -> date:
        day = start
        while n:
            day += timedelta(days=1)
            if cal.is_working_day(day):
                n -= 1
        return day

    for s, n in cases[:200]:
        assert cal.add_working_days(s, n) == naive(s, n)  # same answers, or the comparison means nothing

    def rate(fn: Any) -> float:
        calls, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for s, n in cases:
                fn(s, n)
            calls += len(cases)
        return calls / (time.perf_counter() - t0)

    value, baseline = rate(cal.add_working_days), rate(naive)
    log(f"workdays: {value:,.0f} calls/s vs naive {baseline:,.0f}")
    return {"value": value, "baseline": baseline}


def cpu_figures() -> dict[str, dict[str, float]]:
    """CPU per request of the read paths and the intake in this process through the whole middleware stack
    (bench/cpu.py: Django's test client, best of 3 × 200, each after an untimed pass over every
    path): unlike req/s it does not count other processes' load, so it still compares the paths
    on a shared machine."""
    from bench import cpu

    log("CPU per request in process (bench/cpu.py)")
    try:
        return cpu.measure(requests=200, rounds=3)
    except Exception as exc:  # a figure of its own: never the reason the run's results are lost
        log(f"  not measured: {exc!r}")
        return {}


def script_records(name: str, args: list[str]) -> dict[str, Any]:
    """Run bench/<name>.py; its ``BENCH_JSON`` lines are the records (kept even when it times out)."""
    env = {**os.environ, "DATABASE_URL": DB_URL, "DJANGO_SETTINGS_MODULE": "sunshine.settings"}
    log(f"running bench/{name}.py (timeout {EXTRAS_TIMEOUT}s)")
    t = time.perf_counter()
    try:
        r = subprocess.run(  # noqa: S603 (our own scripts)
            [sys.executable, f"bench/{name}.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=EXTRAS_TIMEOUT,
        )
        output, code = r.stdout + r.stderr, r.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        output = (out.decode() if isinstance(out, bytes) else out) + f"\n(timed out after {EXTRAS_TIMEOUT}s)"
        code = None
    records = [json.loads(line[len("BENCH_JSON ") :]) for line in output.splitlines() if line.startswith("BENCH_JSON ")]
    text = "\n".join(line for line in output.splitlines() if not line.startswith("BENCH_JSON "))
    return {
        "seconds": round(time.perf_counter() - t, 1),
        "returncode": code,
        "records": records,
        "output": text[-4000:],
    }


# --- report ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    mem_kb = 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "platform": platform.platform(),
    }


def server_settings() -> dict[str, Any]:
    """The PostgreSQL server's settings that move the figures (as SHOW gives them: ``4GB``,
    ``15min``), its version, ``shared_buffers`` in bytes, and the settings changed but not yet in
    force (``ALTER SYSTEM`` of a setting that needs a restart)."""
    from django.db import connection

    out: dict[str, Any] = {}
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        out["version"] = cur.fetchone()[0]
        for name in SERVER_SETTINGS:
            cur.execute("SELECT current_setting(%s)", [name])
            out[name] = cur.fetchone()[0]
        cur.execute("SELECT pg_size_bytes(current_setting('shared_buffers'))")
        out["shared_buffers_bytes"] = int(cur.fetchone()[0])
        cur.execute("SELECT name FROM pg_settings WHERE pending_restart ORDER BY name")
        out["pending_restart"] = [r[0] for r in cur.fetchall()]
    return out


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def http_fig(runs: dict[str, Any], name: str, base: str, target: float | None, **kw: Any) -> dict[str, Any]:
    r, b = runs[name], runs[base]
    f = figure(r["rps"], b["rps"], target, "req/s", p99_ms=r["p99_ms"], baseline_p99_ms=b["p99_ms"], **kw)
    f["requests"], f["non_2xx"], f["baseline_non_2xx"] = r["requests"], r["non_2xx"], b["non_2xx"]
    f["socket_errors"], f["baseline_socket_errors"] = r["socket_errors"], b["socket_errors"]
    if r["non_2xx"] or b["non_2xx"]:
        f["invalid"] = f"{r['non_2xx']} / {b['non_2xx']} non-2xx responses"
    if "rounds_rps" in r:  # measured in turn with its baseline (Server.wrk_alternating)
        f["rounds_rps"], f["baseline_rounds_rps"] = r["rounds_rps"], b["rounds_rps"]
    return f


def build_figures(
    runs: dict[str, Any],
    trans: dict[str, Any] | None,
    work: dict[str, Any] | None,
    export_base: dict[str, float] | None,
    sweep: dict[str, Any] | None,
    report: dict[str, Any] | None,
    province: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The figures of what was measured (a run of chosen steps has only theirs); ``not_measured``
    names what the whole run leaves out (extras off, an older data set)."""
    not_measured: list[str] = []
    figures: dict[str, Any] = {}
    if "progress_lookup" in runs:
        figures["progress_lookup"] = http_fig(runs, "progress_lookup", "bare_read", 0.8, max_p99_ms=P99_MS)
        figures["progress_lookup_first"] = http_fig(
            runs,
            "progress_lookup_first",
            "bare_read",
            None,
            note="every known number asked once with nothing kept (8 at a time): the first look-up of a case",
        )
    if "staff_application_page" in runs:
        figures["staff_application_page"] = http_fig(
            runs, "staff_application_page", "bare_read", 0.25, max_p99_ms=P99_MS
        )
        figures["staff_application_page_first"] = http_fig(
            runs,
            "staff_application_page_first",
            "bare_read",
            None,
            note="each of the 500 pages asked once with nothing kept (8 at a time): the first view of a case",
        )
    if "work_queue" in runs:
        figures["work_queue"] = http_fig(runs, "work_queue", "bare_read", 0.25, max_p99_ms=P99_MS)
    if "statistics_page" in runs:
        figures["statistics_page"] = http_fig(runs, "statistics_page", "bare_read", None)
    if "intake" in runs:
        r, b = runs["intake"], runs["bare_insert"]
        rounds = ""
        if "rounds_rps" in r:
            rounds = (
                f"measured in turn with the bare insert, the median of {len(r['rounds_rps'])} rounds each "
                f"(intake {', '.join(f'{x:.0f}' for x in r['rounds_rps'])}; "
                f"bare insert {', '.join(f'{x:.0f}' for x in b['rounds_rps'])} req/s)"
            )
        figures["intake"] = http_fig(
            runs, "intake", "bare_insert", 0.4, min_value=300, max_p99_ms=P99_MS, **({"note": rounds} if rounds else {})
        )
    if trans is not None:
        figures["transitions"] = figure(
            trans["value"],
            trans["baseline"],
            0.5,
            "transitions/s",
            min_value=850,
            p99_ms=trans["p99_ms"],
            max_p99_ms=P99_MS,
            count=trans["count"],
            queries=trans["queries"],
            note="services.complete_stage in one process, its reactions left to the workers (outbox); "
            "baseline: raw psycopg transactions (UPDATE one row + INSERT one audit row) per second",
        )
        d = trans.get("drained")
        if d:
            rate = d["entries"] / d["seconds"] if d["seconds"] and d["entries"] else None
            figures["reactions_drain"] = figure(
                rate,
                trans["value"],
                1.0,
                "changes/s",
                changes=d["entries"],
                failed=d["failed"],
                seconds=round(d["seconds"], 2),
                note="one process draining the outbox entries of the measured transitions (their rung moments, "
                "notices, follow-ups) as a job worker does; baseline: the transitions/s above, so ≥ 1 means one "
                "worker keeps up with one process making transitions",
            )
            if d["failed"] or d["entries"] < d["pending"]:
                figures["reactions_drain"]["invalid"] = (
                    f"{d['failed']} failed, {d['entries']} of {d['pending']} drained"
                )
        else:
            not_measured.append("reactions drain (no outbox in this version)")
    if work is not None:
        figures["workdays"] = figure(work["value"], work["baseline"], None, "calls/s")
    if "export_large" in runs and export_base is not None:
        large, small = runs["export_large"], runs["export_small"]
        f = figure(
            large["rows"] / large["seconds"] if large["seconds"] else None,
            export_base["rows"] / export_base["seconds"] if export_base["seconds"] else None,
            None,
            "rows/s",
            rows=large["rows"],
            seconds=round(large["seconds"], 2),
            first_byte_s=round(large["first_byte_s"] or 0, 3),
            megabytes=round(large["bytes"] / 1e6, 1),
            note="baseline: psycopg COPY (SELECT the same columns) TO STDOUT CSV",
        )
        if large["status"] != 200 or not large["expected"] <= large["rows"] <= large["expected_after"]:
            f["invalid"] = f"HTTP {large['status']}, {large['rows']:,} rows of {large['expected']:,}"
        figures["csv_export"] = f
        figures["csv_export_memory"] = figure(
            large["peak_rss_mb"],
            small["peak_rss_mb"],
            1.1,
            "MB",
            better="lower",
            rows=large["rows"],
            baseline_rows=small["rows"],
            rss_growth_mb=large["rss_growth_mb"],
            baseline_rss_growth_mb=small["rss_growth_mb"],
            note=f"peak worker RSS while streaming {large['rows']:,} rows vs {small['rows']:,} rows "
            "(constant memory: ≈ 1)",
        )
    if "rss_end" in runs:
        first, end = runs["rss_1k"], runs["rss_end"]
        f = figure(
            max(end["rss_mb"], default=None),
            max(first["rss_mb"], default=None),
            None,
            "MB",
            better="lower",
            requests=end["served"],
            baseline_requests=first["served"],
            workers_mb=end["rss_mb"],
            baseline_workers_mb=first["rss_mb"],
            note=f"largest worker RSS after {end['served']:,} requests served vs after {first['served']:,}",
        )
        if end["served"] < RSS_REQUESTS:
            f["note"] += f" (only {end['served']:,} of {RSS_REQUESTS:,} requests within BENCH_RSS_MAX_S)"
        figures["worker_rss"] = f

    if sweep is not None:
        by_due = {r["due"]: r for r in sweep["records"]}
        raw_rate = trans["baseline"] if trans is not None else raw_transactions()
        for due in (0, 1000, 10000):
            r = by_due.get(due)
            name = f"sweep_{due}_due"
            if r is None:
                figures[name] = figure(None, None, None, "s", better="lower", invalid="not measured (see extras)")
                continue
            if due == 0:
                figures[name] = figure(
                    r["seconds"],
                    r["raw_selection_s"],
                    None,
                    "s",
                    better="lower",
                    queries=r["queries"],
                    note="baseline: the sweep's selection as one raw SQL statement",
                )
            else:
                rate = r["fired"] / r["seconds"] if r["seconds"] and r["fired"] else None
                figures[name] = figure(
                    rate,
                    raw_rate,
                    None,
                    "rungs/s",
                    due=due,
                    fired=r["fired"],
                    seconds=r["seconds"],
                    ms_per_rung=r["ms_per_rung"],
                    queries=r["queries"],
                    messages=r["messages"],
                    note="baseline: raw psycopg transactions (UPDATE one row + INSERT one audit row) per second",
                )
                if r["fired"] < due:
                    figures[name]["note"] += f"; only {r['fired']:,} of {due:,} rungs were due"
    elif wanted("sweep") or ONLY is None:
        not_measured.append("sweep (BENCH_EXTRAS=0)")
    if report is not None and report["records"]:
        r = report["records"][-1]
        figures["half_month_report"] = figure(
            r["sections_s"],
            r["raw_count_s"],
            None,
            "s",
            better="lower",
            queries=r["queries"],
            files_s=r["files_s"],
            period=r["period"],
            note="report sections (best of 1); baseline: a raw COUNT of the period's accepted and completed"
            " applications",
        )
    elif report is not None:
        figures["half_month_report"] = figure(None, None, None, "s", better="lower", invalid="bench/report.py failed")
    elif wanted("report") or ONLY is None:
        not_measured.append("half-month report (BENCH_EXTRAS=0)")
    province_figures(figures, not_measured, runs, province)
    return figures, not_measured


# Issue 19: a unit page a leader opens (the city's figures with its counties ranked) and the
# province's ranking of its 117 counties should answer within these seconds; the full report of a
# city is generated in the background (no bound, like the half-month report).
CITY_PAGE_MAX_S = 2.0
PROVINCE_RANKING_MAX_S = 5.0


def province_figures(
    figures: dict[str, Any], not_measured: list[str], runs: dict[str, Any], province: dict[str, Any] | None
) -> None:
    """The province's figures (issue 19): the county leader's queue over HTTP, and the records of
    bench/province.py (in process, each against raw SQL of the same run)."""
    if "county_queue" in runs:
        figures["county_leader_queue"] = http_fig(runs, "county_queue", "bare_read", 0.25, max_p99_ms=P99_MS)
    elif wanted("county_queue"):
        not_measured.append(f"county leader's queue (no {COUNTY_LEADER}: a data set generated before the province)")
    if province is None:
        if wanted("province") or ONLY is None:
            not_measured.append("province reports (BENCH_EXTRAS=0)")
        return
    rec = province["records"][-1] if province["records"] else {}
    raw_note = (
        "in process, best of 3; baseline: one raw SQL statement counting per county the period's accepted "
        "and completed applications"
    )
    specs = [
        ("city_page", "city_unit_page", CITY_PAGE_MAX_S, "太原's unit page: its figures and its 10 counties ranked"),
        ("city_report", "city_half_month_report", None, "太原's half-month report, every section, counties ranked"),
        ("province_ranking", "province_county_ranking", PROVINCE_RANKING_MAX_S, "the province's 117 counties ranked"),
    ]
    for key, name, max_s, what in specs:
        r = rec.get(key)
        if r is None:
            figures[name] = figure(None, None, None, "s", better="lower", invalid="bench/province.py failed")
            continue
        extra = {"max_value": max_s} if max_s is not None else {}
        figures[name] = figure(
            r["seconds"],
            r["raw_s"],
            None,
            "s",
            better="lower",
            cpu_s=r["cpu_s"],
            queries=r["queries"],
            period=rec.get("period"),
            note=f"{what}; {raw_note}",
            **extra,
        )
    q = rec.get("county_queue_sql")
    if q is not None and "county_leader_queue" in figures:
        figures["county_leader_queue"]["raw_sql_s"] = q["raw_s"]
        figures["county_leader_queue"]["open"] = q["open"]


def main(argv: list[str] | None = None) -> None:
    import argparse

    global ONLY
    parser = argparse.ArgumentParser(description="make bench (docs/bench.md)")
    parser.add_argument(
        "--only",
        default=os.environ.get("BENCH_ONLY"),
        help=f"comma-separated steps to run against the data set as it is: {', '.join(STEPS)} "
        f"(or {', '.join(ALIASES)}); default BENCH_ONLY, or the whole run",
    )
    ONLY = chosen_steps(parser.parse_args(argv).only)
    if ONLY is not None:
        log(f"only these steps: {', '.join(s for s in STEPS if s in ONLY)}")
    if shutil.which("wrk") is None and any(wanted(s) for s in HTTP_STEPS):
        raise SystemExit("make bench needs wrk on PATH (Debian: apt-get install -y wrk)")
    started = time.time()
    load_before = load_average()
    ensure_database()
    import django

    django.setup()
    server = server_settings()
    log(f"PostgreSQL {server['version']}: " + ", ".join(f"{k} {server[k]}" for k in SERVER_SETTINGS))
    for warning in server_warnings(server):
        log(f"WARNING: {warning}")
    data = prepare_data()
    runs = http_figures(data)
    export_base = None
    if wanted("export"):
        export_base = export_baseline(data["export_large"][0])
        log(f"CSV baseline (COPY): {export_base['rows']:,} rows in {export_base['seconds']:.2f}s")
    trans = transitions(data["clerk"]) if wanted("transitions") else None
    work = workdays() if wanted("workdays") else None
    cpu = cpu_figures() if wanted("cpu") else {}
    sweep = script_records("sweep", ["--applications", "0"]) if wanted("sweep") else None
    report = script_records("report", ["--repeat", "1"]) if wanted("report") else None
    province = script_records("province", ["--repeat", "3"]) if wanted("province") else None
    figures, not_measured = build_figures(runs, trans, work, export_base, sweep, report, province)
    for name, path, base in (
        ("lookup", "progress_lookup", "bare"),
        ("app_page", "staff_application_page", "bare"),
        ("queue", "work_queue", "bare"),
        ("county_queue", "county_leader_queue", "bare"),
        ("intake", "intake", "bare_insert"),
    ):
        bare = cpu.get(base)
        if bare and name in cpu:
            figures[f"cpu_{path}"] = figure(
                cpu[name]["cpu_ms"],
                bare["cpu_ms"],
                None,
                "ms CPU/request",
                better="lower",
                queries=cpu[name]["queries"],
                baseline_queries=bare["queries"],
                note="in process, Django's test client through the whole stack (bench/cpu.py); "
                f"baseline: the {'bare insert' if base == 'bare_insert' else 'bare read'} the same way",
            )
        elif wanted("cpu"):
            not_measured.append(f"CPU per request of {path}")

    import django as dj
    import gunicorn
    from django.utils import timezone

    today = timezone.localdate().isoformat()  # Asia/Shanghai, the application's day
    result = {
        "date": today,
        "figures": figures,
        "machine": {**machine(), "load_average_at_start": load_before, "load_average_at_end": load_average()},
        "server": server,
        "versions": {
            "python": platform.python_version(),
            "django": dj.get_version(),
            "postgresql": server["version"],
            "gunicorn": gunicorn.__version__,
            "wrk": " ".join(subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[:2]),  # noqa: S607
        },
        "configuration": {
            "server": (
                f"gunicorn {'deploy/gunicorn.conf.py' if GUNICORN_CONF.exists() else 'bench defaults'}, "
                f"gthread {WORKERS} workers × {THREADS} threads, max_requests off, CONN_MAX_AGE 600, DEBUG off"
            ),
            "applications": data["applications"],
            "generated_now": data["generated"],
            "generate_s": data["generate_s"],
            "generate_jobs": JOBS,
            "statistics_refresh_s": data["refresh_s"],
            "vacuumed_tables": len(data.get("vacuumed") or []),
            "wrk": f"-t 2 -c {CONNECTIONS}, {DURATION} s after a 5 s warm-up, on the same machine",
            "staff_user": f"{MANAGER} (customer manager, {data['manager_open']:,} open applications, "
            f"{data['manager_bench_made']:,} of them made by the bench)",
            "county_leader": f"{COUNTY_LEADER} ({data['county_open']:,} open applications in the county, "
            f"{data['county_bench_made']:,} of them made by the bench)",
            "intakes_to": data.get("intake_unit"),
            "wall_time_s": round(time.time() - started),
        },
        "extras": {"sweep": sweep, "report": report, "province": province},
        "not_measured": not_measured,
    }
    if ONLY is not None:
        result["configuration"]["only"] = ",".join(s for s in STEPS if s in ONLY)
    md = markdown(result)
    for name, e in (("sweep", sweep), ("report", report), ("province", province)):
        if e is not None:
            md += (
                f"\n## bench/{name}.py ({e['seconds']} s, exit {e['returncode']})\n\n```\n{e['output'].strip()}\n```\n"
            )
    print(md)
    stem = os.environ.get("BENCH_RESULT") or (str(today) if ONLY is None else None)
    if stem is None:  # chosen steps only: printed, never written over the day's results
        log(f"done in {round(time.time() - started)} s (BENCH_ONLY: no results file; BENCH_RESULT names one)")
        return
    RESULTS.mkdir(parents=True, exist_ok=True)  # a second run of the day names its own files (BENCH_RESULT)
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (RESULTS / f"{stem}.md").write_text(md, encoding="utf-8")
    log(f"wrote bench/results/{stem}.json and .md in {round(time.time() - started)} s")


if __name__ == "__main__":
    main()
