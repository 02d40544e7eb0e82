"""The production profile (SUNSHINE_ENV=production) and deploy/gunicorn.conf.py, checked in real
processes: `check --deploy` is clean, a missing secret stops the start, collectstatic writes hashed
and compressed files, REDIS_URL/DB_POOL_MAX choose the cache, the sessions and the pool."""

from __future__ import annotations

import base64
import json
import os
import runpy
import secrets
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from sunshine.calendar import workdays
from sunshine.calendar.models import CalendarYear, YearStatus
from tests.conftest import NEEDS_POSTGRES
from tests.test_jobs_worker import database_url

ROOT = Path(settings.BASE_DIR)
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("SECURE_", "DB_POOL", "REDIS_URL", "CACHE_URL", "DATABASE_REPLICA", "DEBUG", "DJANGO_ALLOW_ASYNC")
        )
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "sunshine.settings",
            "SUNSHINE_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "SUNSHINE_PII_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
            "SUNSHINE_PII_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "ALLOWED_HOSTS": "yk.example.cn",
            "DATABASE_URL": database_url(),
            "SUNSHINE_VAR_DIR": str(tmp_path / "var"),
            "STATIC_ROOT": str(tmp_path / "static"),
        }
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "extra",
    [{}, {"REDIS_URL": "redis://127.0.0.1:6379/0", "DB_POOL_MAX": "4"}],
    ids=["persistent-connections", "redis-and-pool"],
)
def test_check_deploy_is_clean_in_the_production_profile(tmp_path, extra):
    # The calendar's own warning (a coming year not confirmed against the notice) is content,
    # not configuration: confirm this year and next so only the deployment settings are judged.
    this_year = timezone.localdate().year  # the subprocess runs on the real clock
    for year in (this_year, this_year + 1):
        CalendarYear.objects.update_or_create(year=year, defaults={"status": YearStatus.OFFICIAL, "source": "test"})
    done = manage(production_env(tmp_path, **extra), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "System check identified no issues (0 silenced)."
    assert "WARNING" not in done.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    done = manage(env, "check")
    assert done.returncode == 1
    assert "SECRET_KEY must be set in production" in done.stderr
    assert not (tmp_path / "var" / "secret_key").exists()


def test_production_refuses_debug_and_missing_host_names(tmp_path):
    done = manage(production_env(tmp_path, DEBUG="true"), "check")
    assert done.returncode == 1
    assert "DEBUG must be off when SUNSHINE_ENV=production" in done.stderr
    env = production_env(tmp_path)
    del env["ALLOWED_HOSTS"]
    done = manage(env, "check")
    assert done.returncode == 1
    assert "ALLOWED_HOSTS must name the site's host names" in done.stderr


SHOW = (
    "from django.conf import settings as s; import json; d = s.DATABASES['default']; "
    "print(json.dumps([s.CACHES['default']['BACKEND'], s.SESSION_ENGINE, d.get('OPTIONS', {}).get('pool'), "
    "d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], s.STORAGES['staticfiles']['BACKEND'], s.SECURE_SSL_REDIRECT, "
    "s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE]))"
)


def show(env: dict[str, str]) -> list:
    done = manage(env, "shell", "-c", SHOW)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.postgres_only
def test_redis_url_and_pool_size_choose_the_cache_sessions_and_connections(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip(f"the connection pool is PostgreSQL's (psycopg_pool): {NEEDS_POSTGRES}")
    redis, cached_db = "sunshine.rediscache.RedisCache", "django.contrib.sessions.backends.cached_db"
    manifest = "whitenoise.storage.CompressedManifestStaticFilesStorage"
    proxy = ["HTTP_X_FORWARDED_PROTO", "https"]
    assert show(production_env(tmp_path, REDIS_URL="redis://cache.internal:6379/1", DB_POOL_MAX="8")) == [
        redis,
        cached_db,
        {"min_size": 1, "max_size": 8, "timeout": 10},
        0,
        True,
        manifest,
        True,
        proxy,
        True,
    ]
    # CACHE_URL, the older name, still works; no pool: persistent connections, health-checked.
    assert show(production_env(tmp_path, CACHE_URL="redis://cache.internal:6379/1", CONN_MAX_AGE="600")) == [
        redis,
        cached_db,
        None,
        600,
        True,
        manifest,
        True,
        proxy,
        True,
    ]


def test_a_trial_installation_shares_the_database_cache_and_keeps_database_sessions(tmp_path):
    env = production_env(tmp_path)
    for name in ("SUNSHINE_ENV", "SECRET_KEY", "ALLOWED_HOSTS"):
        del env[name]
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'trial.sqlite3'}"
    assert show(env) == [
        "django.core.cache.backends.db.DatabaseCache",
        "django.contrib.sessions.backends.db",
        None,
        0,
        True,
        "whitenoise.storage.CompressedStaticFilesStorage",
        False,
        None,
        False,
    ]


def test_collectstatic_writes_hashed_and_compressed_files(tmp_path):
    env = production_env(tmp_path)
    done = manage(env, "collectstatic", "--no-input", "-v0", timeout=300)
    assert done.returncode == 0, done.stderr
    static = tmp_path / "static"
    paths = json.loads((static / "staticfiles.json").read_text())["paths"]
    hashed = paths["sunshine/css/app.css"]
    assert hashed != "sunshine/css/app.css" and hashed.startswith("sunshine/css/app.") and hashed.endswith(".css")
    assert (static / hashed).is_file()
    assert (static / (hashed + ".gz")).is_file()
    # The pages link the hashed name (far-future caching is safe: a new version has a new name).
    link = manage(
        env, "shell", "-c", "from django.templatetags.static import static; print(static('sunshine/css/app.css'))"
    )
    assert link.stdout.strip().splitlines()[-1] == "/static/" + hashed


def test_gunicorn_config_is_valid_and_bounded():
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "-c", str(GUNICORN_CONF)],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "sunshine.settings", "WEB_WORKERS": "3", "WEB_THREADS": "4"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    conf = runpy.run_path(str(GUNICORN_CONF))
    assert (conf["worker_class"], conf["threads"], conf["preload_app"]) == ("gthread", 4, False)
    assert conf["max_requests"] == 5000 and conf["max_requests_jitter"] == 500
    assert conf["timeout"] == 60 and conf["graceful_timeout"] == 25
    # Two instances on one machine must not share gunicorn's default control socket.
    assert conf["control_socket_disable"] is True


@pytest.mark.django_db
def test_the_worker_warm_up_builds_the_calendar_before_the_first_request():
    conf = runpy.run_path(str(GUNICORN_CONF))
    workdays.invalidate()
    assert workdays._state["calendar"] is None
    conf["warm_up"]()
    cal = workdays._state["calendar"]
    assert isinstance(cal, workdays.WorkCalendar)
    # The 2026 facts: National Day off, Saturday 10-10 a working day (调休).
    assert (cal.is_working_day(date(2026, 10, 1)), cal.is_working_day(date(2026, 10, 10))) == (False, True)


LOOKUP = "/api/v1/public/applications/YK2611260000000"


@pytest.mark.django_db
@override_settings(SUNSHINE_PUBLIC_LOOKUPS=2, SUNSHINE_TRUSTED_PROXIES=["127.0.0.1", "::1"])
def test_behind_the_proxy_each_client_has_its_own_throttle():
    via_nginx = Client(REMOTE_ADDR="127.0.0.1")
    first = {"HTTP_X_REAL_IP": "203.0.113.7"}
    assert [via_nginx.get(LOOKUP, {"phone_tail": "1234"}, **first).status_code for _ in range(3)] == [404, 404, 429]
    # Another visitor through the same nginx has a counter of their own.
    assert via_nginx.get(LOOKUP, {"phone_tail": "1234"}, HTTP_X_REAL_IP="198.51.100.9").status_code == 404
    # A client reaching the application directly cannot pick its address with the header.
    direct = Client(REMOTE_ADDR="192.0.2.50")
    forged = [
        direct.get(LOOKUP, {"phone_tail": "1234"}, HTTP_X_REAL_IP=f"198.51.100.{i}").status_code for i in range(3)
    ]
    assert forged == [404, 404, 429]
