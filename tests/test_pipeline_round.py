"""writes._Round (the engine's libpq pipeline rounds): a stop signal while a round waits, and the
statements logged with client-side binding. PostgreSQL only."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from sunshine.applications import services
from sunshine.applications.models import Application
from sunshine.applications.validation import validate_intake
from tests.conftest import NEEDS_POSTGRES, intake_body

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason=NEEDS_POSTGRES),
]


class _Hung(BaseException):
    """Raised by the watchdog's signal: not an Exception, so ``contextlib.suppress`` lets it out."""


@pytest.mark.django_db(transaction=True)
def test_a_stop_signal_while_a_round_waits_for_a_lock_stops_the_process(personas):
    """SystemExit (gunicorn's worker on SIGINT/SIGQUIT calls sys.exit; KeyboardInterrupt alike)
    raised while ``_Round.run`` waits for its answers (here: the lock round behind another
    transaction's row lock). psycopg's ``Connection.wait`` catches it, cancels the query and runs
    the round's generator to its end (every answer and the Sync read), then raises it again.
    ``run``'s ``finally`` does not know the answers were read (``done`` is still False) and drains
    up to a Sync that will never come: ``_drain_gen`` loops for ever (``fetch_many`` returns []
    at once, nothing is pending), at full CPU, and the process never stops."""
    from sunshine.applications import writes

    number = services.intake(validate_intake(intake_body(), timezone.localdate()), personas["clerk"]).application.number
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(Application.objects.select_for_update().filter(number=number))
                holding.set()
                release.wait(60)
        finally:
            connection.close()

    def stop(signum, frame):  # type: ignore[no-untyped-def]
        raise SystemExit(0)

    def hung(signum, frame):  # type: ignore[no-untyped-def]
        raise _Hung("still in _Round.run 10 s after SystemExit")

    thread = threading.Thread(target=hold)
    thread.start()
    old_stop, old_hung = signal.signal(signal.SIGUSR1, stop), signal.signal(signal.SIGUSR2, hung)
    timers = [
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGUSR1)),
        threading.Timer(11.0, os.kill, (os.getpid(), signal.SIGUSR2)),
    ]
    outcome = "returned"
    try:
        assert holding.wait(30)
        for timer in timers:
            timer.start()
        try:
            with transaction.atomic():
                writes.lock(number, stages=True)  # waits for the other transaction's row lock
        except SystemExit:
            outcome = "stopped"
        except _Hung:
            outcome = "hung"
    finally:
        for timer in timers:
            timer.cancel()
        signal.signal(signal.SIGUSR1, old_stop)
        signal.signal(signal.SIGUSR2, old_hung)
        release.set()
        thread.join()
        connection.close()
    assert outcome == "stopped"


@pytest.fixture
def client_side_binding():
    """The connection as ``DB_PREPARE_THRESHOLD=off`` makes it (settings.py: behind a
    transaction-pooling proxy): psycopg's client-side binding cursors, nothing prepared."""
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    connection.close()
    options.pop("server_side_binding", None)
    options.pop("prepare_threshold", None)
    connection.features.__dict__.pop("uses_server_side_binding", None)
    try:
        yield
    finally:
        connection.close()
        options.clear()
        options.update(saved)
        connection.features.__dict__.pop("uses_server_side_binding", None)


@pytest.mark.django_db(transaction=True)
def test_captured_queries_of_a_transition_with_client_side_binding(personas, client_side_binding):
    """With DB_PREPARE_THRESHOLD=off (client-side binding), Django's debug cursor (DEBUG=True,
    CaptureQueriesContext, the query budget tests) asks the cursor for the query it sent
    (``DatabaseOperations.last_executed_query``: ``cursor._query``); a round's cursor is a
    ``_Sender``, which has no ``_query``: the change fails with an AttributeError."""
    from django.test.utils import CaptureQueriesContext

    from sunshine.applications import writes

    assert not connection.features.uses_server_side_binding
    number = services.intake(validate_intake(intake_body(), timezone.localdate()), personas["clerk"]).application.number
    with CaptureQueriesContext(connection) as ctx, transaction.atomic():
        found = writes.lock(number, stages=True)
    assert found is not None and found[0].number == number
    assert any("FOR UPDATE" in (q["sql"] or "") for q in ctx.captured_queries)
