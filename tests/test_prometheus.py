"""The real thing: Debian's Prometheus scrapes gunicorn (two workers, deploy/gunicorn.conf.py)
and a db_worker, while this test sends requests, queues jobs and makes rungs due; the figures
read back through Prometheus's HTTP API are what the test did. ``promtool`` checks and
unit-tests the alert rules (deploy/prometheus/). Skipped where the binaries are missing (Debian
package ``prometheus``; .ci/run installs it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from sunshine.applications.models import Application
from sunshine.notifications.models import Message
from sunshine.supervision.models import RungMoment
from tests.conftest import ApiClient, intake_body
from tests.test_jobs_worker import database_url
from tests.test_scale_out import Processes, _free_port, _request

ROOT = Path(settings.BASE_DIR)
RULES = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "sunshine-dashboard.json"
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
TOKEN = "scrape-token-for-the-test"
DEADLINE_S = 90
SKIPPED_ENV = ("DB_POOL", "REDIS_URL", "CACHE_URL", "DATABASE_", "PROMETHEUS_", "SUNSHINE_METRICS")


def _need(binary: str | None, name: str) -> str:
    if binary is None:
        pytest.skip(f"{name} not found: `apt-get install prometheus` (Debian package prometheus; .ci/run installs it)")
    return binary


def test_the_alert_rules_and_the_example_configuration_pass_promtool():
    promtool = _need(PROMTOOL, "promtool")
    # (the calendar test evaluates most of a year hourly: half a minute on a loaded machine)
    for args in (
        ["check", "rules", "sunshine-rules.yml"],
        ["check", "config", "prometheus.yml"],
        ["test", "rules", "sunshine-rules.test.yml", "sunshine-calendar.test.yml"],
    ):
        done = subprocess.run([promtool, *args], cwd=RULES, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "SUCCESS: 12 rules found"
        in subprocess.run(
            [promtool, "check", "rules", "sunshine-rules.yml"], cwd=RULES, capture_output=True, text=True, timeout=60
        ).stdout
    )


def _names_used() -> set[str]:
    """Metric names the alert rules and the dashboard query."""
    text = (RULES / "sunshine-rules.yml").read_text() + DASHBOARD.read_text()
    return set(re.findall(r"\b((?:sunshine|process)_[a-z_]+)\b", text)) - {"sunshine_web", "sunshine_worker"}


class Prometheus:
    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, path: str, **params: str) -> dict:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())

    def value(self, query: str) -> float | None:
        result = self.get("/api/v1/query", query=query)["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def wait_for(self, query: str, expected: float, procs: Processes, started: float) -> None:
        """Until the query's value is ``expected`` (scrapes every second; the figures settle)."""
        seen = None
        while time.monotonic() - started < DEADLINE_S:
            procs.alive()
            seen = self.value(query)
            if seen == expected:
                return
            time.sleep(0.5)
        raise AssertionError(f"{query}: {seen}, expected {expected}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(240)
def test_prometheus_reads_request_job_sweep_and_office_figures_of_gunicorn_and_a_worker(personas, tmp_path):
    prometheus_binary = _need(PROMETHEUS, "prometheus")
    started = time.monotonic()
    token = ApiClient(personas["clerk"]).headers["HTTP_AUTHORIZATION"]  # committed: the servers see it
    # The processes run a trial's settings: their shared cache is the database's (tests use memory).
    call_command("createcachetable", "sunshine_cache", verbosity=0)
    web_port, worker_port, prom_port = _free_port(), _free_port(), _free_port()
    env = {
        **{
            k: v
            for k, v in __import__("os").environ.items()
            if not k.startswith(("DB_POOL", "REDIS_URL", "CACHE_URL", "DATABASE_", "PROMETHEUS_"))
        },
        "DJANGO_SETTINGS_MODULE": "sunshine.settings",
        "DATABASE_URL": database_url(),
        "SUNSHINE_VAR_DIR": str(tmp_path / "var"),
        "SMS_BACKEND": "file",
        "SMS_FILE": str(tmp_path / "sms.log"),
        # only Prometheus's bearer token opens /metrics (no address is allowed)
        "SUNSHINE_METRICS_ALLOW": "",
        "SUNSHINE_METRICS_TOKEN": TOKEN,
        "SUNSHINE_METRICS_CACHE_SECONDS": "0",
        # the office's figures at every scrape, not every 5 minutes (the job: tests/test_ops_health.py)
        "SUNSHINE_METRICS_OFFICE_SECONDS": "0",
        "WEB_METRICS_DIR": str(tmp_path / "web-metrics"),
    }
    config = tmp_path / "prometheus.yml"
    config.write_text(
        json.dumps(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(RULES / "sunshine-rules.yml")],
                "scrape_configs": [
                    {
                        "job_name": "sunshine-web",
                        "authorization": {"credentials": TOKEN},
                        "static_configs": [{"targets": [f"127.0.0.1:{web_port}"]}],
                    },
                    {"job_name": "sunshine-worker", "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}]},
                ],
            }
        )
    )
    procs = Processes(env, tmp_path)
    try:
        conf = str(ROOT / "deploy" / "gunicorn.conf.py")
        procs.start(
            "web", "-m", "gunicorn", "-c", conf, WEB_BIND=f"127.0.0.1:{web_port}", WEB_WORKERS="2", WEB_THREADS="2"
        )
        worker = [
            "manage.py",
            "db_worker",
            "--queue-name",
            "*",
            "--interval",
            "0.2",
            "--no-reload",
            "--no-startup-delay",
        ]
        procs.start("worker", *worker, "--metrics-port", str(worker_port))
        procs.start(
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            program=prometheus_binary,
        )
        web = f"http://127.0.0.1:{web_port}"
        prom = Prometheus(f"http://127.0.0.1:{prom_port}")
        while True:
            procs.alive()
            try:
                if _request(web + "/readyz")[0] == 200 and prom.get(
                    "/-/ready" if False else "/api/v1/status/buildinfo"
                ):
                    break
            except OSError:
                pass
            assert time.monotonic() - started < 60, "gunicorn or Prometheus did not start"
            time.sleep(0.3)
        # Scraping needs the token: without it /metrics is a 404 like any unknown page.
        assert _request(web + "/metrics")[0] == 404

        # --- what the test does ---------------------------------------------------------------
        for _ in range(5):
            assert _request(web + "/api/v1/public/time-limits")[0] == 200
        for n in range(2):
            body = json.dumps(
                intake_body(customer__phone=f"1390000{n:04d}", address=f"太原市晋源区晋祠路一段{n + 1}号"),
                ensure_ascii=False,
            ).encode()
            headers = {"Authorization": token, "Content-Type": "application/json", "Idempotency-Key": f"prom-{n}"}
            assert _request(web + "/api/v1/applications", body, headers)[0] == 201
        assert _request(web + "/api/v1/applications/YK0000000000000", headers={"Authorization": token})[0] == 404
        # The worker runs the intakes' reactions and delivers their four messages (receipt SMS,
        # manager's notice).
        while Message.objects.filter(status="sent").count() < 4:
            procs.alive()
            assert time.monotonic() - started < DEADLINE_S, "the worker did not deliver"
            time.sleep(0.3)
        # Time passes: the first application's rungs are due since 100 s, the sweep has not run.
        first = Application.objects.order_by("pk").values_list("pk", flat=True).first()
        due = RungMoment.objects.filter(stage__application_id=first, fired_at__isnull=True)
        rungs = due.count()
        assert rungs == 4
        due.update(due_at=timezone.now() - timedelta(seconds=100))

        # --- what Prometheus reads back --------------------------------------------------------
        w = "max without (instance, pid)"
        prom.wait_for('up{job="sunshine-web"}', 1, procs, started)
        prom.wait_for('up{job="sunshine-worker"}', 1, procs, started)
        # two gunicorn workers, their figures added up by the one target
        prom.wait_for('count(process_resident_memory_bytes{job="sunshine-web"})', 2, procs, started)
        prom.wait_for(
            'sum(sunshine_http_requests_total{route="api/v1/public/time-limits",method="GET",status="200"})',
            5, procs, started,
        )  # fmt: skip
        prom.wait_for('sum(sunshine_http_requests_total{route="api/v1/applications",status="201"})', 2, procs, started)
        prom.wait_for(
            'sum(sunshine_http_requests_total{route="api/v1/applications/<number>",status="404"})', 1, procs, started
        )
        prom.wait_for(
            'sum(sunshine_http_request_duration_seconds_count{route="api/v1/applications",method="POST"})',
            2, procs, started,
        )  # fmt: skip
        prom.wait_for(
            f'{w} (sunshine_applications_open{{status="in_progress",category="lv_residential"}})', 2, procs, started
        )
        # the worker ran the two intakes' reactions and sent their four messages
        # the two intakes' entries, then one per delivered message: its notification_sent event
        # is published to the event feed (webhooks) through the outbox too
        prom.wait_for('sum(sunshine_reaction_entries_total{job="sunshine-worker",outcome="done"})', 6, procs, started)
        prom.wait_for('sum(sunshine_messages_delivered_total{job="sunshine-worker",outcome="sent"})', 4, procs, started)
        prom.wait_for(f"{w} (sunshine_reactions_pending)", 0, procs, started)
        prom.wait_for(f'{w} (sunshine_messages{{state="pending"}})', 0, procs, started)
        prom.wait_for(f"{w} (sunshine_sweep_rungs_due)", rungs, procs, started)
        assert prom.value(f"{w} (sunshine_sweep_lag_seconds)") >= 100
        assert prom.value(f"{w} (sunshine_database_up)") == 1

        # A job: the deadline sweep, run by the worker, fires the due rungs.
        from sunshine.supervision.tasks import sweep_deadlines

        sweep_deadlines.enqueue()
        prom.wait_for('sum(sunshine_sweep_rungs_fired_total{job="sunshine-worker"})', rungs, procs, started)
        prom.wait_for(f"{w} (sunshine_sweep_rungs_due)", 0, procs, started)
        prom.wait_for(f"{w} (sunshine_sweep_lag_seconds)", 0, procs, started)
        prom.wait_for(
            'sum(sunshine_jobs_finished_total{task="sweep_deadlines",outcome="successful"})', 1, procs, started
        )
        assert prom.value("sum(sunshine_db_queries_total)") > 0

        # The alert rules are loaded, and every figure they and the dashboard use exists.
        groups = prom.get("/api/v1/rules")["data"]["groups"]
        assert sum(len(g["rules"]) for g in groups) == 12
        active = {r["name"] for g in groups for r in g["rules"] if r["state"] != "inactive"}
        # No scheduler runs in this test: its alert is on its way. The calendar's depends on the real
        # month (Prometheus has no time machine): in December next year's notice may be missing.
        assert "SunshineSchedulerDown" in active
        assert active - {"SunshineSchedulerDown", "SunshineNextYearCalendarProvisional"} == set()
        known = set(prom.get("/api/v1/label/__name__/values")["data"])
        assert sorted(_names_used() - known) == []
    finally:
        procs.stop()
