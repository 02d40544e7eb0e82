"""Review of the ManagerLoad shards (3baa6c1): the recount against a change committing meanwhile."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet
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


@pytest.mark.django_db(transaction=True)
def test_a_recount_while_a_change_commits_counts_the_change_once(personas, monkeypatch):
    """``recount_manager_loads`` deletes every row, then counts the applications and writes
    shard 0. A change of the same manager that is open meanwhile has added its +1 to a row of
    its own shard that did not exist before (after a recount only shard 0 exists): the DELETE
    does not see that uncommitted row and does not wait for it (with one row per manager it
    waited for the change's row lock, then deleted the row). The change commits; the recount's
    count includes its application; the change's shard row survives: the manager is counted
    twice for it, until the next recount."""
    today = timezone.localdate()
    services.intake(validate_intake(intake_body(), today), personas["clerk"])  # alice: 1 open
    services.recount_manager_loads()  # shard 0 only, as after every recount
    alice = User.objects.get(username="alice")
    assert _loads() == {"alice": 1}
    template = Application.objects.get()

    inserted, deleted = threading.Event(), threading.Event()

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
                    assert deleted.wait(30)
                    return
        finally:
            connection.close()

    real_delete = QuerySet.delete

    def delete_then_let_the_change_commit(self):  # type: ignore[no-untyped-def]
        out = real_delete(self)
        if self.model is ManagerLoad:
            deleted.set()
            thread.join()  # the change has committed before the recount counts
        return out

    thread = threading.Thread(target=change)
    thread.start()
    assert inserted.wait(30)
    monkeypatch.setattr(QuerySet, "delete", delete_then_let_the_change_commit)
    try:
        services.recount_manager_loads()
    finally:
        deleted.set()
        thread.join()
    assert Application.objects.filter(customer_manager=alice, status__in=["in_progress", "paused"]).count() == 2
    assert _loads() == {"alice": 2}
