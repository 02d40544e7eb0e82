"""A reaction for the fault test (tests/test_faults_pg.py): it writes one row per run into
``fault_reaction_log`` in the reaction's transaction (so a run that did not commit leaves none),
and the ``FAULT_HOLD_AT``-th run in this process writes the file ``FAULT_HOLD_FLAG`` and then waits,
in the middle of its transaction, for the test to kill the process."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from django.db import connection

from sunshine.applications.events import EventType

RUNS = {"n": 0}


def log_and_hold(events: Sequence, stages: Sequence) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO fault_reaction_log (first_event, events, pid) VALUES (%s, %s, %s)",
            [events[0].pk, len(events), os.getpid()],
        )
    RUNS["n"] += 1
    if RUNS["n"] == int(os.environ.get("FAULT_HOLD_AT", "0")):
        Path(os.environ["FAULT_HOLD_FLAG"]).write_text(str(os.getpid()))
        time.sleep(600)


log_and_hold.event_types = frozenset({EventType.INTAKE})  # type: ignore[attr-defined]
