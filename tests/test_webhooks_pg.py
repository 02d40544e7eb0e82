"""The event feed and the deliveries under real concurrency, on PostgreSQL (docs/integration.md).

1. Event ids are not commit order: a transaction holding a lower id can commit after one with a
   higher id. A reader paging by event id would pass the lower one and never see it; the feed's
   positions are given at publication under one lock, so a reader paging by position sees every
   event exactly once. Shown deterministically (a held transaction), then under load: writers,
   reaction workers and a reader paging the API at the same time.
2. A worker killed (SIGKILL) while the receiver holds its request: the delivery is sent again
   after the stall time, nothing is lost, and after de-duplication by id nothing is repeated; the
   application's later events wait for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from sunshine.applications import outbox
from sunshine.applications import services as engine
from sunshine.applications.events import EventType
from sunshine.applications.models import Application, Event
from sunshine.applications.validation import validate_intake
from sunshine.webhooks import delivery, services
from sunshine.webhooks.models import Delivery, DeliveryStatus, FeedItem
from tests.conftest import intake_body
from tests.webhook_receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent
DELIVER = "from sunshine.webhooks.delivery import deliver_due; deliver_due()"

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent commits and row locks need PostgreSQL: run with DATABASE_URL=postgres://…",
    ),
]


@pytest.fixture
def worker(settings):
    settings.SUNSHINE_REACTIONS = "worker"
    settings.SUNSHINE_REACTION_BATCH = 3
    return settings


def intake(clerk, i: int) -> Application:
    body = intake_body(customer__name=f"客户{i}", customer__phone=f"1380000{i:04d}", address=f"太原市晋源区晋祠路{i}号")
    return engine.intake(validate_intake(body, timezone.localdate()), clerk).application


def published_ids() -> list[int]:
    return list(Event.objects.exclude(type=EventType.PII_VIEWED).order_by("pk").values_list("pk", flat=True))


def read_all(client, after: int) -> tuple[list[dict], int]:
    got = []
    while True:
        page = client.get("/api/v1/events", after=after, limit=7).json()
        got += page["events"]
        after = page["next"]
        if not page["has_more"]:
            return got, after


def test_a_lower_event_id_committed_later_is_still_read_once(personas, worker, api_as):
    """T1 completes a stage of one application (lower event ids) and holds its transaction open;
    T2 completes a stage of another and commits; the workers publish T2's events and the reader
    pages past them; then T1 commits and is published: the reader's next page has it, after T2's."""
    clerk, alice = personas["clerk"], personas["alice"]
    reader = api_as("admin")
    one, two = intake(clerk, 1), intake(clerk, 2)
    outbox.drain()
    _, cursor = read_all(reader, 0)
    held, release = threading.Event(), threading.Event()
    first: dict[str, int] = {}

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                engine.complete_stage(one.number, "survey", alice)
                first["max"] = Event.objects.filter(application=one).order_by("-pk").values_list("pk", flat=True)[0]
                held.set()
                release.wait(30)
        finally:
            connection.close()

    t1 = threading.Thread(target=slow_writer)
    t1.start()
    assert held.wait(30)
    engine.complete_stage(two.number, "survey", alice)  # commits now, with higher event ids
    outbox.drain()
    seen, cursor = read_all(reader, cursor)
    assert [(e["subject"], e["data"]["event"]) for e in seen] == [
        (two.number, "stage_completed"),
        (two.number, "stage_started"),
    ]
    assert min(int(e["id"]) for e in seen) > first["max"]  # a reader by id would now skip T1's events
    release.set()
    t1.join(30)
    outbox.drain()
    later, cursor = read_all(reader, cursor)
    assert [(e["subject"], int(e["id"])) for e in later][-1] == (one.number, first["max"])
    assert len(later) == 2
    _, after_all = read_all(reader, 0)
    assert after_all == cursor


def test_the_feed_read_while_others_write_has_every_event_exactly_once(personas, worker, api_as):
    clerk, alice = personas["clerk"], personas["alice"]
    reader = api_as("admin")
    writers_done = threading.Event()
    errors: list[BaseException] = []

    def writer(base: int) -> None:
        try:
            for i in range(6):
                app = intake(clerk, base + i)
                engine.complete_stage(app.number, "survey", alice)
                if i % 2:
                    engine.complete_stage(app.number, "connection", alice)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def reactor() -> None:
        try:
            while not writers_done.is_set() or outbox.pending():
                if not outbox.drain(batches=1).entries:
                    time.sleep(0.01)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    writers = [threading.Thread(target=writer, args=(100 * k,)) for k in range(1, 4)]
    reactors = [threading.Thread(target=reactor) for _ in range(2)]
    for t in writers + reactors:
        t.start()
    seen: list[dict] = []
    cursor = 0
    while any(t.is_alive() for t in writers):
        page, cursor = read_all(reader, cursor)
        seen += page
    writers_done.set()
    while any(t.is_alive() for t in reactors):
        page, cursor = read_all(reader, cursor)
        seen += page
    page, cursor = read_all(reader, cursor)
    seen += page
    assert errors == []
    ids = [int(e["id"]) for e in seen]
    assert len(ids) == len(set(ids))  # no repeats
    assert sorted(ids) == published_ids()  # no gaps: 18 applications, every event
    assert len(ids) == 18 * 4 + 18 * 2 + 9 * 2
    assert [int(e["sequence"]) for e in seen] == list(range(1, len(ids) + 1))
    by_app: dict[str, list[int]] = {}
    for e in seen:
        by_app.setdefault(e["subject"], []).append(int(e["id"]))
    assert all(v == sorted(v) for v in by_app.values())  # each application's events in their order
    assert FeedItem.objects.count() == len(ids)


def _spawn_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from sunshine.webhooks.delivery import deliver_due; deliver_due()",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_worker_killed_mid_delivery_loses_nothing_and_repeats_nothing_after_dedup(personas, worker):
    receiver = Receiver()
    try:
        sub, receiver.secret = services.create(
            personas["admin"], name="GIS", url=receiver.url, event_types=["intake", "stage_completed", "completed"]
        )
        apps = [intake(personas["clerk"], i) for i in range(3)]
        for app in apps:
            engine.complete_stage(app.number, "survey", personas["alice"])
            engine.complete_stage(app.number, "connection", personas["alice"])
        outbox.drain()
        want = {
            app.number: [
                str(pk)
                for pk in Event.objects.filter(application=app, type__in=["intake", "stage_completed", "completed"])
                .order_by("pk")
                .values_list("pk", flat=True)
            ]
            for app in apps
        }
        assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == sum(map(len, want.values())) == 3 * 5
        receiver.mode = "hold"
        url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
        proc = _spawn_worker(
            {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "sunshine.settings", "SUNSHINE_WEBHOOK_BATCH": "1"}
        )
        try:
            assert receiver.held.wait(60), "the worker never reached the receiver"
            held_id = receiver.received[-1]["id"]
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(30) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
        receiver.mode = "ok"
        receiver.release.set()
        stuck = Delivery.objects.get(item__event_id=int(held_id))
        assert (stuck.status, stuck.attempts) == (DeliveryStatus.SENDING, 1)
        # before the stall time: the others go out, the application's later events wait behind it
        while delivery.deliver_due():
            pass
        stuck.refresh_from_db()
        assert (stuck.status, stuck.attempts) == (DeliveryStatus.SENDING, 1)
        later = Delivery.objects.filter(application=stuck.application, item_id__gt=stuck.item_id)
        assert set(later.values_list("status", "attempts")) == {(DeliveryStatus.PENDING, 0)}
        others = Delivery.objects.exclude(application=stuck.application)
        assert set(others.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
        with time_machine.travel(timezone.now() + timedelta(minutes=15), tick=True):
            for _ in range(20):
                if not delivery.deliver_due():
                    break
        unique = receiver.unique()
        by_app: dict[str, list[str]] = {}
        for e in unique:
            by_app.setdefault(e["subject"], []).append(e["id"])
        assert by_app == want
        assert receiver.ids().count(held_id) == 2  # sent again after the kill: the receiver de-duplicates
        assert len(receiver.received) == len(unique) + 1
        assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
        assert sub.deliveries.get(item__event_id=int(held_id)).attempts == 2
    finally:
        receiver.stop()
