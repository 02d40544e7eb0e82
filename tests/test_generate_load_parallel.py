"""generate_load with several writer processes (PostgreSQL) and the generator's shortcuts."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from stdnum.cn import ric, uscc

from sunshine.applications import audit
from sunshine.applications.models import Application, Customer, Event
from sunshine.ops.synthetic import _event_hash, credit_code, number_for, resident_id
from tests.conftest import NEEDS_POSTGRES

NOW = "2026-11-27 10:00 +0800"


def test_shares_of_the_number_and_identity_spaces_do_not_overlap_and_stay_valid():
    on = datetime(2026, 11, 20).date()
    for k in range(3):
        rng = random.Random(k)
        for _ in range(200):
            number = number_for(on, rng, (k, 3))
            assert int(number[8:14]) % 3 == k
            rid = resident_id(rng, (k, 3))
            assert ric.is_valid(rid) and int(rid[14:17]) % 3 == k
            code = credit_code(rng, "小店区", (k, 3))
            assert uscc.is_valid(code) and int(code[15]) % 3 == k


def test_the_whole_share_draws_what_the_generator_always_drew():
    """(0, 1) keeps seeded data sets identical to the ones made before shares existed."""
    a, b = random.Random(5), random.Random(5)
    on = datetime(2026, 11, 20).date()
    assert number_for(on, a) == number_for(on, b, (0, 1))
    assert resident_id(a) == resident_id(b, (0, 1))


def test_the_generator_hash_is_the_audit_hash():
    at = datetime(2026, 11, 20, 1, 2, 3, 456789, tzinfo=UTC)
    samples = [
        {},
        {
            "outcome": None,
            "defects": ["接地网焊接不合格", "柜体标识不规范"],
            "note": "一次性告知",
            "deadline": "2026-12-01",
        },
        {"paused_working_days": 3, "flag": True, "ratio": 0.5},
        {"nested": {"a": 1}},  # not plain: goes through audit.event_hash
    ]
    on_the_minute = datetime(2026, 11, 20, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # no microseconds
    for when in (at, on_the_minute):
        for data in samples:
            h, text = _event_hash("ab" * 32, 42, "stage_completed", when, 7, "survey", 2, data)
            assert h == audit.event_hash("ab" * 32, 42, "stage_completed", when, 7, "survey", 2, data)
            assert json.loads(text) == data


@pytest.mark.django_db(transaction=True)
def test_two_writer_processes_load_valid_chains():
    if connection.vendor != "postgresql":
        pytest.skip(f"--jobs needs PostgreSQL (SQLite loads with one process): {NEEDS_POSTGRES}")
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("generate_load", applications=400, seed=2, batch_size=100, managers=3, jobs=2, stdout=out)
    assert "2 writer processes" in out.getvalue()
    assert "400 / 400" in out.getvalue()
    assert Application.objects.count() == 400
    shares = [int(n[8:14]) % 2 for n in Application.objects.values_list("number", flat=True)]
    assert (shares.count(0), shares.count(1)) == (200, 200)
    assert Customer.objects.count() <= 400
    assert Event.objects.count() > 400 * 3
    assert audit.verify(stop_at_first=False) == []
