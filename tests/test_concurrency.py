"""Row locks under real concurrency: PostgreSQL only (SQLite serialises writers anyway)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sunshine.applications import services
from sunshine.applications.models import Application, Event, IdempotencyRecord, StageInstance
from sunshine.applications.validation import validate_intake
from sunshine.errors import Conflict, IdempotencyKeyReused
from tests.conftest import intake_body

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SELECT ... FOR UPDATE across threads needs PostgreSQL (SQLite has no row locks): "
        "run with DATABASE_URL=postgres://… (apt-get install postgresql)",
    ),
]


@pytest.fixture(scope="module", autouse=True)
def _restore_migrated_data(django_db_blocker):
    """A transactional test ends with a flush of every table, which also empties the data the
    migrations seeded (calendar, processes, content types). Tests that read the database
    outside a transaction later in the session need them back: reload the snapshot Django
    serialised when it created the test database."""
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock():
        for alias in connections:
            conn = connections[alias]
            contents = getattr(conn, "_test_serialized_contents", None)
            if contents:
                conn.creation.deserialize_db_from_string(contents)


def run_together(n: int, fn) -> list[tuple[str, Any]]:
    """Run ``fn`` in ``n`` threads released at the same moment; ('ok', result) or ('error', exc)."""
    barrier = threading.Barrier(n)
    results: list[tuple[str, Any]] = [("none", None)] * n

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = ("ok", fn())
        except Exception as exc:
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_two_users_complete_the_same_stage_at_once(personas):
    data = validate_intake(intake_body(), timezone.localdate())
    app = services.intake(data, personas["clerk"]).application
    assert app.current_stage == "survey"
    users = iter([personas["alice"], personas["leader"]])
    lock = threading.Lock()

    def complete():
        with lock:
            user = next(users)
        return services.complete_stage(app.number, "survey", user)

    results = run_together(2, complete)
    oks = [r for kind, r in results if kind == "ok"]
    errors = [r for kind, r in results if kind == "error"]
    assert len(oks) == 1, results
    assert len(errors) == 1 and isinstance(errors[0], Conflict), results
    assert errors[0].code == "stage_conflict"
    survey = StageInstance.objects.get(application=app, code="survey")
    assert survey.status == "completed"
    assert Event.objects.filter(application=app, type="stage_completed", stage="survey").count() == 1
    assert Event.objects.filter(application=app, type="stage_started", stage="connection").count() == 1
    assert list(StageInstance.objects.filter(application=app).order_by("seq").values_list("code", "status")) == [
        ("acceptance", "completed"),
        ("survey", "completed"),
        ("connection", "in_progress"),
    ]


def test_two_intakes_with_the_same_idempotency_key_create_one_application(personas):
    body = intake_body()
    data = validate_intake(body, timezone.localdate())
    fingerprint = services.request_fingerprint(body)

    def submit():
        return services.intake(
            data,
            personas["clerk"],
            idempotency_scope="user:test",
            idempotency_key="k-1",
            fingerprint=fingerprint,
        )

    results = run_together(2, submit)
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    numbers = {r.application.number for _, r in results}
    assert len(numbers) == 1
    assert sorted(r.replayed for _, r in results) == [False, True]
    assert Application.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    assert Event.objects.filter(type="intake").count() == 1


def test_same_key_different_body_at_once_is_refused(personas):
    first, second = intake_body(), intake_body(address="太原市晋源区晋祠路一段9号")

    def make(body):
        data = validate_intake(body, timezone.localdate())
        return lambda: services.intake(
            data,
            personas["clerk"],
            idempotency_scope="user:test",
            idempotency_key="k-2",
            fingerprint=services.request_fingerprint(body),
        )

    bodies = iter([make(first), make(second)])
    lock = threading.Lock()

    def submit():
        with lock:
            fn = next(bodies)
        return fn()

    results = run_together(2, submit)
    kinds = sorted(kind for kind, _ in results)
    assert kinds == ["error", "ok"], results
    error = next(r for kind, r in results if kind == "error")
    assert isinstance(error, IdempotencyKeyReused)
    assert Application.objects.count() == 1


def test_the_lock_sends_begin_with_its_statements_and_reads_the_phone_and_defects_when_asked(personas, monkeypatch):
    """The lock starts the transaction in its own round trip (one Sync: BEGIN, the lock, the
    stages), and its rows' encrypted phone and JSON defects are converted when first read (no
    query), equal to the ORM's; a save of the locked row keeps the phone and its blind index."""
    from django.db import transaction
    from psycopg.pq import TransactionStatus

    from sunshine.applications import writes

    data = validate_intake(intake_body(), timezone.localdate())
    number = services.intake(data, personas["clerk"]).application.number
    expected = Application.objects.get(number=number)
    StageInstance.objects.filter(application=expected, code="survey").update(defects=["meter", "seal"])
    syncs: list[int] = []  # the answers read before each Sync
    real = writes._round_gen
    monkeypatch.setattr(writes, "_round_gen", lambda pgconn, n, synced: (syncs.append(n), real(pgconn, n, synced))[1])
    with transaction.atomic():
        found = writes.lock(number, stages=True)
        # one Sync after BEGIN, the lock, the stages (and their Parse when psycopg prepares them)
        assert len(syncs) == 1 and syncs[0] in (3, 4, 5)
        pg = connection.connection
        assert pg.info.transaction_status == TransactionStatus.INTRANS and pg.autocommit is False
        assert found is not None
        app, stages = found
        assert "contact_phone" not in app.__dict__ and "defects" not in stages[0].__dict__
        with CaptureQueriesContext(connection) as ctx:
            assert app.contact_phone == expected.contact_phone == data.phone
            assert [s.defects for s in stages] == [[], ["meter", "seal"], []]
        assert ctx.captured_queries == []
        assert app.get_deferred_fields() == set()
        again = writes.lock(number, stages=False)
        assert again is not None
        again[0].customer_name = "王五"
        again[0].save()  # the blind index's pre_save reads the phone: converted then, no query
    assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    saved = Application.objects.get(number=number)
    assert (saved.customer_name, saved.contact_phone) == ("王五", data.phone)
    assert saved.contact_phone_index == expected.contact_phone_index


def test_a_failure_after_the_lock_rolls_back_the_transaction_it_began(personas):
    from django.db import transaction
    from psycopg.pq import TransactionStatus

    from sunshine.applications import writes

    data = validate_intake(intake_body(), timezone.localdate())
    number = services.intake(data, personas["clerk"]).application.number
    with pytest.raises(RuntimeError), transaction.atomic():
        found = writes.lock(number, stages=True)
        assert found is not None
        Application.objects.filter(number=number).update(customer_name="不该留下")
        raise RuntimeError
    assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    assert connection.connection.autocommit is True
    assert Application.objects.get(number=number).customer_name == data.customer_name


def test_a_number_collision_at_the_intakes_commit_is_retried_with_a_new_number(personas, monkeypatch):
    """A drawn number that is taken is drawn again (checked before the write since 992e76e; at
    the commit's pipeline, the statement's unique violation is what surfaces: an IntegrityError,
    retried, not the aborted COMMIT behind it)."""
    today = timezone.localdate()
    monkeypatch.setattr("sunshine.applications.services.new_number", lambda on: "YK2611020001")
    services.intake(validate_intake(intake_body(), today), personas["clerk"])
    numbers = iter(["YK2611020001", "YK2611020002"])
    monkeypatch.setattr("sunshine.applications.services.new_number", lambda on: next(numbers))
    from sunshine.applications.validation import resident_id_check_character

    first17 = "11010519491231011"
    other = intake_body(
        customer__id_number=first17 + resident_id_check_character(first17),
        customer__phone="13900000011",
        address="太原市晋源区晋祠路11号",
    )
    app = services.intake(validate_intake(other, today), personas["clerk"]).application
    assert app.number == "YK2611020002"
    assert sorted(Application.objects.values_list("number", flat=True)) == ["YK2611020001", "YK2611020002"]


def test_a_failed_change_statement_raises_its_own_error_and_the_connection_goes_on(personas):
    """The change's round trip (statement, COMMIT, one Sync: writes._Round): the statement's
    unique violation is what surfaces (an IntegrityError, not the aborted COMMIT behind it), the
    transaction is rolled back, and the connection works on: psycopg's prepared statements,
    deallocated by the rollback, are prepared again by the next transitions."""
    from django.db import IntegrityError, transaction
    from psycopg.pq import TransactionStatus

    from sunshine.applications import writes

    today = timezone.localdate()
    first = services.intake(validate_intake(intake_body(), today), personas["clerk"]).application.number
    from sunshine.applications.validation import resident_id_check_character

    first17 = "11010519491231012"
    other_body = intake_body(
        customer__id_number=first17 + resident_id_check_character(first17),
        customer__phone="13900000012",
        address="太原市晋源区晋祠路12号",
    )
    second = services.intake(validate_intake(other_body, today), personas["clerk"]).application.number
    table = Application._meta.db_table
    with pytest.raises(IntegrityError), transaction.atomic():
        assert writes.lock(first, stages=False) is not None
        batch = writes.Batch()
        batch.raw(f"UPDATE {table} SET customer_name = %s WHERE number = %s", ["改过", first])
        batch.raw(f"UPDATE {table} SET number = %s WHERE number = %s", [second, first])
        batch.run(commit=True)
    pg = connection.connection
    assert pg.info.transaction_status == TransactionStatus.IDLE and pg.autocommit is True
    assert Application.objects.get(number=first).customer_name == Application.objects.get(number=second).customer_name
    completed = Event.objects.filter(application__number__in=[first, second], type="stage_completed")
    before = completed.count()
    for number in (first, second, first, second):  # the statements used again, then prepared
        stage = StageInstance.objects.filter(application__number=number, status="in_progress").order_by("seq")[0]
        services.complete_stage(
            number, stage.code, personas["clerk"], outcome="passed" if stage.template.has_outcome else None
        )
    assert completed.count() == before + 4


def test_a_failure_while_the_statements_are_sent_leaves_the_connection_usable(personas):
    """A value psycopg cannot send fails before the Sync: what was sent is read, pipeline mode
    left, the transaction (BEGIN went first) rolled back by ``atomic``."""
    from django.db import transaction
    from psycopg.pq import TransactionStatus

    from sunshine.applications import writes

    number = services.intake(validate_intake(intake_body(), timezone.localdate()), personas["clerk"]).application.number
    with pytest.raises(Exception, match="adapt"), transaction.atomic():
        writes.lock(object(), stages=True)  # type: ignore[arg-type]
    pg = connection.connection
    assert pg.info.transaction_status == TransactionStatus.IDLE and pg.autocommit is True
    found = None
    with transaction.atomic():
        found = writes.lock(number, stages=True)
    assert found is not None and found[0].number == number and len(found[1]) == 3
