"""``make bench``: measure Sunshine against bare baselines on PostgreSQL (not part of the test suite).

    BENCH_APPLICATIONS=20000 uv run python bench/run.py

Environment:
  BENCH_DATABASE_URL  PostgreSQL to use (created when missing), default
                      postgres://postgres@127.0.0.1:5432/sunshine_bench
  BENCH_APPLICATIONS  applications in the data set (default 1,000,000; reused when present)
  BENCH_DURATION      seconds per HTTP measurement (default 10)
  BENCH_CONNECTIONS   concurrent HTTP connections (default 8)
  BENCH_WORKERS       gunicorn workers (default 2, gthread, 4 threads each)
  BENCH_EXTRAS        1 (default) also runs bench/sweep.py and bench/report.py, 0 skips them
  BENCH_EXTRAS_TIMEOUT seconds allowed for each of them (default 300)

Steps: create/migrate the database, top the data set up with ``generate_load``, start gunicorn
(production settings, DEBUG off, persistent connections) with ``bench.settings_bench`` on a free
loopback port, measure with wrk (fixed duration and connections), stop gunicorn, measure the
in-process figures, write ``bench/results/<date>.json`` and ``.md`` and print the table.
"""

from __future__ import annotations

import json
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
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sunshine_bench")
APPLICATIONS = int(os.environ.get("BENCH_APPLICATIONS", "1000000"))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = 4
EXTRAS = os.environ.get("BENCH_EXTRAS", "1") == "1"
EXTRAS_TIMEOUT = int(os.environ.get("BENCH_EXTRAS_TIMEOUT", "300"))
BARE_ROWS = 10_000
CLERK = "bench_clerk"

# The server and this process see the same production-like settings.
SERVER_ENV = {
    "DATABASE_URL": DB_URL,
    "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
    "DEBUG": "false",
    "CONN_MAX_AGE": "600",
    # The public look-up throttles per client; every wrk request comes from 127.0.0.1.
    "SUNSHINE_PUBLIC_LOOKUPS": "1000000000",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
}
os.environ.update(SERVER_ENV)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S', time.gmtime())} UTC] {msg}", flush=True)


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


def prepare_data() -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from sunshine.accounts.models import ApiToken, Role, User, hash_token
    from sunshine.applications.models import Application

    log("migrating")
    call_command("migrate", verbosity=0)
    have = Application.objects.count()
    if have < APPLICATIONS:
        log(f"generate_load: {have:,} present, adding {APPLICATIONS - have:,} (≈1,750/s)")
        t = time.perf_counter()
        call_command("generate_load", applications=APPLICATIONS - have)
        log(f"generate_load took {time.perf_counter() - t:.0f}s")
    else:
        log(f"reusing {have:,} applications")
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
        known = cur.fetchall()
        if len(known) < 100:
            cur.execute("SELECT number, contact_phone FROM applications_application LIMIT 2000")
            known = cur.fetchall()
    clerk, _ = User.objects.get_or_create(username=CLERK, defaults={"role": Role.CLERK, "last_name": "基准"})
    if clerk.role != Role.CLERK:
        clerk.role = Role.CLERK
        clerk.save(update_fields=["role"])
    raw = ApiToken.new_raw()
    from django.utils import timezone

    ApiToken.objects.create(user=clerk, key_hash=hash_token(raw), expires_at=timezone.now() + timedelta(hours=2))
    total = Application.objects.count()
    return {"known": known, "token": raw, "applications": total, "clerk": clerk}


# --- server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
    cmd = [
        gunicorn,
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
        "--log-level",
        "warning",
    ]
    env = {**os.environ, **SERVER_ENV}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603 (our own command)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/bare-read/1/", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise SystemExit("gunicorn did not answer within 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- wrk ---------------------------------------------------------------------------------------

LUA_GET = """
local paths = {%s}
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
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
        "requests": int(total.group(1)) if total else None,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sock.group(0) if sock else "",
    }


def wrk(url: str, script: str, name: str, warmup: int = 5) -> dict[str, Any]:
    """A warm-up run (discarded: each worker's first requests are slow — connections, caches),
    then the measured run. Requests slower than 10 s count as timeouts (wrk's socket errors)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as f:
        f.write(script)
    try:
        out = ""
        for seconds in (warmup, DURATION):
            cmd = ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--timeout", "10s", "--latency"]
            cmd += ["-s", f.name, url]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout  # noqa: S603
    finally:
        os.unlink(f.name)
    res = parse_wrk(out)
    log(f"{name}: {res['rps']:.0f} req/s, p99 {res['p99_ms']} ms, non-2xx {res['non_2xx']} {res['socket_errors']}")
    return res


def intake_bodies(n: int) -> list[str]:
    from stdnum.cn import ric

    rng = random.Random(9)
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
                "name": "基准测试",
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


def http_figures(data: dict[str, Any]) -> dict[str, Any]:
    port = free_port()
    log(f"starting gunicorn on 127.0.0.1:{port} ({WORKERS} gthread workers × {THREADS} threads)")
    proc = start_server(port)
    base = f"http://127.0.0.1:{port}"
    runs: dict[str, Any] = {}
    try:
        ids = ",".join(lua_str(f"/bench/bare-read/{random.randint(1, BARE_ROWS)}/") for _ in range(2000))
        lookups = ",".join(
            lua_str(f"/api/v1/public/applications/{number}?phone_tail={phone[-4:]}") for number, phone in data["known"]
        )
        runs["bare_read"] = wrk(base, LUA_GET % ids, "bare-read")
        runs["progress_lookup"] = wrk(base, LUA_GET % lookups, "progress look-up")
        bodies = ",".join(lua_str(b) for b in intake_bodies(500))
        runs["bare_insert"] = wrk(base + "/bench/bare-insert/", LUA_POST % (bodies, ""), "bare-insert")
        auth = f'wrk.headers["Authorization"] = "Bearer {data["token"]}"'
        runs["intake"] = wrk(base + "/api/v1/applications", LUA_POST % (bodies, auth), "intake")
    finally:
        log("stopping gunicorn")
        stop_server(proc)
    return runs


# --- in-process figures ------------------------------------------------------------------------


def transitions(clerk: Any, n: int = 200) -> dict[str, float]:
    import psycopg
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

    number, code, outcome = todo.pop()
    with CaptureQueriesContext(connection) as ctx:  # one untimed call, to count its queries
        services.complete_stage(number, code, clerk, outcome=outcome)
    queries = len(ctx.captured_queries)
    spent = 0.0
    done = 0
    for number, code, outcome in todo:
        t = time.perf_counter()
        services.complete_stage(number, code, clerk, outcome=outcome)
        spent += time.perf_counter() - t
        done += 1
    value = done / spent

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
        m = 2000
        t = time.perf_counter()
        for i in range(m):
            with conn.transaction():
                conn.execute("UPDATE bench_case SET status = %s, updated_at = now() WHERE id = %s", ["done", i + 1])
                conn.execute("INSERT INTO bench_audit (case_id, kind, at) VALUES (%s, 'completed', now())", [i + 1])
        baseline = m / (time.perf_counter() - t)
    log(f"transitions: {value:.0f}/s ({done} stages, {queries} queries each) vs raw psycopg {baseline:.0f}/s")
    return {"value": value, "baseline": baseline, "count": done, "queries": queries}


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


def extras() -> dict[str, Any]:
    out: dict[str, Any] = {}
    env = {**os.environ, "DATABASE_URL": DB_URL, "DJANGO_SETTINGS_MODULE": "sunshine.settings"}
    for name, args in {
        "sweep": ["bench/sweep.py", "--applications", str(APPLICATIONS)],
        "report": ["bench/report.py", "--repeat", "1"],
    }.items():
        log(f"running bench/{name}.py (timeout {EXTRAS_TIMEOUT}s)")
        t = time.perf_counter()
        try:
            r = subprocess.run(  # noqa: S603 (our own scripts)
                [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=EXTRAS_TIMEOUT
            )
            out[name] = {
                "seconds": round(time.perf_counter() - t, 1),
                "returncode": r.returncode,
                "output": (r.stdout + r.stderr)[-4000:],
            }
        except subprocess.TimeoutExpired:
            out[name] = {"seconds": None, "returncode": None, "output": f"timed out after {EXTRAS_TIMEOUT}s"}
    return out


# --- report ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    except OSError:
        mem_kb = 0
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "platform": platform.platform(),
        "load_average_1_5_15": [round(x, 1) for x in os.getloadavg()],
        "note": "shared machine: other people were running test suites during the run, numbers are noisy",
    }


def figure(value: float, baseline: float | None, target: float | None, unit: str, **extra: Any) -> dict[str, Any]:
    ratio = value / baseline if baseline else None
    return {
        "value": round(value, 1),
        "baseline": round(baseline, 1) if baseline is not None else None,
        "ratio": round(ratio, 3) if ratio is not None else None,
        "target": target,
        "unit": unit,
        **extra,
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Sunshine benchmark {result['date']}",
        "",
        f"Machine: {result['machine']['cpus']} CPUs ({result['machine']['cpu_model']}), "
        f"{result['machine']['memory_gb']} GB; load average {result['machine']['load_average_at_start']} at the "
        f"start, {result['machine']['load_average_1_5_15']} at the end; {result['machine']['note']}.",
        f"Versions: Python {result['versions']['python']}, Django {result['versions']['django']}, "
        f"PostgreSQL {result['versions']['postgresql']}.",
        "Configuration: "
        + ", ".join(f"{k} {v}" for k, v in result["configuration"].items() if not isinstance(v, dict)),
        "",
        "| figure | value | baseline | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for name, f in result["figures"].items():
        unit = f["unit"]
        verdict = "—"
        if f.get("invalid"):
            verdict = f"INVALID: {f['invalid']}"
        elif f["target"] is not None and f["ratio"] is not None:
            misses = []
            if f["ratio"] < f["target"]:
                misses.append(f"ratio {f['ratio']:.2f} < {f['target']}")
            if f.get("min_value") is not None and f["value"] < f["min_value"]:
                misses.append(f"{f['value']:.0f} < {f['min_value']} {unit}")
            verdict = "MISSED: " + "; ".join(misses) if misses else "met"
        extra = f" (p99 {f['p99_ms']} ms vs {f['baseline_p99_ms']} ms)" if f.get("p99_ms") is not None else ""
        base = f"{f['baseline']:,} {unit}" if f["baseline"] is not None else "—"
        ratio = f"{f['ratio']:.2f}" if f["ratio"] is not None else "—"
        target = "—" if f["target"] is None else f"≥ {f['target']}"
        target += f", ≥ {f['min_value']} {unit}" if f.get("min_value") else ""
        lines.append(f"| {name} | {f['value']:,} {unit}{extra} | {base} | {ratio} | {target} | {verdict} |")
    lines += ["", "Not measured in this run: " + "; ".join(result["not_measured"]) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    if shutil.which("wrk") is None:  # no fallback client: figures from another tool would not compare
        raise SystemExit("make bench needs wrk on PATH (Debian: apt-get install -y wrk)")
    ensure_database()
    import django

    django.setup()
    from django.db import connection

    started = time.time()
    load_before = [round(x, 1) for x in os.getloadavg()]
    data = prepare_data()
    runs = http_figures(data)
    trans = transitions(data["clerk"])
    work = workdays()
    extra = extras() if EXTRAS else {}

    def http_fig(name: str, base: str, target: float, unit: str, **kw: Any) -> dict[str, Any]:
        r, b = runs[name], runs[base]
        f = figure(r["rps"], b["rps"], target, unit, p99_ms=r["p99_ms"], baseline_p99_ms=b["p99_ms"], **kw)
        f["requests"], f["non_2xx"], f["baseline_non_2xx"] = r["requests"], r["non_2xx"], b["non_2xx"]
        f["socket_errors"], f["baseline_socket_errors"] = r["socket_errors"], b["socket_errors"]
        if r["non_2xx"] or b["non_2xx"]:
            f["invalid"] = f"{r['non_2xx']} / {b['non_2xx']} non-2xx responses"
        return f

    figures = {
        "progress_lookup": http_fig("progress_lookup", "bare_read", 0.8, "req/s"),
        "intake": http_fig("intake", "bare_insert", 0.4, "req/s", min_value=300),
        "transitions": figure(
            trans["value"], trans["baseline"], 0.5, "transitions/s", count=trans["count"], queries=trans["queries"]
        ),
        "workdays": figure(work["value"], work["baseline"], None, "calls/s"),
    }
    not_measured = [
        "staff application page and work queue",
        "statistics page",
        "CSV export of 100,000 rows",
        "worker RSS after 100,000 vs 1,000 requests",
    ]
    if not EXTRAS:
        not_measured += ["sweep with 0/1,000/10,000 due rungs (bench/sweep.py)", "half-month report (bench/report.py)"]
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    import django as dj
    from django.utils import timezone

    today = timezone.localdate().isoformat()  # Asia/Shanghai, the application's day
    result = {
        "date": today,
        "figures": figures,
        "machine": {**machine(), "load_average_at_start": load_before},
        "versions": {"python": platform.python_version(), "django": dj.get_version(), "postgresql": pg},
        "configuration": {
            "server": f"gunicorn gthread, {WORKERS} workers × {THREADS} threads, CONN_MAX_AGE 600, DEBUG off",
            "workers": WORKERS,
            "applications": data["applications"],
            "duration_s": DURATION,
            "connections": CONNECTIONS,
            "load_tool": "wrk -t 2 (on the same machine as the server)",
            "wall_time_s": round(time.time() - started),
        },
        "extras": extra,
        "not_measured": not_measured,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{today}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md = markdown(result)
    for name, e in extra.items():
        md += f"\n## bench/{name}.py ({e['seconds']} s, exit {e['returncode']})\n\n```\n{e['output'].strip()}\n```\n"
    (RESULTS / f"{today}.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
