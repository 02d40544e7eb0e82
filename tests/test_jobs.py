"""Background jobs: periodic jobs discovered from each app, one scheduler by database lease
(handover after expiry), exactly one enqueue per cron slot, retries with back-off, the job page."""

from __future__ import annotations

import re
import threading

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from sunshine.jobs import lease
from sunshine.jobs.models import Lease, PeriodicRun, TaskRetry
from sunshine.jobs.retry import with_retries
from sunshine.jobs.runner import run_ready
from sunshine.jobs.schedule import Periodic, discover
from sunshine.jobs.scheduler import LEASE_NAME, Scheduler

pytestmark = pytest.mark.django_db


def at(hms: str, day: str = "2026-11-05"):
    return time_machine.travel(f"{day} {hms} +0800", tick=False)


CALLS: list[str] = []


@task()
def ping() -> str:
    CALLS.append("ping")
    return "pong"


FLAKY = {"failures_left": 0}


@task()
@with_retries(max_attempts=4, base_delay=10)
def flaky(label: str, *, attempt: int = 1) -> str:
    if FLAKY["failures_left"] > 0:
        FLAKY["failures_left"] -= 1
        raise ConnectionError(f"gateway down ({label}, attempt {attempt})")
    return f"ok {label} on attempt {attempt}"


PING = Periodic("test.ping", "tests.test_jobs.ping", "*/5 * * * *")


def test_each_app_declares_its_periodic_jobs_in_schedule_py():
    jobs = {p.name: p for p in discover()}
    assert jobs["notifications.deliver_due"] == Periodic(
        "notifications.deliver_due", "sunshine.notifications.tasks.deliver_due_task", "* * * * *"
    )
    assert len(jobs) == len(discover())  # names are unique
    with pytest.raises(ValueError, match="5 fields"):
        Periodic("bad", "tests.test_jobs.ping", "* * * *")


def test_cron_slots_are_in_shanghai_time():
    trigger = Periodic("daily", "tests.test_jobs.ping", "30 8 * * 1-5").trigger()
    with at("09:00"):
        from django.utils import timezone

        nxt = trigger.get_next_fire_time(None, timezone.now())
    assert nxt.isoformat() == "2026-11-06T08:30:00+08:00"  # Friday 08:30 in Asia/Shanghai


def test_only_the_lease_holder_schedules_and_another_takes_over_after_expiry():
    a = Scheduler(holder="host-a:1", jobs=[PING], lease_seconds=30)
    b = Scheduler(holder="host-b:2", jobs=[PING], lease_seconds=30)
    with at("10:00:00"):
        assert (a.renew(), b.renew()) == (True, False)
        assert a.fire(PING) is True
        assert b.fire(PING) is False
    with at("10:00:10"):
        assert a.renew() is True  # renewed: now until 10:00:40
    # A stops renewing (its machine died). Until the lease expires B waits.
    with at("10:00:39"):
        assert b.renew() is False
    with at("10:00:40"):
        assert b.renew() is True
        assert Lease.objects.get(name=LEASE_NAME).holder == "host-b:2"
    with at("10:00:50"):
        assert b.renew() is True  # B renews on its interval: until 10:01:20
    with at("10:01:00"):
        assert a.fire(PING) is False  # A came back: it asks the database, not its memory
        assert a.renew() is False
        assert b.fire(PING) is True
    runs = list(PeriodicRun.objects.order_by("slot").values_list("name", "holder"))
    assert runs == [("test.ping", "host-a:1"), ("test.ping", "host-b:2")]
    assert DBTaskResult.objects.filter(task_path="tests.test_jobs.ping").count() == 2


def test_a_slot_is_enqueued_once_even_if_two_holders_fire_it():
    a = Scheduler(holder="a", jobs=[PING], lease_seconds=30)
    with at("10:05:00"):
        assert a.renew() is True
        assert a.fire(PING) is True
    with at("10:05:20"):
        assert a.fire(PING) is False  # same 10:05 slot (a late misfire): nothing new
    assert DBTaskResult.objects.filter(task_path="tests.test_jobs.ping").count() == 1


def test_a_clean_shutdown_releases_the_lease_at_once():
    a = Scheduler(holder="a", jobs=[], lease_seconds=30)
    b = Scheduler(holder="b", jobs=[], lease_seconds=30)
    with at("10:00:00"):
        assert a.renew() is True
        lease.release(LEASE_NAME, "a")
        assert b.renew() is True


@pytest.mark.django_db(transaction=True)
def test_racing_schedulers_after_expiry_elect_exactly_one():
    """Eight processes' worth of schedulers renew at the same instant after the holder died."""
    with at("10:00:00"):
        assert lease.hold(LEASE_NAME, "dead", 30) is True
    results: dict[str, bool] = {}
    barrier = threading.Barrier(8)

    def contend(name: str) -> None:
        try:
            barrier.wait()
            results[name] = lease.hold(LEASE_NAME, name, 30)
        finally:
            connection.close()

    with at("10:01:00"):
        threads = [threading.Thread(target=contend, args=(f"s{i}",)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    winners = [n for n, won in results.items() if won]
    assert len(results) == 8
    assert len(winners) == 1
    assert Lease.objects.get(name=LEASE_NAME).holder == winners[0]


def test_a_failing_task_is_retried_with_doubling_backoff_until_it_succeeds():
    FLAKY["failures_left"] = 2
    with at("10:00:00"):
        flaky.enqueue("sms-7")
        assert run_ready() == 1
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.run_after.isoformat() == "2026-11-05T02:00:10+00:00"  # +10 s
    assert retry.args_kwargs == {"args": ["sms-7"], "kwargs": {"attempt": 2}}
    with at("10:00:09"):
        assert run_ready() == 0
    with at("10:00:10"):
        assert run_ready() == 1
    assert DBTaskResult.objects.get(status="READY").run_after.isoformat() == "2026-11-05T02:00:30+00:00"  # +20 s
    with at("10:00:30"):
        assert run_ready() == 1
    rows = list(DBTaskResult.objects.order_by("enqueued_at").values_list("status", "return_value"))
    assert rows == [("FAILED", None), ("FAILED", None), ("SUCCESSFUL", "ok sms-7 on attempt 3")]


def test_after_the_last_attempt_nothing_more_is_queued():
    FLAKY["failures_left"] = 10
    with at("10:00:00"):
        flaky.enqueue("x")
    for hms in ["10:00:00", "10:00:10", "10:00:30", "10:01:10"]:  # +10 s, +20 s, +40 s
        with at(hms):
            assert run_ready() == 1
    with at("10:10:00"):
        assert run_ready() == 0
    failed = list(DBTaskResult.objects.order_by("enqueued_at").values_list("exception_class_path", flat=True))
    assert failed == ["sunshine.jobs.retry.RetryScheduled"] * 3 + ["sunshine.jobs.retry.GaveUp"]


# --- the job status page (administrators) ------------------------------------------------------


def _fail_some(n: int) -> list[DBTaskResult]:
    FLAKY["failures_left"] = 10_000
    with at("09:00:00"):
        for i in range(n):
            flaky.using(priority=0).enqueue(f"job-{i}", attempt=4)  # the last attempt: fails for good
        run_ready()
    return list(DBTaskResult.objects.filter(status="FAILED"))


def test_the_job_page_lists_failures_with_their_error_in_constant_queries(personas, client):
    client.force_login(personas["admin"])
    _fail_some(1)
    r = client.get("/workbench/jobs/")
    html = r.content.decode()
    assert r.status_code == 200
    assert (
        "GaveUp</strong>: sunshine.jobs.retry.GaveUp: attempt 4 of 4 failed, giving up: gateway down (job-0, attempt 4)"
        in html
    )
    assert "&#x27;job-0&#x27;, attempt=4" in html
    with CaptureQueriesContext(connection) as one:
        client.get("/workbench/jobs/")
    _fail_some(20)
    with CaptureQueriesContext(connection) as many:
        client.get("/workbench/jobs/")
    assert len(many) == len(one)


def test_an_administrator_retries_a_failed_job_once(personas, client):
    failed = _fail_some(1)[0]
    client.force_login(personas["admin"])
    r = client.post(f"/workbench/jobs/{failed.pk}/retry/", follow=True)
    assert r.status_code == 200
    again = DBTaskResult.objects.get(status="READY")
    assert again.task_path == "tests.test_jobs.flaky"
    # starts again at attempt 1; stored with the id of the administrator's request (logs)
    assert again.args_kwargs == {"args": ["job-0"], "kwargs": {}, "request_id": again.args_kwargs["request_id"]}
    assert re.fullmatch(r"[0-9a-f]{32}", again.args_kwargs["request_id"])
    assert TaskRetry.objects.get(original_id=str(failed.pk)).new_id == str(again.pk)
    r = client.post(f"/workbench/jobs/{failed.pk}/retry/", follow=True)
    assert "这个任务已经重试过了" in r.content.decode() or "already retried" in r.content.decode()
    assert DBTaskResult.objects.filter(status="READY").count() == 1


@pytest.mark.parametrize("who", ["alice", "leader", "clerk", "auditor"])
def test_only_administrators_see_or_retry_jobs(personas, client, who):
    failed = _fail_some(1)[0]
    client.force_login(personas[who])
    assert client.get("/workbench/jobs/").status_code == 403
    assert client.post(f"/workbench/jobs/{failed.pk}/retry/").status_code == 403
    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert not TaskRetry.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    r = client.get("/workbench/jobs/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
