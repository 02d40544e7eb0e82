"""The open-application counts that assignment reads (ManagerLoad) follow every change the services
make, and a recount from the applications gives the same numbers. A manager's count is the sum of
its shards (one per transaction id modulo ``ManagerLoad.SHARDS`` on PostgreSQL): concurrent changes
of one manager add to their own rows and do not wait for each other's commit."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import time_machine
from django.db import connection, transaction

from sunshine.accounts.models import User
from sunshine.applications import services
from sunshine.applications.models import Application, ManagerLoad
from sunshine.applications.validation import validate_intake
from sunshine.errors import Conflict
from tests.conftest import NEEDS_POSTGRES, intake_body


def at(day: str = "2026-11-02"):
    return time_machine.travel(f"{day} 10:00 +0800", tick=False)


def new_app(clerk, i: int) -> Application:
    with at():
        body = intake_body(address=f"晋源区{i}号")
        return services.intake(validate_intake(body, date(2026, 11, 2)), clerk).application


def loads() -> dict[str, int]:
    """Each manager's count: the sum of its shards."""
    out: dict[str, int] = {}
    for m in ManagerLoad.objects.select_related("user"):
        out[m.user.username] = out.get(m.user.username, 0) + m.open_count
    return {name: n for name, n in out.items() if n}


def recounted() -> dict[str, int]:
    services.recount_manager_loads()
    return loads()


@pytest.mark.django_db
def test_counts_follow_intake_completion_cancellation_and_reassignment(personas):
    clerk, admin = personas["clerk"], personas["admin"]
    apps = [new_app(clerk, i) for i in range(5)]
    assert [a.customer_manager.username for a in apps] == ["alice", "bob", "alice", "bob", "alice"]
    assert loads() == {"alice": 3, "bob": 2}
    with at():
        services.cancel(apps[0].number, clerk, reason="客户撤回")
        services.reassign(apps[2].number, admin, username="bob", reason="调整")
        services.pause(apps[1].number, admin, reason_code="customer_request", reason="客户要求")  # still open
        # alice's last one through to the end: survey, then connection completes the application
        services.complete_stage(apps[4].number, "survey", admin)
        services.complete_stage(apps[4].number, "connection", admin)
    assert Application.objects.get(pk=apps[4].pk).status == "completed"
    assert loads() == {"bob": 3}
    assert recounted() == {"bob": 3}
    # the least-loaded manager gets the next one: alice (0) before bob (3)
    assert new_app(clerk, 9).customer_manager.username == "alice"
    assert loads() == {"alice": 1, "bob": 3}


@pytest.mark.django_db
def test_a_refused_change_leaves_the_counts_alone(personas):
    clerk = personas["clerk"]
    app = new_app(clerk, 1)
    with at(), pytest.raises(Conflict):
        services.reassign(app.number, personas["admin"], username="alice", reason="同一人")
    assert loads() == {"alice": 1}


@pytest.mark.django_db
def test_the_recount_command_repairs_counts_after_a_load_that_bypassed_the_services(personas):
    from io import StringIO

    from django.core.management import call_command

    new_app(personas["clerk"], 1)
    new_app(personas["clerk"], 2)
    ManagerLoad.objects.all().delete()  # as after a bulk load
    out = StringIO()
    call_command("recount_manager_loads", stdout=out)
    assert out.getvalue().strip() == "2 customer manager(s) with open applications recounted."
    assert loads() == {"alice": 1, "bob": 1}


@pytest.fixture(params=["fast", "orm"])
def path(request, settings) -> str:
    settings.SUNSHINE_FAST_WRITES = request.param == "fast"
    return str(request.param)


@pytest.mark.django_db
def test_counts_spread_over_shards_are_summed_by_the_pick(personas, path):
    # As after changes of alice in three transactions: 5 - 2 + 0 = 3 open; bob's one row says 4.
    alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")
    ManagerLoad.objects.bulk_create(
        [
            ManagerLoad(user=alice, shard=0, open_count=5),
            ManagerLoad(user=alice, shard=3, open_count=-2),
            ManagerLoad(user=alice, shard=15, open_count=0),
            ManagerLoad(user=bob, shard=1, open_count=4),
        ]
    )
    # alice (3), then alice again (4 = 4, the lower username), then bob (4 < 5)
    picked = [new_app(personas["clerk"], i).customer_manager.username for i in range(3)]
    assert picked == ["alice", "alice", "bob"]
    assert loads() == {"alice": 5, "bob": 5}


@pytest.mark.skipif(connection.vendor != "postgresql", reason=NEEDS_POSTGRES)
@pytest.mark.django_db
def test_a_change_adds_to_the_shard_of_its_transaction(personas):
    apps = [new_app(personas["clerk"], i) for i in range(3)]  # one transaction: the test's
    with connection.cursor() as cursor:
        cursor.execute("SELECT mod(txid_current(), %s)", [ManagerLoad.SHARDS])
        shard = cursor.fetchone()[0]
    rows = sorted((m.user.username, m.shard, m.open_count) for m in ManagerLoad.objects.select_related("user"))
    assert rows == [("alice", shard, 2), ("bob", shard, 1)]
    with at():
        services.cancel(apps[0].number, personas["clerk"], reason="客户撤回")
    rows = sorted((m.user.username, m.shard, m.open_count) for m in ManagerLoad.objects.select_related("user"))
    assert rows == [("alice", shard, 1), ("bob", shard, 1)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason=NEEDS_POSTGRES)
@pytest.mark.django_db(transaction=True)
def test_concurrent_changes_of_one_manager_do_not_wait_for_each_other(personas):
    alice = User.objects.get(username="alice")
    services._adjust_loads({alice.pk: 1})  # committed: a row to update exists
    held, release = threading.Event(), threading.Event()
    first: dict[str, int] = {}

    def other_transaction() -> None:  # its own connection (Django's are per thread)
        try:
            with transaction.atomic():
                services._adjust_loads({alice.pk: 1})
                with connection.cursor() as cursor:
                    cursor.execute("SELECT mod(txid_current(), %s)", [ManagerLoad.SHARDS])
                    first["shard"] = cursor.fetchone()[0]
                held.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_transaction)
    thread.start()
    try:
        assert held.wait(30)
        for _attempt in range(ManagerLoad.SHARDS + 1):
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT mod(txid_current(), %s)", [ManagerLoad.SHARDS])
                    if cursor.fetchone()[0] == first["shard"]:  # another transaction id, another shard
                        transaction.set_rollback(True)
                        continue
                    # With one row per manager this waited for the other transaction's commit.
                    cursor.execute("SET LOCAL lock_timeout = '10s'")
                services._adjust_loads({alice.pk: 1})
                break
    finally:
        release.set()
        thread.join()
    assert loads() == {"alice": 3}
    services.recount_manager_loads()  # the applications: none (the deltas above were made up)
    assert loads() == {}


@pytest.mark.django_db
def test_a_deleted_manager_takes_its_shards_along(personas):
    # As after bob's applications were moved to others: shards that sum to nothing.
    bob = User.objects.get(username="bob")
    ManagerLoad.objects.bulk_create(
        [ManagerLoad(user=bob, shard=2, open_count=3), ManagerLoad(user=bob, shard=9, open_count=-3)]
    )
    new_app(personas["clerk"], 1)  # alice's (0 < 0 + 0: alice by name)
    bob.delete()
    assert [(m.user.username, m.open_count) for m in ManagerLoad.objects.select_related("user")] == [("alice", 1)]
