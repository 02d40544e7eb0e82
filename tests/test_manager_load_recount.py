"""ManagerLoad shards: a recount against a change committing meanwhile (PostgreSQL)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from sunshine.accounts.models import User
from sunshine.applications import services
from sunshine.applications.models import Application, ManagerLoad
from sunshine.applications.validation import validate_intake
from tests.conftest import NEEDS_POSTGRES, intake_body

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason=NEEDS_POSTGRES),
]


def _loads() -> dict[str, int]:
    out: dict[str, int] = {}
    for m in ManagerLoad.objects.select_related("user"):
        out[m.user.username] = out.get(m.user.username, 0) + m.open_count
    return {name: n for name, n in out.items() if n}


def _recount_waits_on_the_lock() -> bool:
    """Whether a backend of the test database waits for a lock in the recount's LOCK TABLE
    (read on a connection of its own: a transaction keeps its first view of the statistics)."""
    import psycopg

    s = connection.settings_dict
    with psycopg.connect(
        dbname=s["NAME"], user=s["USER"], host=s["HOST"] or None, port=s["PORT"] or None, password=s["PASSWORD"]
    ) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE %%'"
        ).fetchone()
        return bool(row and row[0])


@pytest.mark.django_db(transaction=True)
def test_a_recount_while_a_change_commits_counts_the_change_once(personas):
    """``recount_manager_loads`` deletes every row, then counts the applications and writes
    shard 0. A change of the same manager that is open meanwhile has added its +1 to a row of
    its own shard that did not exist before (after a recount only shard 0 exists): a DELETE
    would not see that uncommitted row, the count would include the change's application once
    it committed, and the change's shard row would survive: counted twice. The recount first
    locks the table (PostgreSQL): it waits for the change to commit, then counts and deletes
    what is there: the manager is counted once for it."""
    today = timezone.localdate()
    services.intake(validate_intake(intake_body(), today), personas["clerk"])  # alice: 1 open
    services.recount_manager_loads()  # shard 0 only, as after every recount
    alice = User.objects.get(username="alice")
    assert _loads() == {"alice": 1}
    template = Application.objects.get()

    inserted = threading.Event()
    waited: list[bool] = []

    def change() -> None:  # a change of alice's open count, on a connection of its own
        try:
            for _attempt in range(ManagerLoad.SHARDS + 1):
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT mod(txid_current(), %s)", [ManagerLoad.SHARDS])
                        if cursor.fetchone()[0] == 0:  # the recount's shard: another transaction id
                            transaction.set_rollback(True)
                            continue
                    opened = Application.objects.get(pk=template.pk)
                    opened.pk, opened.id, opened.number = None, None, "YK2611029999"
                    opened._state.adding = True
                    opened.save(force_insert=True)  # one more open application of alice…
                    services._adjust_loads({alice.pk: 1})  # …and her count, as the services do
                    inserted.set()
                    for _poll in range(600):  # commit once the recount waits for this transaction
                        if _recount_waits_on_the_lock():
                            waited.append(True)
                            break
                        time.sleep(0.05)
                    return
        finally:
            connection.close()

    thread = threading.Thread(target=change)
    thread.start()
    assert inserted.wait(30)
    try:
        services.recount_manager_loads()
    finally:
        thread.join()
    assert waited == [True]  # the recount waited for the change's commit
    assert Application.objects.filter(customer_manager=alice, status__in=["in_progress", "paused"]).count() == 2
    assert _loads() == {"alice": 2}
