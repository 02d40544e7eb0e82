"""Structured logs (sunshine/observe/logs.py) and the request id (sunshine/observe/context.py):
JSON lines in production with the request's id, route, status, duration and user id, never a
phone, an ID number or a name; the id answered in X-Request-ID and carried into the jobs the
request enqueued and the worker's log lines of them."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.test import Client
from django_tasks import task

from sunshine.observe.logs import ContextFilter, JsonFormatter
from tests.conftest import intake_body

HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_lines():
    """Every record of every logger, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.mark.django_db
def test_every_response_carries_a_request_id_and_a_well_formed_one_is_kept():
    r = Client().get("/")
    assert HEX32.fullmatch(r["X-Request-ID"])
    assert Client().get("/", HTTP_X_REQUEST_ID="nginx-4f1c2a9be0d3").get("X-Request-ID") == "nginx-4f1c2a9be0d3"
    forged = Client().get("/", HTTP_X_REQUEST_ID='x" 13800138000\n{"level":"ERROR"}')["X-Request-ID"]
    assert HEX32.fullmatch(forged)


@pytest.mark.django_db
def test_production_lines_are_json_with_the_request_and_no_personal_data(personas, api_as, json_lines):
    from sunshine.jobs.polls import drain_all

    body = intake_body()
    r = api_as("clerk").post("/api/v1/applications", body, HTTP_IDEMPOTENCY_KEY="log-1")
    assert r.status_code == 201
    request_id, number = r["X-Request-ID"], r.json()["number"]
    assert Client().get(f"/api/v1/public/applications/{number}", {"phone_tail": "8000"}).status_code == 200
    assert Client().get(f"/no/such/page/{body['customer']['phone']}/").status_code == 404
    assert drain_all() == 2  # a worker sends the receipt SMS and the manager's notice

    lines = json_lines()
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    for secret in (body["customer"]["phone"], body["customer"]["id_number"], body["customer"]["name"], "8000"):
        assert secret not in text, secret
    intake = next(line for line in lines if line.get("path") == "/api/v1/applications")
    assert set(intake) == {
        "time", "level", "logger", "message", "request_id", "route", "user_id",
        "method", "path", "status", "duration_ms", "db_queries",
    }  # fmt: skip
    assert intake["logger"] == "sunshine.request"
    assert (intake["level"], intake["message"]) == ("INFO", "POST /api/v1/applications 201")
    assert (intake["request_id"], intake["route"], intake["status"]) == (request_id, "api/v1/applications", 201)
    assert intake["user_id"] == personas["clerk"].pk
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", intake["time"])
    assert intake["duration_ms"] > 0 and intake["db_queries"] > 0
    public = next(line for line in lines if line.get("route") == "api/v1/public/applications/<number>")
    assert "user_id" not in public and public["request_id"] != request_id
    missing = next(line for line in lines if line.get("route") == "<unmatched>")
    assert (missing["message"], missing["path"], missing["status"]) == ("GET <unmatched> 404", "<unmatched>", 404)


@task()
def count_to(n: int) -> int:
    """A job that logs (tests below)."""
    logging.getLogger("sunshine.demo").info("counted to %s", n)
    return n


@pytest.mark.django_db
def test_a_job_started_by_a_request_logs_with_the_request_id(personas, client, json_lines):
    """An administrator retries a failed job: the new job is stored with the id of that request,
    and the worker's lines while it runs carry it."""
    from django_tasks_db.models import DBTaskResult

    from sunshine.jobs.runner import run_ready

    failed = count_to.enqueue(7)
    DBTaskResult.objects.filter(pk=failed.id).update(status="FAILED")
    client.force_login(personas["admin"])
    r = client.post(f"/workbench/jobs/{failed.id}/retry/")
    assert r.status_code == 302
    request_id = r["X-Request-ID"]
    again = DBTaskResult.objects.get(status="READY")
    assert again.args_kwargs == {"args": [7], "kwargs": {}, "request_id": request_id}
    assert run_ready() == 1
    worker_lines = [line for line in json_lines() if line["logger"] in ("sunshine.demo", "sunshine.jobs")]
    assert [(line["message"], line["request_id"], line["job"]) for line in worker_lines] == [
        ("counted to 7", request_id, "count_to"),
        ("job count_to successful", request_id, "count_to"),
    ]


@pytest.mark.django_db
def test_jobs_enqueued_outside_a_request_have_no_request_id(personas):
    from django_tasks_db.models import DBTaskResult

    from sunshine.supervision.tasks import sweep_deadlines

    result = sweep_deadlines.enqueue()
    assert DBTaskResult.objects.get(pk=result.id).args_kwargs == {"args": [], "kwargs": {}}


def _first_line(env: dict[str, str]) -> str:
    code = "import django, logging; django.setup(); logging.getLogger('sunshine.demo').warning('hello %s', 42)"
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SUNSHINE_ENV", "LOG_FORMAT"))}
    full.update({"DJANGO_SETTINGS_MODULE": "sunshine.settings", **env})
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=full, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return next(line for line in out.stderr.splitlines() if "hello" in line)


def test_the_production_profile_logs_json_lines_and_a_trial_plain_ones(tmp_path):
    production = {
        "SUNSHINE_ENV": "production",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "yk.example.cn",
        "SUNSHINE_VAR_DIR": str(tmp_path),
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    line = json.loads(_first_line(production))
    assert {k: line[k] for k in ("level", "logger", "message")} == {
        "level": "WARNING",
        "logger": "sunshine.demo",
        "message": "hello 42",
    }
    plain = _first_line({"SUNSHINE_VAR_DIR": str(tmp_path)})
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WARNING sunshine\.demo hello 42", plain)
    assert json.loads(_first_line({**production, "LOG_FORMAT": "json"}))["message"] == "hello 42"


def test_gunicorn_in_json_writes_json_lines_and_no_access_line_with_the_raw_path(tmp_path):
    """The production log configuration of deploy/gunicorn.conf.py: gunicorn's own lines are JSON,
    the access log is off by default, so the raw path a client typed is nowhere."""
    from tests.test_scale_out import Processes, _free_port

    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "WEB_", "LOG_", "PROMETHEUS_"))},
        "DJANGO_SETTINGS_MODULE": "sunshine.settings",
        "SUNSHINE_VAR_DIR": str(tmp_path / "var"),
        "LOG_FORMAT": "json",
        "WEB_ACCESS_LOG": "",
    }
    procs = Processes(env, tmp_path)
    try:
        conf = str(settings.BASE_DIR / "deploy" / "gunicorn.conf.py")
        procs.start("web", "-m", "gunicorn", "-c", conf, WEB_BIND=f"127.0.0.1:{port}", WEB_WORKERS="1")
        deadline = time.monotonic() + 90
        while True:
            procs.alive()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, procs.tail("web")
                time.sleep(0.3)
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/13800138000/", timeout=30)
        assert missing.value.code == 404
    finally:
        procs.stop()
    lines = [json.loads(line) for line in (tmp_path / "web.log").read_text().splitlines() if line.strip()]
    assert "13800138000" not in json.dumps(lines)
    assert not [line for line in lines if line["logger"] == "gunicorn.access"]
    assert any(line["logger"] == "gunicorn.error" and line["message"].startswith("Booting worker") for line in lines)
    [request] = [line for line in lines if line["logger"] == "sunshine.request"]  # the probe is not logged
    assert (request["message"], request["status"]) == ("GET <unmatched> 404", 404)
