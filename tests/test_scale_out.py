"""Scale-out on one PostgreSQL: two gunicorn web processes (deploy/gunicorn.conf.py), two
``db_worker`` processes and the scheduler, all real processes, as on several machines, sharing
one Redis (REDIS_URL) for their cache. One web process uses the psycopg pool (DB_POOL_MAX), the
other persistent connections.

200 intakes go to both web processes in turn, each with an Idempotency-Key; 40 keys are sent to
both servers at once on purpose. Nothing is lost or duplicated: one application per key, the
same number for both copies of a key, the reactions of every intake run once by the workers
(through the outbox), every notification they wrote sent exactly once (one line per delivery key
in the SMS file both workers append to, claimed from the message table with no job per message),
each periodic job run once by one worker. The
public look-up throttle counts one client across both web processes (the shared Redis cache).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_tasks_db.models import DBTaskResult

from sunshine.applications.models import Application, Event, Outbox
from sunshine.jobs.models import Lease
from sunshine.notifications.models import Message
from tests.conftest import ApiClient, intake_body
from tests.test_jobs_worker import database_url

ROOT = Path(settings.BASE_DIR)
DISTINCT_KEYS = 160
BOTH_SERVERS = 40  # of those keys, sent to both web processes at once
DEADLINE_S = 75  # for the whole run, start-up included


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class Processes:
    """The started processes; stopped (process group and all) whatever happens in the test."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, *args: str, program: str = sys.executable, **env: str) -> None:
        log = (self.logs / f"{name}.log").open("w")
        proc = subprocess.Popen(
            [program, *args],
            cwd=ROOT,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((name, proc))

    def alive(self) -> None:
        dead = [(n, p.returncode) for n, p in self.procs if p.poll() is not None]
        assert not dead, f"exited early: {dead}; " + " | ".join(self.tail(n) for n, _ in dead)

    def tail(self, name: str) -> str:
        return f"{name}: " + (self.logs / f"{name}.log").read_text(errors="replace")[-1500:]

    def stop(self) -> None:
        for _name, proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _name, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


REDIS_SERVER = shutil.which("redis-server")
LOOKUPS = 3  # public look-ups allowed per client (per window) in this test


@pytest.fixture
def processes(tmp_path):
    redis_port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DB_POOL", "REDIS_URL", "CACHE_URL", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": "sunshine.settings",
        "DATABASE_URL": database_url(),
        "SUNSHINE_VAR_DIR": str(tmp_path / "var"),
        "SMS_BACKEND": "file",
        "SMS_FILE": str(tmp_path / "sms.log"),
        "CONN_MAX_AGE": "60",
        "WEB_WORKERS": "1",
        "WEB_THREADS": "4",
        "WEB_ACCESS_LOG": "",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "SUNSHINE_PUBLIC_LOOKUPS": str(LOOKUPS),
    }
    procs = Processes(env, tmp_path)
    try:
        if REDIS_SERVER:
            redis = ["--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            procs.start("redis", *redis, program=REDIS_SERVER)
        yield procs
    finally:
        procs.stop()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(150)
def test_two_web_and_two_worker_processes_lose_and_duplicate_nothing(personas, processes, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip(
            "scale-out means several processes on several machines sharing PostgreSQL (jobs claimed with "
            "SKIP LOCKED); SQLite serves one machine. Run with DATABASE_URL=postgres://… (apt-get install postgresql)"
        )
    if not REDIS_SERVER:
        pytest.skip("redis-server not found: `apt-get install redis-server` (.ci/run installs it)")
    started = time.monotonic()
    token = ApiClient(personas["clerk"]).headers["HTTP_AUTHORIZATION"]  # committed: the servers see it
    ports = [_free_port(), _free_port()]
    conf = str(ROOT / "deploy" / "gunicorn.conf.py")
    # The two ways of keeping connections: web1 borrows from a psycopg pool smaller than its
    # thread count (threads wait for a connection), web2 keeps one persistent connection per thread.
    processes.start("web1", "-m", "gunicorn", "-c", conf, WEB_BIND=f"127.0.0.1:{ports[0]}", DB_POOL_MAX="2")
    processes.start("web2", "-m", "gunicorn", "-c", conf, WEB_BIND=f"127.0.0.1:{ports[1]}")
    for i in (1, 2):
        worker = ["manage.py", "db_worker", "--queue-name", "*", "--interval", "0.2", "--no-reload"]
        processes.start(f"worker{i}", *worker, "--no-startup-delay", "--worker-id", f"worker-{i}")
    processes.start("scheduler", "manage.py", "run_scheduler")

    bases = [f"http://127.0.0.1:{port}" for port in ports]
    for base in bases:
        while True:
            processes.alive()
            try:
                if _request(base + "/api/v1/public/time-limits")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() - started < 40, "web processes did not start"
            time.sleep(0.3)

    # 160 keys: the first 120 once each, alternating servers; the last 40 to both servers at once.
    def body_of(n: int) -> bytes:
        body = intake_body(customer__phone=f"1390000{n:04d}", address=f"太原市晋源区晋祠路一段{n}号")
        return json.dumps(body, ensure_ascii=False).encode()

    sends = [(bases[n % 2], n) for n in range(DISTINCT_KEYS - BOTH_SERVERS)]
    for n in range(DISTINCT_KEYS - BOTH_SERVERS, DISTINCT_KEYS):
        sends += [(bases[0], n), (bases[1], n)]
    # Interleave so the two copies of a key run concurrently.
    sends.sort(key=lambda s: (s[1] % 20, s[1]))

    def send(item: tuple[str, int]) -> tuple[int, int, dict]:
        base, n = item
        headers = {"Authorization": token, "Content-Type": "application/json", "Idempotency-Key": f"scale-{n}"}
        status, body = _request(base + "/api/v1/applications", body_of(n), headers)
        return n, status, body

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, sends))
    assert len(results) == DISTINCT_KEYS + BOTH_SERVERS == 200
    # A replay answers with the original response (api-v1.md): 201 and the same number.
    assert [r for r in results if r[1] != 201] == []
    numbers_by_key: dict[int, set[str]] = {}
    for n, _status, body in results:
        numbers_by_key.setdefault(n, set()).add(body["number"])
    # Each key has one number, whichever server answered; the second copy replays the first.
    assert all(len(numbers) == 1 for numbers in numbers_by_key.values())

    # Wait for the outbox to drain: every reaction run, every message delivered, no job queued or running.
    while True:
        processes.alive()
        reactions = Outbox.objects.count()
        pending = Message.objects.exclude(status="sent").count()
        busy = DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).count()
        if reactions == 0 and pending == 0 and busy == 0:
            break
        assert time.monotonic() - started < DEADLINE_S, (
            f"{reactions} changes, {pending} messages, {busy} jobs still pending"
        )
        time.sleep(0.5)

    apps = list(Application.objects.values_list("number", flat=True))
    assert len(apps) == len(set(apps)) == DISTINCT_KEYS
    assert {n for numbers in numbers_by_key.values() for n in numbers} == set(apps)

    # Two messages per application (the customer's SMS, the manager's inbox), each sent once.
    messages = list(Message.objects.values_list("application_id", "template", "channel", "status", "delivery_key"))
    assert Counter((t, c, s) for _a, t, c, s, _k in messages) == {
        ("accepted", "sms", "sent"): DISTINCT_KEYS,
        ("assigned", "inbox", "sent"): DISTINCT_KEYS,
    }
    sms_keys = {str(k) for _a, _t, c, _s, k in messages if c == "sms"}
    lines = (tmp_path / "sms.log").read_text(encoding="utf-8").splitlines()
    line_keys = [line.split("[", 1)[1].split("]", 1)[0] for line in lines]
    assert len(line_keys) == len(set(line_keys)) == DISTINCT_KEYS
    assert set(line_keys) == sms_keys
    assert Event.objects.filter(type="notification_sent").count() == 2 * DISTINCT_KEYS

    # No job per message: the workers claimed the messages from the table.
    assert not DBTaskResult.objects.filter(task_path__endswith=".deliver").exists()
    # Every job of any kind (the scheduler's periodic ones too) ran at most once and did not fail.
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()
    assert all(len(w) == 1 for w in DBTaskResult.objects.values_list("worker_ids", flat=True))
    # One client's public look-ups are counted across both web processes (Redis), not per process.
    lookup = "/api/v1/public/applications/" + apps[0] + "?phone_tail=9999"  # no phone of the test ends so
    codes = [_request(bases[i % 2] + lookup)[0] for i in range(LOOKUPS + 1)]
    assert codes == [404] * LOOKUPS + [429]
    assert _request(bases[0] + lookup)[0] == 429
    # The one scheduler holds the lease.
    assert Lease.objects.filter(name="scheduler").count() == 1
    assert time.monotonic() - started < 90
