"""A trial installation (no REDIS_URL) shares one cache between its processes: Django's database
cache, whose table `migrate` creates. Two web processes started with the trial's own web command
(``runall``'s), each a separate gunicorn on its own port, stand for the workers of `make run`: a
one-time code sent through one is accepted by the other and then spent for both, and the public
look-up budget of one client adds up across both.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from sunshine.ops.management.commands.runall import trial_commands
from tests.conftest import intake_body
from tests.test_scale_out import Processes, _free_port

ROOT = Path(settings.BASE_DIR)
PHONE = "13912345678"
LOOKUPS = 4  # public look-ups allowed per client per window in this test


def _call(base: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json"}, method="POST" if data else "GET"
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _wait_up(base: str, procs: Processes, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs.alive()
        try:
            with urllib.request.urlopen(base + "/api/v1/public/time-limits", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{base} did not answer within {timeout} s")


@pytest.fixture
def trial(tmp_path):
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_", "REDIS_URL", "CACHE_URL", "DB_POOL", "SUNSHINE_", "DJANGO_"))
        },
        "DJANGO_SETTINGS_MODULE": "sunshine.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'trial.sqlite3'}",
        "SUNSHINE_VAR_DIR": str(tmp_path / "var"),
        "SMS_BACKEND": "file",
        "SMS_FILE": str(tmp_path / "sms.log"),
        "SUNSHINE_PUBLIC_LOOKUPS": str(LOOKUPS),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    procs = Processes(env, tmp_path)
    bases = []
    try:
        for name in ("web1", "web2"):
            port = str(_free_port())
            program, *args = trial_commands("127.0.0.1", port, "1")["web"]
            procs.start(name, *args, program=program)
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            _wait_up(base, procs)
        yield bases, tmp_path
    finally:
        procs.stop()


@pytest.mark.timeout(600)
def test_a_code_sent_by_one_process_is_accepted_by_another_and_lookups_add_up(trial):
    (one, two), tmp_path = trial
    status, sent = _call(one, "/api/v1/public/verification-codes", {"phone": PHONE})
    assert (status, sent["phone"]) == (202, "139****5678")
    [code] = re.findall(r"验证码是 (\d{6})", (tmp_path / "sms.log").read_text())

    # a second code within the resend gap is refused by the other process too
    status, refused = _call(two, "/api/v1/public/verification-codes", {"phone": PHONE})
    assert (status, refused["code"]) == (429, "throttled")

    body = intake_body(channel="online", customer__phone=PHONE, verification_code=code)
    status, applied = _call(two, "/api/v1/public/applications", body)
    assert status == 201, applied
    number = applied["number"]
    # used up for every process
    status, again = _call(one, "/api/v1/public/applications", body)
    assert status == 422 and set(again["fields"]) == {"verification_code"}, again

    answers = [
        _call(base, f"/api/v1/public/applications/{number}?phone_tail=5678")[0]
        for base in (one, two, one, two, one, two)
    ]
    assert answers == [200, 200, 200, 200, 429, 429]

    with sqlite3.connect(tmp_path / "trial.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM sunshine_cache").fetchone()[0] > 0
