"""Backups restore into an empty database with the same counts and an intact audit chain."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from sunshine.applications import services
from sunshine.applications.models import Application, Event
from sunshine.applications.validation import validate_intake
from tests.conftest import intake_body

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, database_url: str, var: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "SUNSHINE_VAR_DIR": str(var)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def some_cases(personas):
    for i, day in enumerate(["2026-11-02", "2026-11-03", "2026-11-04"]):
        with time_machine.travel(f"{day} 10:00 +0800", tick=False):
            body = intake_body(address=f"太原市晋源区晋祠路{i}号", customer__phone=f"1390000000{i}")
            app = services.intake(validate_intake(body, date.fromisoformat(day)), personas["clerk"]).application
            services.complete_stage(app.number, "survey", personas["alice"])
    return Application.objects.count(), Event.objects.count()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite path: run without DATABASE_URL")
def test_a_sqlite_backup_restores_into_an_empty_database(some_cases, tmp_path, capsys):
    apps, events = some_cases
    call_command("backup", "--output", str(tmp_path / "sunshine.backup"))
    assert f"{apps} applications, {events} events" in capsys.readouterr().out
    target = tmp_path / "restored.sqlite3"
    url = f"sqlite:///{target}"
    run = manage("restore", "--input", str(tmp_path / "sunshine.backup"), database_url=url, var=tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"Restored {apps} applications, {events} events; audit log verified." in run.stdout
    with sqlite3.connect(target) as db:
        assert db.execute("select count(*) from applications_event").fetchone()[0] == events
    assert manage("verify_audit", database_url=url, var=tmp_path).returncode == 0
    # Restoring again over data is refused and changes nothing.
    again = manage("restore", "--input", str(tmp_path / "sunshine.backup"), database_url=url, var=tmp_path)
    assert again.returncode != 0 and "not empty" in again.stderr


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="pg_dump/pg_restore: run with DATABASE_URL=postgres://… (apt-get install postgresql)",
)
def test_a_postgresql_backup_restores_into_an_empty_database(some_cases, tmp_path):
    apps, events = some_cases
    call_command("backup", "--output", str(tmp_path / "sunshine.dump"))
    db = connection.settings_dict
    restored = f"{db['NAME']}_restored"
    with connection.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{restored}"')
        cur.execute(f'CREATE DATABASE "{restored}"')
    try:
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{restored}"
        run = manage("restore", "--input", str(tmp_path / "sunshine.dump"), database_url=url, var=tmp_path)
        assert run.returncode == 0, run.stderr
        assert f"Restored {apps} applications, {events} events; audit log verified." in run.stdout
        assert manage("verify_audit", database_url=url, var=tmp_path).returncode == 0
    finally:
        with connection.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
