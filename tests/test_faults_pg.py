"""Faults on PostgreSQL with real processes (issue 8.4).

A private PostgreSQL instance (initdb into a temporary directory, a free port on 127.0.0.1, never
the shared cluster on 5432) carries a migrated Sunshine database; real processes run against it:

1. gunicorn (2 gthread workers × 4 threads, persistent connections) takes a load of intakes,
   each with its own ``Idempotency-Key``, while the test terminates every database session once,
   restarts PostgreSQL (``pg_ctl restart -m fast``) and crashes it (``-m immediate``: recovery
   on start). Clients retry a 503 or a dropped connection with the same key. Every request ends
   with one application; every answer on the way was a 201 or a 503 with the contract's error
   body; nothing is lost or duplicated, and the audit chains verify. A visitor reloading the
   public home page meanwhile sees the page or the short Chinese 503 page, nothing else.
2. ``manage.py db_worker`` is killed with SIGKILL while it waits for the SMS gateway's answer; a
   second worker finishes the work (the held message is due again after the stall time): every
   message is marked sent once, with one ``notification_sent`` event, and the gateway (which,
   like a real one, accepts a repeated ``Idempotency-Key`` once) holds exactly one SMS per key.
3. ``manage.py run_scheduler`` is killed with SIGKILL; a second scheduler takes the lease over
   once it has expired, not before.

The figures go to ``var/faults-summary.json`` (README, "Security": "Faults"). Skipped unless
``DATABASE_URL`` names PostgreSQL and the server binaries are in /usr/lib/postgresql/*/bin.
As root (CI), PostgreSQL runs as the ``postgres`` user through ``runuser``.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def _no_postgres_user() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return True
    return False


pytestmark = [
    pytest.mark.skipif(
        not ON_POSTGRES,
        reason="fault tests run on PostgreSQL: run with DATABASE_URL=postgres://… (apt-get install postgresql)",
    ),
    pytest.mark.skipif(
        not PG_BINS,
        reason="PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: apt-get install postgresql",
    ),
    pytest.mark.skipif(
        os.geteuid() == 0 and _no_postgres_user(),
        reason="as root, PostgreSQL must run as a 'postgres' user: apt-get install postgresql creates it",
    ),
    pytest.mark.timeout(300),
]

REQUESTS = int(os.environ.get("FAULTS_REQUESTS", "120"))
CLIENT_THREADS = 8
CLIENT_TIMEOUT = 60  # seconds one HTTP attempt may take before it counts as a hang
MAX_ATTEMPTS = 12
SUMMARY: dict[str, Any] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_summary() -> None:
    path = Path(settings.VAR_DIR) / "faults-summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(SUMMARY, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --- a private PostgreSQL instance ----------------------------------------------------------------


class PrivatePostgres:
    """initdb + pg_ctl in a temporary directory; as root, everything runs as ``postgres``."""

    def __init__(self, base: Path) -> None:
        self.bin = Path(PG_BINS[-1])
        self.base = base
        self.data = base / "data"
        self.sock = base / "sock"
        self.log = base / "postgres.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.sock.mkdir()
        if self.as_root:  # PostgreSQL refuses to run as root
            pw = pwd.getpwnam("postgres")
            for p in (base, self.sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_root else cmd

    def run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(self._cmd(*args), cwd=self.base, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
        return done

    def init_and_start(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "-N")
        self.options = (
            f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c max_connections=60 "
            # A process crash, not a machine crash, is what we inject: the kernel keeps the WAL.
            "-c fsync=off -c full_page_writes=off"
        )
        self.start()

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", self.options, "start")

    def down_for(self, seconds: float) -> None:
        """Stop (fast), stay down ``seconds``, start again."""
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        time.sleep(seconds)
        self.start()

    def restart(self, mode: str) -> float:
        """``pg_ctl restart -m fast|immediate``; returns how long it took (the outage)."""
        t = time.monotonic()
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-m", mode, "restart")
        return time.monotonic() - t

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop", check=False)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def connect(self, name: str = "sunshine") -> Any:
        import psycopg

        return psycopg.connect(self.url(name), autocommit=True, connect_timeout=10)

    def terminate_sessions(self, name: str) -> int:
        with self.connect("postgres") as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            ).fetchall()
        return len(rows)


def stop_process(proc: subprocess.Popen[Any] | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop a child started in its own session, and everything it started."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@dataclass
class Site:
    pg: PrivatePostgres
    base: Path
    env: dict[str, str]
    token: str
    clerk_id: int
    port: int = 0
    server: subprocess.Popen[bytes] | None = None
    children: list[subprocess.Popen[Any]] = field(default_factory=list)

    def manage(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[Any]:
        out = (self.base / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        self.children.append(proc)
        return proc

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.base / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace")[-chars:] if path.exists() else ""


SEED = """
from datetime import timedelta
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from django.utils import timezone
from sunshine.accounts.models import ApiToken, Role, ServiceArea, User, hash_token
area = ServiceArea.objects.create(code="jinyuan", name="晋源区", keywords="晋源区,晋祠")
clerk = User.objects.create_user(username="clerk", password=None, role=Role.CLERK)
alice = User.objects.create_user(username="alice", password=None, role=Role.CUSTOMER_MANAGER,
                                 last_name="李", first_name="爱", work_phone="0351-1111111")
alice.areas.add(area)
raw = ApiToken.new_raw()
ApiToken.objects.create(user=clerk, key_hash=hash_token(raw), expires_at=timezone.now() + timedelta(hours=3))
print("SEEDED", clerk.pk, raw)
"""


@pytest.fixture(scope="module")
def site():
    """The private cluster, a migrated database with a clerk (API token) and a customer manager,
    and gunicorn serving it. Everything is stopped and removed at the end, also on failure."""
    base = Path(tempfile.mkdtemp(prefix="sunshine-faults-"))
    pg = PrivatePostgres(base)
    s: Site | None = None
    try:
        t = time.monotonic()
        pg.init_and_start()
        with pg.connect("postgres") as conn:
            conn.execute("CREATE DATABASE sunshine")
        var = base / "var"
        var.mkdir()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "sunshine.settings",
            "DATABASE_URL": pg.url("sunshine"),
            "SUNSHINE_VAR_DIR": str(var),
            "DEBUG": "false",
            "CONN_MAX_AGE": "600",
            "SMS_BACKEND": "file",
            "SMS_FILE": str(var / "sms.log"),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("PYTEST_CURRENT_TEST", None)
        s = Site(pg=pg, base=base, env=env, token="", clerk_id=0)
        # gunicorn boots (imports, no query) while the database is migrated.
        s.port = free_port()
        s.server = s.spawn(
            "gunicorn",
            "-m",
            "gunicorn",
            "sunshine.wsgi:application",
            "--bind",
            f"127.0.0.1:{s.port}",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
        )
        done = s.manage("shell", "-c", SEED, timeout=240)  # migrate, then a clerk with a token
        assert done.returncode == 0, done.stderr[-3000:]
        line = next(ln for ln in done.stdout.splitlines() if ln.startswith("SEEDED "))
        _, clerk_id, token = line.split()
        s.token, s.clerk_id = token, int(clerk_id)
        wait_until_serving(s)
        SUMMARY["setup_seconds"] = round(time.monotonic() - t, 1)
        yield s
    finally:
        if s is not None:
            for proc in s.children:
                stop_process(proc, signal.SIGKILL)
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)


def wait_until_serving(s: Site) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert s.server is not None and s.server.poll() is None, s.log_tail("gunicorn")
        try:
            status, _, _ = call(s, "GET", "/api/v1/applications?page_size=1", timeout=30)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError("gunicorn did not answer within 120 s: " + s.log_tail("gunicorn"))


def call(
    s: Site,
    method: str,
    path: str,
    body: Any = None,
    key: str | None = None,
    timeout: float = CLIENT_TIMEOUT,
    auth: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=timeout)
    headers = {"Authorization": f"Bearer {s.token}", "Accept-Language": "en"} if auth else {}
    data = None
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json"
    if key:
        headers["Idempotency-Key"] = key
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def intake(i: int) -> dict[str, Any]:
    """A valid residential counter intake; customer, phone and address differ per ``i``."""
    from stdnum.cn import ric

    born = date(1960, 1, 1) + timedelta(days=i)
    head = f"140105{born:%Y%m%d}{i % 1000:03d}"
    return {
        "category": "lv_residential",
        "business_type": "new_connection",
        "channel": "counter",
        "customer": {
            "name": "故障测试",
            "id_type": "resident_id",
            "id_number": head + ric.calc_check_digit(head + "0"),
            "phone": f"139{i:08d}",
        },
        "address": f"太原市晋源区晋祠路{i}号",
        "requested_capacity": 8,
        "capacity_unit": "kW",
        "key_project": False,
    }


# --- 1. intakes while PostgreSQL restarts ---------------------------------------------------------


@dataclass
class Outcome:
    key: str
    number: str | None = None
    answers: list[str] = field(default_factory=list)  # "201", "503", "connection_error", "timeout", …
    bad_answers: list[str] = field(default_factory=list)  # anything but 201/503-with-error-body
    first_503_at: float | None = None  # wall clock of the first 503 (same machine as the server)


class Load:
    def __init__(self, s: Site) -> None:
        self.s = s
        self.started = 0
        self.lock = threading.Lock()

    def one(self, i: int, key: str) -> Outcome:
        with self.lock:
            self.started += 1
        out = Outcome(key)
        body = intake(i)
        for attempt in range(MAX_ATTEMPTS):
            try:
                status, headers, raw = call(self.s, "POST", "/api/v1/applications", body, key)
            except TimeoutError:
                out.answers.append("timeout")
                continue
            except OSError:  # refused or reset: the server is there, the connection was not
                out.answers.append("connection_error")
                time.sleep(min(0.2 * 2**attempt, 2))
                continue
            out.answers.append(str(status))
            try:
                data = json.loads(raw)
            except ValueError:
                data = None
            if status == 201 and isinstance(data, dict) and data.get("number"):
                out.number = data["number"]
                return out
            error_body = (
                headers.get("content-type", "").startswith("application/json")
                and isinstance(data, dict)
                and set(data) == {"code", "message"}
            )
            if status == 503 and error_body and data["code"] == "unavailable" and headers.get("retry-after"):
                out.first_503_at = out.first_503_at or time.time()
                time.sleep(min(float(headers["retry-after"]), 3.0))  # the contract says when to retry
                continue
            out.bad_answers.append(f"{status} {raw[:300]!r}")
            if status < 500 or not error_body:
                return out
            time.sleep(1)
        return out


def test_intakes_while_postgresql_restarts_are_neither_lost_nor_duplicated(site: Site):
    s = site
    load = Load(s)
    keys = [str(uuid.uuid4()) for _ in range(REQUESTS)]
    faults: list[dict[str, Any]] = []
    stop = threading.Event()

    def inject() -> None:
        """At 20 %, 45 % and 70 % of the requests started: kill every session, restart, crash."""
        plan = [
            (0.20, "terminate_sessions", lambda: s.pg.terminate_sessions("sunshine")),
            (0.45, "restart_fast", lambda: s.pg.restart("fast")),
            (0.70, "restart_immediate", lambda: s.pg.restart("immediate")),
        ]
        for share, kind, act in plan:
            while load.started < share * REQUESTS and not stop.is_set():
                time.sleep(0.02)
            if stop.is_set():
                return
            at = load.started
            result = act()
            faults.append({"kind": kind, "at_request": at, "result": round(result, 2)})

    pages: Counter[str] = Counter()

    def browse() -> None:
        """A visitor reloading the public home page (it reads the processes) meanwhile: 200, or
        the short Chinese 503 page with Retry-After."""
        while not stop.is_set():
            try:
                status, headers, raw = call(s, "GET", "/", auth=False)
            except OSError:
                pages["connection_error"] += 1
                continue
            page = raw.decode("utf-8", "replace")
            if status == 503 and headers.get("retry-after") and "<h1>服务暂时不可用</h1>" in page:
                pages["503"] += 1
            else:
                pages[str(status) if status == 200 else f"bad {status} {page[:200]!r}"] += 1
            time.sleep(0.1)

    injector = threading.Thread(target=inject, name="fault-injector")
    browser = threading.Thread(target=browse, name="browser")
    t0 = time.monotonic()
    injector.start()
    browser.start()
    try:
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            outcomes = list(pool.map(load.one, range(REQUESTS), keys))
    finally:
        stop.set()
        injector.join(120)
        browser.join(120)
    elapsed = time.monotonic() - t0
    answers = Counter(a for o in outcomes for a in o.answers)
    retried = [o for o in outcomes if len(o.answers) > 1]
    lost = [o.key for o in outcomes if o.number is None]
    bad = [b for o in outcomes for b in o.bad_answers]

    # A retry of every key, after the faults: the same application again (the replay survived).
    def replay(i: int) -> str:
        status, _, raw = call(s, "POST", "/api/v1/applications", intake(i), keys[i])
        return (
            "same" if status == 201 and json.loads(raw)["number"] == outcomes[i].number else f"{status} {raw[:200]!r}"
        )

    audit_proc = subprocess.Popen(  # meanwhile: replays add no event
        [sys.executable, "manage.py", "verify_audit"],
        cwd=ROOT,
        env=s.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        replays = Counter(pool.map(replay, range(REQUESTS)))
    audit_out, audit_err = (b.decode() for b in audit_proc.communicate(timeout=120))

    # What the database holds.
    with s.pg.connect() as conn:
        records = dict(
            conn.execute(
                "SELECT r.key, a.number FROM applications_idempotencyrecord r "
                "JOIN applications_application a ON a.id = r.application_id WHERE r.scope = %s",
                [f"user:{s.clerk_id}"],
            ).fetchall()
        )
        numbers = [n for (n,) in conn.execute("SELECT number FROM applications_application").fetchall()]
        intake_events = conn.execute(
            "SELECT count(*), count(DISTINCT application_id) FROM applications_event WHERE type = 'intake'"
        ).fetchone()
        accepted = dict(
            conn.execute("SELECT number, extract(epoch FROM accepted_at)::float FROM applications_application")
        )
    duplicated = len(numbers) - len(set(records.values()))
    # Requests whose first attempt had committed when its answer was a 503 (the connection died
    # after the commit): the retry got the same application through the Idempotency-Key.
    committed_before_503 = sum(
        1 for o in outcomes if o.first_503_at is not None and o.number and accepted[o.number] < o.first_503_at
    )

    SUMMARY["db_restart"] = {
        "requests": REQUESTS,
        "client_threads": CLIENT_THREADS,
        "server": "gunicorn, 2 gthread workers × 4 threads, "
        + (
            f"psycopg pool of {os.environ['DB_POOL_MAX']} per process"
            if int(os.environ.get("DB_POOL_MAX", "0") or 0) > 0
            else "CONN_MAX_AGE=600"
        )
        + ", CONN_HEALTH_CHECKS",
        "faults_injected": len(faults),
        "faults": faults,
        "http_attempts": sum(len(o.answers) for o in outcomes),
        "answers": dict(answers),
        "requests_retried": len(retried),
        "max_attempts_of_one_request": max(len(o.answers) for o in outcomes),
        "bad_answers": len(bad),
        "lost": len(lost),
        "duplicated": duplicated,
        "replayed_same_number": replays["same"],
        "applications": len(numbers),
        "committed_before_503_then_replayed": committed_before_503,
        "page_answers": dict(pages),
        "audit_verified": audit_proc.returncode == 0,
        "seconds": round(elapsed, 1),
    }
    write_summary()
    print("\nfaults/db_restart:", json.dumps(SUMMARY["db_restart"], ensure_ascii=False))

    assert [f["kind"] for f in faults] == ["terminate_sessions", "restart_fast", "restart_immediate"]
    assert bad == [], bad[:5]
    assert answers["timeout"] == 0
    assert set(answers) <= {"201", "503", "connection_error"}
    assert lost == []
    assert answers["201"] == REQUESTS
    assert replays == Counter({"same": REQUESTS})
    assert set(records) == set(keys)
    assert {k: records[k] for k in keys} == {o.key: o.number for o in outcomes}
    assert sorted(numbers) == sorted(o.number for o in outcomes)
    assert duplicated == 0
    assert tuple(intake_events) == (REQUESTS, REQUESTS)
    assert audit_proc.returncode == 0, audit_out + audit_err
    assert audit_out.startswith("Audit log intact: ")
    assert pages["200"] > 0 and set(pages) <= {"200", "503"}, pages


# --- 2. a worker killed mid-delivery ---------------------------------------------------------------


class Gateway:
    """An SMS gateway on 127.0.0.1 for the http backend. Like a real one it accepts a message
    once per ``Idempotency-Key`` (``delivered``); ``requests`` lists every key it was sent. The
    ``hold_at``-th request is held unanswered until ``release`` (the worker dies waiting)."""

    def __init__(self, hold_at: int) -> None:
        self.requests: list[str] = []
        self.delivered: dict[str, str] = {}
        self.hold_at = hold_at
        self.held_key = ""
        self.held = threading.Event()
        self.release = threading.Event()
        lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers["Idempotency-Key"]
                assert body["requestId"] == key
                with lock:
                    gateway.requests.append(key)
                    gateway.delivered.setdefault(key, body["content"])
                    hold = len(gateway.requests) == gateway.hold_at
                    if hold:
                        gateway.held_key = key
                if hold:
                    gateway.held.set()
                    gateway.release.wait(120)
                with contextlib.suppress(OSError):  # the worker may be dead by now
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_worker_killed_mid_delivery_resumes_without_loss_or_duplicate(site: Site):
    s = site
    # Work of its own (the test above leaves more): each intake queues an SMS to the customer
    # and an inbox message to the customer manager.
    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(lambda i: call(s, "POST", "/api/v1/applications", intake(15_000 + i))[0], range(6)))
    assert made == [201] * 6
    gateway = Gateway(hold_at=5)
    worker_env = {
        "SMS_BACKEND": "http",
        "SMS_HTTP_URL": gateway.url,
        "SMS_HTTP_TIMEOUT_SECONDS": "120",
        "DELIVERY_STALL_SECONDS": "3",
    }
    t0 = time.monotonic()
    try:
        first = s.spawn(
            "worker-a", "manage.py", "db_worker", "--queue-name", "*", "--interval", "0.2", "--no-reload",
            "--no-startup-delay", env=worker_env,
        )  # fmt: skip
        assert gateway.held.wait(120), s.log_tail("worker-a")
        stop_process(first, signal.SIGKILL)  # dies waiting for the gateway's answer
        assert first.returncode == -signal.SIGKILL
        gateway.release.set()
        with s.pg.connect() as conn:
            in_flight = conn.execute(
                "SELECT status, attempts FROM notifications_message WHERE delivery_key = %s", [gateway.held_key]
            ).fetchone()
        # A second worker takes the work over: the reactions the first one had not committed, and
        # the messages it had claimed; the one it held is due again once the stall time (3 s here)
        # has passed, and goes out again with the same key.
        second = s.spawn(
            "worker-b", "manage.py", "db_worker", "--queue-name", "*", "--interval", "0.2", "--no-reload",
            "--no-startup-delay", env=worker_env,
        )  # fmt: skip
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and second.poll() is None:
            with s.pg.connect() as conn:
                waiting = conn.execute(
                    "SELECT (SELECT count(*) FROM notifications_message WHERE status <> 'sent') + "
                    "(SELECT count(*) FROM applications_outbox) + "
                    "(SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'READY')"
                ).fetchone()[0]
            if waiting == 0:
                break
            time.sleep(0.5)
        assert second.poll() is None, s.log_tail("worker-b")
        # The second worker outlives a database outage (2 s down): it waits, reconnects and
        # delivers what is queued after it (django-tasks-db's own worker exits there).
        s.pg.down_for(2)
        load = Load(s)
        after = [load.one(16_000 + i, str(uuid.uuid4())) for i in range(3)]
        assert all(o.number for o in after), after
        while time.monotonic() < deadline and second.poll() is None:
            with s.pg.connect() as conn:
                waiting = conn.execute(
                    "SELECT (SELECT count(*) FROM notifications_message WHERE status <> 'sent') + "
                    "(SELECT count(*) FROM applications_outbox)"
                ).fetchone()[0]
            if waiting == 0:
                break
            time.sleep(0.5)
        assert second.poll() is None, s.log_tail("worker-b")
        assert "database unavailable" in s.log_tail("worker-b", 100_000)
        stop_process(second, signal.SIGTERM)
        assert second.returncode == 0, s.log_tail("worker-b")
    finally:
        gateway.close()
    elapsed = time.monotonic() - t0

    with s.pg.connect() as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM notifications_message GROUP BY 1").fetchall())
        sms = dict(conn.execute("SELECT delivery_key::text, attempts FROM notifications_message WHERE channel = 'sms'"))
        messages = conn.execute("SELECT count(*) FROM notifications_message").fetchone()[0]
        events = Counter(
            m
            for (m,) in conn.execute(
                "SELECT data->>'message' FROM applications_event WHERE type = 'notification_sent'"
            ).fetchall()
        )
        tasks = dict(
            conn.execute("SELECT status, count(*) FROM django_tasks_database_dbtaskresult GROUP BY 1").fetchall()
        )
    per_key = Counter(gateway.requests)
    SUMMARY["worker_kill"] = {
        "messages": messages,
        "sms": len(sms),
        "workers_killed": 1,
        "worker_outlived_database_down_seconds": 2,
        "gateway_requests": len(gateway.requests),
        "redelivered_same_key": sum(n - 1 for n in per_key.values()),
        "sms_accepted_by_gateway": len(gateway.delivered),
        "lost": len(set(sms) - set(gateway.delivered)),
        "duplicated": sum(1 for n in events.values() if n > 1),
        "task_rows": tasks,
        "seconds": round(elapsed, 1),
    }
    write_summary()
    print("\nfaults/worker_kill:", json.dumps(SUMMARY["worker_kill"], ensure_ascii=False))

    assert in_flight == ("sending", 1)  # the gateway had it; the database never heard back
    assert statuses == {"sent": messages}
    assert len(events) == messages and set(events.values()) == {1}  # one notification_sent each
    assert set(gateway.delivered) == set(sms)  # exactly one SMS per key reached the customer
    # Only the message the dead worker held went to the gateway twice, with the same key.
    assert [(k, n) for k, n in per_key.items() if n > 1] == [(gateway.held_key, 2)]
    assert len(gateway.requests) == len(sms) + 1
    assert sms[gateway.held_key] == 2
    assert "FAILED" not in tasks


# --- 3. the scheduler's lease ---------------------------------------------------------------------


def scheduler_holder(s: Site, name: str, deadline: float) -> str:
    """The holder id a scheduler prints when it starts ("Scheduler <holder>: N periodic job(s).")."""
    while time.monotonic() < deadline:
        for line in s.log_tail(name, 20_000).splitlines():
            if line.startswith("Scheduler ") and "periodic job" in line:
                return line.split()[1].rstrip(":")
        time.sleep(0.2)
    raise AssertionError(f"{name} did not start: {s.log_tail(name)}")


def lease_row(s: Site) -> tuple[str, Any, Any, Any] | None:
    with s.pg.connect() as conn:
        return conn.execute(
            "SELECT holder, acquired_at, expires_at, now() FROM jobs_lease WHERE name = 'scheduler'"
        ).fetchone()


def test_the_scheduler_lease_passes_to_a_second_scheduler_when_the_first_dies(site: Site):
    s = site
    env = {"SCHEDULER_LEASE_SECONDS": "3"}  # renewed every second; another takes over after 3 s
    t0 = time.monotonic()
    procs = {name: s.spawn(name, "manage.py", "run_scheduler", env=env) for name in ("scheduler-a", "scheduler-b")}
    deadline = time.monotonic() + 120
    holders = {name: scheduler_holder(s, name, deadline) for name in procs}
    row = lease_row(s)
    while (row is None or row[0] not in holders.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
        row = lease_row(s)
    assert row is not None and row[0] in holders.values(), row
    first = next(name for name, h in holders.items() if h == row[0])
    second = next(name for name in holders if name != first)
    # Both run; the second's renewals fail while the first renews (two seconds = two renewals).
    time.sleep(2)
    row = lease_row(s)
    assert row is not None and row[0] == holders[first]
    stop_process(procs[first], signal.SIGKILL)
    assert procs[first].returncode == -signal.SIGKILL
    row = lease_row(s)
    assert row is not None
    last_expiry = row[2]  # the dead holder's lease runs until here; nobody may take it before
    while row is not None and row[0] == holders[first] and time.monotonic() < deadline:
        time.sleep(0.2)
        row = lease_row(s)
    assert row is not None and row[0] == holders[second], (row, s.log_tail(second))
    acquired_at = row[1]
    assert acquired_at >= last_expiry
    waited = (acquired_at - last_expiry).total_seconds()
    # A clean stop of the new holder gives the lease up at once.
    stop_process(procs[second], signal.SIGTERM)
    assert procs[second].returncode == 0
    released = lease_row(s)
    assert released is not None and released[0] == holders[second] and released[2] <= released[3]
    SUMMARY["scheduler_kill"] = {
        "schedulers_killed": 1,
        "lease_seconds": 3,
        "taken_over_by_second": True,
        "seconds_after_expiry": round(waited, 2),
        "overlap": False,
        "seconds": round(time.monotonic() - t0, 1),
    }
    write_summary()
    print("\nfaults/scheduler_kill:", json.dumps(SUMMARY["scheduler_kill"], ensure_ascii=False))


# --- 4. a worker killed in the middle of a reaction -----------------------------------------------


def test_a_worker_killed_mid_reaction_leaves_every_reaction_done_exactly_once(site: Site):
    """The web process commits each intake with one outbox entry (production: reactions wait for
    a worker). Worker A (batches of 4) commits the reactions of the first batch, then is SIGKILLed
    in the middle of the second batch, inside a reaction that has already written its row. Worker B
    takes over. Every intake's reactions ran exactly once in committed state (one log row of the
    non-idempotent test reaction each, rung moments, one accepted SMS and one assigned inbox
    message each), every message was sent once, and the outbox is empty."""
    s = site
    with s.pg.connect() as conn:
        conn.execute(
            "CREATE TABLE fault_reaction_log (id serial PRIMARY KEY, first_event bigint NOT NULL,"
            " events int NOT NULL, pid int NOT NULL)"
        )
        before = conn.execute("SELECT count(*) FROM applications_outbox").fetchone()[0]
    assert before == 0  # the workers of the tests above drained everything
    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(lambda i: call(s, "POST", "/api/v1/applications", intake(17_000 + i)), range(12)))
    assert [m[0] for m in made] == [201] * 12
    numbers = sorted(json.loads(m[2])["number"] for m in made)
    with s.pg.connect() as conn:
        intake_events = sorted(
            row[0]
            for row in conn.execute(
                "SELECT e.id FROM applications_event e JOIN applications_application a ON a.id = e.application_id"
                " WHERE e.type = 'intake' AND a.number = ANY(%s)",
                [numbers],
            ).fetchall()
        )
        assert conn.execute("SELECT count(*) FROM applications_outbox").fetchone()[0] == 12
        assert conn.execute("SELECT count(*) FROM notifications_message").fetchone()[0] > 0  # earlier tests'
        mine = "SELECT id FROM applications_application WHERE number = ANY(%s)"
        assert (
            conn.execute(
                f"SELECT count(*) FROM notifications_message WHERE application_id IN ({mine})", [numbers]
            ).fetchone()[0]
            == 0
        )
    flag = s.base / "reaction-held"
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.settings_faults",
        "SUNSHINE_REACTION_BATCH": "4",
        "FAULT_HOLD_FLAG": str(flag),
    }
    t0 = time.monotonic()
    first = s.spawn(
        "reactor-a", "manage.py", "db_worker", "--queue-name", "*", "--interval", "0.2", "--no-reload",
        "--no-startup-delay", env={**env, "FAULT_HOLD_AT": "6"},
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not flag.exists() and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.1)
    assert flag.exists(), s.log_tail("reactor-a")
    with s.pg.connect() as conn:
        # The reaction in flight wrote its row, uncommitted: the test sees the first batch only.
        committed_before_kill = conn.execute("SELECT count(*) FROM fault_reaction_log").fetchone()[0]
    stop_process(first, signal.SIGKILL)
    assert first.returncode == -signal.SIGKILL
    with s.pg.connect() as conn:
        # the intakes' entries only: the messages worker A sent wrote notification_sent events,
        # whose entries (for the event feed) wait in the outbox too
        left_after_kill = conn.execute(
            "SELECT count(*) FROM applications_outbox o WHERE EXISTS (SELECT 1 FROM"
            " jsonb_array_elements_text(o.events::jsonb) e WHERE e::bigint = ANY(%s))",
            [intake_events],
        ).fetchone()[0]
    second = s.spawn(
        "reactor-b", "manage.py", "db_worker", "--queue-name", "*", "--interval", "0.2", "--no-reload",
        "--no-startup-delay", env=env,
    )  # fmt: skip
    while time.monotonic() < deadline and second.poll() is None:
        with s.pg.connect() as conn:
            waiting = conn.execute(
                "SELECT (SELECT count(*) FROM applications_outbox) + "
                "(SELECT count(*) FROM notifications_message WHERE status <> 'sent')"
            ).fetchone()[0]
        if waiting == 0:
            break
        time.sleep(0.3)
    assert second.poll() is None, s.log_tail("reactor-b")
    stop_process(second, signal.SIGTERM)
    elapsed = time.monotonic() - t0

    with s.pg.connect() as conn:
        runs = Counter(row[0] for row in conn.execute("SELECT first_event FROM fault_reaction_log").fetchall())
        outbox_left = conn.execute("SELECT count(*) FROM applications_outbox").fetchone()[0]
        marks = conn.execute("SELECT count(*) FROM applications_reactiondone").fetchone()[0]
        messages = conn.execute(
            "SELECT template, channel, status, delivery_key::text FROM notifications_message"
            f" WHERE application_id IN ({mine})",
            [numbers],
        ).fetchall()
        sent_events = Counter(
            row[0]
            for row in conn.execute(
                "SELECT data->>'message' FROM applications_event WHERE type = 'notification_sent'"
                f" AND application_id IN ({mine})",
                [numbers],
            ).fetchall()
        )
        moments = Counter(
            row[0]
            for row in conn.execute(
                "SELECT s.application_id FROM supervision_rungmoment m"
                " JOIN applications_stageinstance s ON s.id = m.stage_id"
                f" WHERE s.application_id IN ({mine})",
                [numbers],
            ).fetchall()
        )
    sms_keys = {k for _t, c, _s, k in messages if c == "sms"}
    lines = (s.base / "var" / "sms.log").read_text(encoding="utf-8").splitlines()
    sms_lines = Counter(k for k in (ln.split("[", 1)[1].split("]", 1)[0] for ln in lines if "[" in ln) if k in sms_keys)
    SUMMARY["reaction_kill"] = {
        "changes": 12,
        "batch": 4,
        "workers_killed": 1,
        "reactions_committed_before_kill": committed_before_kill,
        "entries_left_after_kill": left_after_kill,
        "test_reaction_runs": sum(runs.values()),
        "duplicated": sum(1 for n in runs.values() if n > 1),
        "lost": len(set(intake_events) - set(runs)),
        "messages": len(messages),
        "sms_sent_lines": sum(sms_lines.values()),
        "seconds": round(elapsed, 1),
    }
    write_summary()
    print("\nfaults/reaction_kill:", json.dumps(SUMMARY["reaction_kill"], ensure_ascii=False))

    assert committed_before_kill == 4  # the first batch committed; the second was in flight
    assert left_after_kill == 8  # the killed batch rolled back: its entries wait again
    assert runs == Counter({pk: 1 for pk in intake_events})  # every reaction exactly once
    assert (outbox_left, marks) == (0, 0)
    assert Counter((t, c, st) for t, c, st, _k in messages) == {
        ("accepted", "sms", "sent"): 12,
        ("assigned", "inbox", "sent"): 12,
    }
    assert len(sent_events) == 24 and set(sent_events.values()) == {1}
    assert sms_lines == Counter({k: 1 for k in sms_keys})  # each SMS went out once
    assert len(moments) == 12 and set(moments.values()) == {4}  # the survey's four rungs each


def test_readiness_is_503_while_postgresql_is_stopped_and_200_again_once_it_is_back(site: Site):
    """Issue 21's check: /readyz on gunicorn says 200 with everything up and 503 with PostgreSQL
    stopped; /healthz (liveness) stays 200 meanwhile, so a supervisor does not restart healthy
    web processes for a database outage."""
    up = {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}
    down = {"status": "unavailable", "checks": {"database": "unavailable", "migrations": "skipped"}}
    status, _, body = call(site, "GET", "/readyz", auth=False)
    assert (status, json.loads(body)) == (200, up)
    site.pg.run("pg_ctl", "-D", str(site.pg.data), "-m", "fast", "-w", "-t", "60", "stop")
    try:
        for _ in range(4):  # whichever worker and thread answers
            status, headers, body = call(site, "GET", "/readyz", auth=False)
            assert (status, json.loads(body), headers["cache-control"]) == (503, down, "no-store")
            assert call(site, "GET", "/healthz", auth=False)[:1] == (200,)
    finally:
        site.pg.start()
    answers = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, _, body = call(site, "GET", "/readyz", auth=False)
        answers.append(status)
        if status == 200:
            break
        time.sleep(0.2)
    assert (answers[-1], json.loads(body)) == (200, up), answers
