"""A real ``manage.py db_worker`` process runs the reactions the web process committed to the
outbox and delivers the messages they wrote (shared database), with no job row per item."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from sunshine.applications.models import Event, Outbox
from sunshine.notifications.models import Message
from tests.test_notifications import new_app


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_reacts_to_a_committed_intake_and_delivers_its_messages(personas, tmp_path: Path, settings):
    settings.SUNSHINE_REACTIONS = "worker"
    app = new_app(personas["clerk"])  # commits the application, its events and one outbox entry
    assert list(Outbox.objects.values_list("events", flat=True)) == [
        list(Event.objects.filter(application=app).order_by("id").values_list("id", flat=True))
    ]
    assert not Message.objects.exists()  # the notices are the worker's to write
    assert not DBTaskResult.objects.exists()
    sms_log = tmp_path / "sms.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sunshine.settings",
        "DATABASE_URL": database_url(),
        "SMS_BACKEND": "file",
        "SMS_FILE": str(sms_log),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--queue-name", "*", "--no-reload"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    accepted = Message.objects.get(application=app, template="accepted")
    lines = sms_log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(f"[{accepted.delivery_key}] SMS to 138****8000: {accepted.body}")
    assert sorted(Message.objects.filter(application=app).values_list("template", "status")) == [
        ("accepted", "sent"),
        ("assigned", "sent"),
    ]
    assert sorted(
        (e.data["channel"], e.data["template"], e.data["recipient"])
        for e in Event.objects.filter(application=app, type="notification_sent")
    ) == [("inbox", "assigned", "alice"), ("sms", "accepted", "138****8000")]
    assert not Outbox.objects.exists()
    assert not DBTaskResult.objects.exists()
