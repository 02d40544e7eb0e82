"""A reaction for the fault test (tests/test_faults_pg.py): it writes one row per change it reacts
to into ``fault_reaction_log`` in the reaction's transaction (so a run that did not commit leaves
none; a worker passes a whole batch of changes in one call), and the call that reaches the
``FAULT_HOLD_AT``-th change in this process writes the file ``FAULT_HOLD_FLAG`` and then waits, in
the middle of its transaction, for the test to kill the process."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from django.db import connection

from sunshine.applications.events import EventType
from sunshine.applications.outbox import change_of

RUNS = {"n": 0}


def log_and_hold(events: Sequence, stages: Sequence) -> None:
    changes: dict[object, list] = {}
    for e in events:  # one change: one entry of the outbox (eager mode: the call)
        changes.setdefault(change_of(e), []).append(e)
    with connection.cursor() as cursor:
        for evs in changes.values():
            cursor.execute(
                "INSERT INTO fault_reaction_log (first_event, events, pid) VALUES (%s, %s, %s)",
                [evs[0].pk, len(evs), os.getpid()],
            )
    before = RUNS["n"]
    RUNS["n"] += len(changes)
    if before < int(os.environ.get("FAULT_HOLD_AT", "0")) <= RUNS["n"]:
        Path(os.environ["FAULT_HOLD_FLAG"]).write_text(str(os.getpid()))
        time.sleep(600)


log_and_hold.event_types = frozenset({EventType.INTAKE})  # type: ignore[attr-defined]
