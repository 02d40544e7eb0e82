"""Health checks and the metrics endpoint (sunshine/ops/telemetry.py, health.py, figures.py).

A real Prometheus scraping gunicorn and a worker is in tests/test_prometheus.py; here the
answers themselves: what each endpoint says, to whom, at what cost."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import OperationalError
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from sunshine.ops import figures, health
from tests.conftest import intake_body

ROOT = settings.BASE_DIR


@pytest.fixture(autouse=True)
def _fresh_ops_state():
    health.reset()
    figures.reset()
    yield
    health.reset()
    figures.reset()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _rid(i: int) -> str:
    from sunshine.applications.validation import resident_id_check_character

    first17 = f"11010519491231{i:03d}"
    return first17 + resident_id_check_character(first17)


# --- liveness and readiness -------------------------------------------------------------------


@pytest.mark.django_db
def test_liveness_answers_without_touching_anything(django_assert_num_queries):
    with django_assert_num_queries(0):
        r = Client().get("/healthz", HTTP_HOST="10.0.1.11:8000")  # a load balancer's Host: no 400
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in r  # no session, no CSRF: nothing of the page stack ran


@pytest.mark.django_db
def test_readiness_with_everything_up_is_200_and_costs_one_query_once_migrations_are_known(
    django_assert_num_queries,
):
    r = Client().get("/readyz")
    assert (r.status_code, r.json()) == (200, {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}})
    with django_assert_num_queries(1):
        r = Client().get("/readyz", HTTP_HOST="10.0.1.11:8000")
    assert r.status_code == 200


@pytest.mark.django_db
def test_readiness_checks_redis_when_it_is_configured(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    try:
        import redis

        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        pytest.skip("no Redis on 127.0.0.1:6379 (Debian package redis-server)")
    r = Client().get("/readyz")
    assert (r.status_code, r.json()["checks"]) == (200, {"database": "ok", "migrations": "ok", "redis": "ok"})
    health.reset()
    settings.REDIS_URL = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    r = Client().get("/readyz")
    assert r.status_code == 503
    assert r.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "migrations": "ok", "redis": "unavailable"},
    }


def _readyz_in_a_process(env: dict[str, str]) -> tuple[int, dict[str, object]]:
    """/readyz answered by a fresh process with this environment (a real connection attempt)."""
    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/readyz'); print(json.dumps([r.status_code, r.json()]))"
    )
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "CACHE_URL"))}
    full.update({"DJANGO_SETTINGS_MODULE": "sunshine.settings", "LOG_LEVEL": "ERROR", **env})
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120, check=True
    )
    status, body = json.loads(out.stdout.strip().splitlines()[-1])
    return status, body


def test_readiness_is_503_when_the_database_cannot_be_reached(tmp_path):
    port = _free_port()  # nothing listens there: PostgreSQL stopped
    status, body = _readyz_in_a_process(
        {"DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/sunshine", "SUNSHINE_VAR_DIR": str(tmp_path)}
    )
    assert (status, body) == (
        503,
        {"status": "unavailable", "checks": {"database": "unavailable", "migrations": "skipped"}},
    )


def test_readiness_is_503_while_migrations_are_pending(tmp_path):
    """A new release started before `manage.py migrate`: its database has no tables yet."""
    status, body = _readyz_in_a_process(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "SUNSHINE_VAR_DIR": str(tmp_path)}
    )
    assert (status, body) == (503, {"status": "unavailable", "checks": {"database": "ok", "migrations": "pending"}})


@pytest.mark.django_db
def test_health_endpoints_take_get_only():
    r = Client().post("/readyz")
    assert (r.status_code, r["Allow"]) == (405, "GET, HEAD")


# --- /metrics: who may read it ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("remote", "headers", "status"),
    [
        ("127.0.0.1", {}, 200),
        ("::1", {}, 200),
        ("10.1.2.3", {}, 404),
        ("10.1.2.3", {"HTTP_AUTHORIZATION": "Bearer s3cret-scrape-token"}, 200),
        ("10.1.2.3", {"HTTP_AUTHORIZATION": "Bearer wrong"}, 404),
        ("10.1.2.3", {"HTTP_AUTHORIZATION": "s3cret-scrape-token"}, 404),
        ("192.168.7.20", {}, 200),  # inside the configured network
    ],
)
def test_metrics_answer_configured_addresses_or_the_token_only(settings, remote, headers, status):
    settings.SUNSHINE_METRICS_ALLOW = ["127.0.0.1", "::1", "192.168.7.0/24"]
    settings.SUNSHINE_METRICS_TOKEN = "s3cret-scrape-token"
    r = Client(REMOTE_ADDR=remote).get("/metrics", **headers)
    assert r.status_code == status
    if status == 200:
        assert r["Content-Type"].startswith("text/plain; version=")
        assert b"sunshine_database_up 1.0" in r.content


@pytest.mark.django_db
def test_behind_nginx_the_real_client_is_checked_not_nginx(settings):
    """nginx on the same machine connects from 127.0.0.1; the visitor it names is refused."""
    settings.SUNSHINE_TRUSTED_PROXIES = ["127.0.0.1"]
    r = Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_X_REAL_IP="203.0.113.9")
    assert r.status_code == 404
    r = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")
    assert r.status_code == 200


# --- /metrics: what it says -------------------------------------------------------------------

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # Thursday 10:00 in Shanghai


@pytest.mark.django_db
def test_request_figures_are_per_route_pattern_not_per_path(personas, api_as):
    client = api_as("clerk")
    route = "api/v1/applications/<number>"

    def count(status: str) -> float:
        return (
            REGISTRY.get_sample_value(
                "sunshine_http_requests_total", {"route": route, "method": "GET", "status": status}
            )
            or 0.0
        )

    before = count("404")
    client.get("/api/v1/applications/YK-0000-000001")
    client.get("/api/v1/applications/YK-0000-000002")
    assert count("404") - before == 2
    body = Client().get("/metrics").content
    assert b"YK-0000-000001" not in body
    assert f'sunshine_http_request_duration_seconds_count{{method="GET",route="{route}"}}'.encode() in body
    missing = (
        REGISTRY.get_sample_value(
            "sunshine_http_requests_total", {"route": "<unmatched>", "method": "GET", "status": "404"}
        )
        or 0.0
    )
    Client().get("/no/such/page/13800138000/")
    assert (
        REGISTRY.get_sample_value(
            "sunshine_http_requests_total", {"route": "<unmatched>", "method": "GET", "status": "404"}
        )
        == missing + 1
    )


def _scrape(at: datetime) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    figures.reset()  # no 15-second cache between the steps of the story
    with time_machine.travel(at, tick=False):
        return _samples(Client().get("/metrics").content)


def _one(samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


@pytest.mark.django_db
def test_database_figures_match_what_was_done(personas, api_as, settings):
    """Three counter intakes on Thursday 3 December, their reactions left to the workers (as in
    production); their survey is due Monday 7 December, the `due_soon` rung fires Friday 08:30.
    The figures follow the story step by step."""
    from sunshine.jobs.polls import drain_all
    from sunshine.supervision.services import sweep

    settings.SUNSHINE_REACTIONS = "worker"
    with time_machine.travel(NOW, tick=False):
        client = api_as("clerk")
        for i in range(3):
            r = client.post(
                "/api/v1/applications",
                intake_body(
                    customer__id_number=_rid(700 + i),
                    customer__phone=f"1380013800{i}",
                    address=f"太原市晋源区晋祠路{i + 10}号",
                ),
                HTTP_IDEMPOTENCY_KEY=f"k-{i}",
            )
            assert r.status_code == 201, r.content

    s = _scrape(NOW + timedelta(minutes=2))
    assert _one(s, "sunshine_database_up") == 1.0
    assert _one(s, "sunshine_applications_open", status="in_progress", category="lv_residential") == 3.0
    assert _one(s, "sunshine_stages_overdue") == 0.0
    # the three intakes' reactions (rung moments, messages) wait for a worker
    assert _one(s, "sunshine_reactions_pending") == 3.0
    assert _one(s, "sunshine_reactions_oldest_age_seconds") == 120.0
    assert _one(s, "sunshine_reactions_failing") == 0.0
    assert _one(s, "sunshine_messages", state="pending") == 0.0
    assert _one(s, "sunshine_jobs", state="queued") == 0.0

    def counted(name: str, outcome: str) -> float:
        return REGISTRY.get_sample_value(name, {"outcome": outcome}) or 0.0

    done, sent = (
        counted("sunshine_reaction_entries_total", "done"),
        counted("sunshine_messages_delivered_total", "sent"),
    )
    with time_machine.travel(NOW + timedelta(minutes=3), tick=False):
        from sunshine.applications.outbox import drain

        assert drain().entries == 3
    assert counted("sunshine_reaction_entries_total", "done") - done == 3
    s = _scrape(NOW + timedelta(minutes=4))
    assert (_one(s, "sunshine_reactions_pending"), _one(s, "sunshine_reactions_oldest_age_seconds")) == (0.0, 0.0)
    # two messages per intake (the receipt to the customer, the new case to its manager)
    assert _one(s, "sunshine_messages", state="pending") == 6.0
    assert _one(s, "sunshine_messages_oldest_undelivered_age_seconds") == 60.0
    assert _one(s, "sunshine_sweep_rungs_due") == 0.0
    assert _one(s, "sunshine_sweep_lag_seconds") == 0.0

    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        # six messages sent, then the outbox entries of their six notification_sent events (the
        # event feed of the webhooks publishes every event)
        assert drain_all() == 12
    assert counted("sunshine_messages_delivered_total", "sent") - sent == 6
    s = _scrape(NOW + timedelta(minutes=5))
    assert _one(s, "sunshine_messages", state="pending") == 0.0
    assert _one(s, "sunshine_messages_oldest_undelivered_age_seconds") == 0.0

    rung_time = datetime(2026, 12, 4, 0, 30, tzinfo=UTC)  # Friday 08:30 in Shanghai
    s = _scrape(rung_time + timedelta(seconds=90))  # the sweep has not run: 90 s behind
    assert (_one(s, "sunshine_sweep_rungs_due"), _one(s, "sunshine_sweep_lag_seconds")) == (3.0, 90.0)
    with time_machine.travel(rung_time + timedelta(seconds=100), tick=False):
        assert len(sweep()) == 3
    s = _scrape(rung_time + timedelta(seconds=110))
    assert (_one(s, "sunshine_sweep_rungs_due"), _one(s, "sunshine_sweep_lag_seconds")) == (0.0, 0.0)
    assert _one(s, "sunshine_sweep_rungs_fired_today") == 3.0

    s = _scrape(datetime(2026, 12, 8, 2, 0, tzinfo=UTC))  # Tuesday: the surveys are a day late
    assert _one(s, "sunshine_stages_overdue") == 3.0


@pytest.mark.django_db
def test_a_database_that_cannot_be_read_is_reported_as_down_not_as_zeros(monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("sunshine.jobs.selectors.queue_figures", down)
    s = _samples(Client().get("/metrics").content)
    assert _one(s, "sunshine_database_up") == 0.0
    assert not [k for k in s if k[0] in {"sunshine_jobs", "sunshine_applications_open", "sunshine_sweep_rungs_due"}]


@pytest.mark.django_db
def test_the_office_figures_are_kept_by_a_periodic_job_and_a_scrape_reads_them_without_counting(
    personas, api_as, django_assert_num_queries
):
    """Counting every open application takes about a second at a million: the job
    ops.office_figures does it every 5 minutes for the installation; a scrape runs only the six
    queries of the job queue, the lease, the reactions, the sweep (two) and the messages."""
    from sunshine.calendar.checks import provisional_years
    from sunshine.jobs.schedule import discover
    from sunshine.ops.tasks import refresh_office_figures

    assert [(p.task, p.cron) for p in discover() if p.name == "ops.office_figures"] == [
        ("sunshine.ops.tasks.refresh_office_figures", "*/5 * * * *")
    ]
    with time_machine.travel(NOW, tick=False):
        r = api_as("clerk").post("/api/v1/applications", intake_body(), HTTP_IDEMPOTENCY_KEY="o-1")
        assert r.status_code == 201
        assert refresh_office_figures.call() == 1
    provisional_years()  # the calendar is built once per process (gunicorn warms it at start)
    with time_machine.travel(NOW + timedelta(minutes=4), tick=False), django_assert_num_queries(6):
        s = _samples(Client().get("/metrics").content)
    assert _one(s, "sunshine_applications_open", status="in_progress", category="lv_residential") == 1.0
    assert _one(s, "sunshine_office_figures_age_seconds") == 240.0
    # A second application is not counted until the job runs again (or the figures grow too old).
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        body = intake_body(customer__id_number=_rid(801), customer__phone="13800138011", address="太原市晋祠路8号")
        assert api_as("clerk").post("/api/v1/applications", body, HTTP_IDEMPOTENCY_KEY="o-2").status_code == 201
    figures._cached = None
    with time_machine.travel(NOW + timedelta(minutes=6), tick=False):
        s = _samples(Client().get("/metrics").content)
    assert _one(s, "sunshine_applications_open", status="in_progress", category="lv_residential") == 1.0
    figures._cached = None
    with time_machine.travel(NOW + timedelta(minutes=16), tick=False):  # older than 15 minutes
        s = _samples(Client().get("/metrics").content)
    assert _one(s, "sunshine_applications_open", status="in_progress", category="lv_residential") == 2.0
    assert _one(s, "sunshine_office_figures_age_seconds") == 0.0
