"""Reactions through the transactional outbox (sunshine/applications/outbox.py): a change commits
its entry, a worker runs the reactions after commit exactly once, failures are retried with
back-off and shown, and the sweep never misses a rung because a worker is behind.

Calendar: Mon 2026-11-16 … Fri 11-20 and Mon 11-23 … are working days (as in test_sweep)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from sunshine.applications import events as ev
from sunshine.applications import outbox
from sunshine.applications import services as engine
from sunshine.applications.events import EventType
from sunshine.applications.models import Application, AuditDigest, Event, Outbox, ReactionDone, StageInstance
from sunshine.applications.reactions import reactions
from sunshine.feedback.models import FollowUp
from sunshine.notifications.models import Message
from sunshine.supervision.models import RungMoment
from tests.test_sweep import at, fire, intake, ladder_fixture, sent_fixture, stored, t  # noqa: F401

pytestmark = pytest.mark.django_db

ENGINE_REACTIONS = [
    "sunshine.supervision.reactions.on_events",
    "sunshine.notifications.reactions.on_events",
    "sunshine.feedback.reactions.on_events",
]
FLAKY = {"failures_left": 0}


def _call(name: str, events) -> None:
    """Write a row per call, in the reaction's transaction: what committed is what ran."""
    n = AuditDigest.objects.count()
    AuditDigest.objects.create(
        day=date(2000, 1, 1) + timedelta(days=n),
        events=len(events),
        digest=name,
        previous=",".join(str(e.pk) for e in events),
        created_at=timezone.now(),
    )


def committed_calls() -> list[tuple[str, str]]:
    return list(AuditDigest.objects.filter(day__lt=date(2001, 1, 1)).order_by("day").values_list("digest", "previous"))


def counting(events, stages) -> None:
    """A reaction that is not idempotent by itself: each run adds a row."""
    _call("counting", events)


def flaky(events, stages) -> None:
    if FLAKY["failures_left"] > 0:
        FLAKY["failures_left"] -= 1
        raise ConnectionError("statistics store down")
    _call("flaky", events)


@pytest.fixture
def worker(settings):
    """Reactions wait for a worker (production), instead of running in the change's transaction."""
    settings.SUNSHINE_REACTIONS = "worker"
    return settings


@pytest.fixture
def extra_reactions(settings):
    FLAKY["failures_left"] = 0
    settings.SUNSHINE_EVENT_REACTIONS = [*ENGINE_REACTIONS, "tests.test_outbox.counting", "tests.test_outbox.flaky"]
    reactions.cache_clear()
    yield
    reactions.cache_clear()


def test_a_change_commits_its_entry_and_the_worker_writes_what_eager_mode_writes(ladder, worker):
    app = intake("2026-11-16")
    (entry,) = Outbox.objects.all()
    events = list(Event.objects.filter(application=app).order_by("id"))
    assert entry.events == [e.pk for e in events]
    assert sorted(entry.stages) == sorted(StageInstance.objects.filter(application=app).values_list("pk", flat=True))
    assert (stored(app), Message.objects.count()) == ({}, 0)  # nothing reacted yet
    with at("2026-11-16", "10:00"):
        assert outbox.drain() == outbox.Drained(entries=1)
    assert stored(app) == {
        "due_soon": ("2026-11-17 08:30", False),
        "due_today": ("2026-11-18 08:30", False),
        "overdue": ("2026-11-19 08:30", False),
        "overdue_3": ("2026-11-23 08:30", False),
    }
    assert sorted(Message.objects.filter(application=app).values_list("template", "channel", "key")) == [
        ("accepted", "sms", f"event:{events[0].pk}:accepted"),
        ("assigned", "inbox", f"event:{events[0].pk}:assigned"),
    ]
    assert not Outbox.objects.exists() and not ReactionDone.objects.exists()
    with at("2026-11-16", "10:01"):
        assert outbox.drain() == outbox.Drained()  # nothing twice


def test_a_change_nobody_reacts_to_writes_no_entry(ladder, worker):
    app = intake("2026-11-16")
    Outbox.objects.all().delete()
    with transaction.atomic():
        ev.record([ev.new(app, EventType.PII_VIEWED, t("2026-11-16", "11:00"), ladder["alice"], field="phone")])
    assert Event.objects.filter(application=app, type="pii_viewed").count() == 1
    assert not Outbox.objects.exists()


def test_the_sweep_runs_the_due_reactions_first_so_a_busy_worker_never_makes_a_rung_missing(ladder, sent, worker):
    app = intake("2026-11-16")  # no worker has run: no moments are stored yet
    assert stored(app) == {}
    assert fire("2026-11-17", "08:30") == [(app.number, "due_soon", ("alice",))]
    # the intake's entry was run by the sweep; the rung's own event waits only for the webhooks
    (entry,) = Outbox.objects.all()
    assert [e.type for e in Event.objects.filter(pk__in=entry.events)] == ["warning"]
    assert fire("2026-11-17", "08:31") == []


def test_a_pause_no_worker_has_seen_yet_never_fires_the_old_rungs(ladder, sent, worker):
    app = intake("2026-11-16")
    with at("2026-11-16", "10:00"):
        outbox.drain()
    with at("2026-11-16", "15:00"):
        engine.pause(app.number, ladder["alice"], reason_code="customer_request", reason="客户要求延后勘查")
    assert len(stored(app)) == 4  # the worker is behind: the moments of the running stage are still there
    assert fire("2026-11-17", "08:30") == []  # the sweep ran the pause's reactions first
    assert fire("2026-11-19", "09:00") == []
    assert stored(app) == {}


def test_reactions_run_out_of_order_by_two_workers_end_as_in_order(ladder, worker):
    app = intake("2026-11-16")
    with at("2026-11-16", "15:00"):
        engine.pause(app.number, ladder["alice"], reason_code="customer_request", reason="客户要求延后勘查")
    with at("2026-11-20", "11:00"):
        engine.resume(app.number, ladder["alice"])
    entries = list(Outbox.objects.order_by("-pk"))  # resume, pause, intake: newest first
    assert len(entries) == 3
    for entry in entries:
        with at("2026-11-20", "11:01"), transaction.atomic():
            batch, done = outbox._load([entry])
            outbox._run(batch, t("2026-11-20", "11:01"), done)
    assert stored(app) == {
        "due_soon": ("2026-11-23 08:30", False),
        "due_today": ("2026-11-24 08:30", False),
        "overdue": ("2026-11-25 08:30", False),
        "overdue_3": ("2026-11-27 08:30", False),
    }
    assert [m.template for m in Message.objects.filter(application=app).order_by("id")] == [
        "resumed",
        "paused",
        "accepted",
        "assigned",
    ]
    assert not Outbox.objects.exists()


def test_a_failing_reaction_is_retried_with_back_off_and_the_others_run_exactly_once(
    ladder, worker, extra_reactions, settings
):
    settings.SUNSHINE_REACTION_BACKOFF_SECONDS = 10
    FLAKY["failures_left"] = 4  # two attempts: each runs it with the others, then on its own
    app = intake("2026-11-16")
    (entry,) = Outbox.objects.all()
    with at("2026-11-16", "10:00"):
        first = outbox.drain()
    assert (first.entries, first.failed) == (0, 1)
    assert first.errors == ["tests.test_outbox.flaky: ConnectionError: statistics store down"]
    entry.refresh_from_db()
    assert (entry.attempts, entry.due_at, entry.last_error) == (
        1,
        t("2026-11-16", "10:00") + timedelta(seconds=10),
        "tests.test_outbox.flaky: ConnectionError: statistics store down",
    )
    # the others are done, each marked with its effects (feedback has nothing to do at intake)
    assert sorted(ReactionDone.objects.filter(entry=entry).values_list("reaction", flat=True)) == [
        "sunshine.notifications.reactions.on_events",
        "sunshine.supervision.reactions.on_events",
        "tests.test_outbox.counting",
    ]
    assert len(stored(app)) == 4 and Message.objects.count() == 2
    with at("2026-11-16", "10:00:09"):
        assert outbox.drain() == outbox.Drained()  # not due before its back-off
    with at("2026-11-16", "10:00:10"):
        second = outbox.drain()
    assert (second.entries, second.failed) == (0, 1)
    entry.refresh_from_db()
    assert (entry.attempts, entry.due_at) == (2, t("2026-11-16", "10:00:10") + timedelta(seconds=20))  # doubled
    with at("2026-11-16", "10:00:30"):
        assert outbox.drain() == outbox.Drained(entries=1)
    events = ",".join(
        str(pk) for pk in Event.objects.filter(application=app).order_by("id").values_list("pk", flat=True)
    )
    assert committed_calls() == [("counting", events), ("flaky", events)]  # each reaction once
    assert len(stored(app)) == 4 and Message.objects.count() == 2  # nothing twice
    assert not Outbox.objects.exists() and not ReactionDone.objects.exists()


def test_in_eager_mode_a_failing_reaction_does_not_undo_the_change(ladder, extra_reactions):
    FLAKY["failures_left"] = 2
    app = intake("2026-11-16")
    assert app.pk is not None and Event.objects.filter(application=app).count() == 4
    (entry,) = Outbox.objects.all()
    assert entry.attempts == 1 and len(stored(app)) == 4  # the other reactions ran
    with at("2026-11-16", "10:05"):
        assert outbox.drain() == outbox.Drained(entries=1)
    assert [name for name, _events in committed_calls()] == ["counting", "flaky"]


def test_drain_reactions_runs_every_pending_entry_now(ladder, worker, extra_reactions):
    FLAKY["failures_left"] = 2  # the first change's attempt fails
    app = intake("2026-11-16")
    intake("2026-11-16", "10:05", id_number="110105194912310021")
    out, err = io.StringIO(), io.StringIO()
    with at("2026-11-16", "10:10"), pytest.raises(CommandError) as failed:
        call_command("drain_reactions", stdout=out, stderr=err)
    assert str(failed.value) == "1 change(s) have failing reactions (see the jobs page)."
    assert out.getvalue() == "Reactions run for 1 change(s); 1 failed; 1 pending.\n"
    assert err.getvalue() == "tests.test_outbox.flaky: ConnectionError: statistics store down\n"
    out = io.StringIO()
    with at("2026-11-16", "10:10:01"):  # before the back-off: the command does not wait for it
        call_command("drain_reactions", stdout=out)
    assert out.getvalue() == "Reactions run for 1 change(s); 0 failed; 0 pending.\n"
    assert len(stored(app)) == 4


def test_a_completion_schedules_one_follow_up_through_the_outbox(ladder, worker):
    app = intake("2026-11-16")
    with at("2026-11-17"):
        engine.complete_stage(app.number, "survey", ladder["engineer"])
    with at("2026-11-18"):
        engine.complete_stage(app.number, "connection", ladder["alice"])
    assert not FollowUp.objects.exists()
    with at("2026-11-18", "10:01"):
        assert outbox.drain() == outbox.Drained(entries=3)
    assert FollowUp.objects.filter(application=app).count() == 1
    assert not RungMoment.objects.filter(stage__application=app, fired_at__isnull=True).exists()


def test_the_jobs_page_shows_failing_reactions(ladder, worker, extra_reactions, client):
    FLAKY["failures_left"] = 5
    app = intake("2026-11-16")
    with at("2026-11-16", "10:00"):
        outbox.drain()
    client.force_login(ladder["admin"])
    page = client.get("/workbench/jobs/").content.decode()
    row = page.split('<table id="failing-reactions">')[1].split("</table>")[0]
    assert f'<a href="/workbench/applications/{app.number}/">{app.number}</a>' in row
    assert '<td>1</td><td><span class="nowrap">11-16 10:00:10</span></td>' in row
    assert "tests.test_outbox.flaky: ConnectionError: statistics store down" in row
    assert "有 1 项变更等待后续处理" in page


def _changes(ladder, first_id: int) -> list[Application]:
    """Three applications and nine changes over four days: an intake and its next completion,
    a pause and a resume, two connections (each schedules its follow-up from its own day)."""
    a = intake("2026-11-16", "10:00", id_number=_rid(first_id))
    b = intake("2026-11-16", "10:05", id_number=_rid(first_id + 1))
    c = intake("2026-11-16", "10:10", id_number=_rid(first_id + 2))
    with at("2026-11-16", "11:00"):
        engine.complete_stage(c.number, "survey", ladder["engineer"])
    with at("2026-11-16", "15:00"):
        engine.pause(b.number, ladder["alice"], reason_code="customer_request", reason="客户要求延后勘查")
    with at("2026-11-17", "09:00"):
        engine.complete_stage(a.number, "survey", ladder["engineer"])
    with at("2026-11-17", "11:00"):
        engine.resume(b.number, ladder["alice"])
    with at("2026-11-18", "10:00"):
        engine.complete_stage(a.number, "connection", ladder["alice"])
    with at("2026-11-19", "10:00"):
        engine.complete_stage(c.number, "connection", ladder["alice"])
    return [a, b, c]


def _rid(i: int) -> str:
    from sunshine.applications.validation import resident_id_check_character

    first17 = f"11010519491231{i:03d}"
    return first17 + resident_id_check_character(first17)


def _what_reactions_wrote(apps: list[Application]) -> list:
    """Messages, rung moments and follow-ups of ``apps``, with keys and numbers made positional."""
    out = []
    for app in apps:
        ids = Event.objects.filter(application=app).order_by("id").values_list("pk", flat=True)
        events = {pk: i for i, pk in enumerate(ids)}

        def key(m: Message, events: dict[int, int] = events, number: str = app.number) -> str:
            return re.sub(r"event:(\d+)", lambda x: f"event#{events[int(x[1])]}", m.key.replace(number, "N"))

        messages = sorted(
            (m.template, m.channel, m.recipient.startswith("user:"), key(m), m.title, m.body.replace(app.number, "N"))
            for m in Message.objects.filter(application=app)
        )
        moments = sorted(
            (m.stage.code, m.stage.round, m.rung_code, m.due_at, m.deadline, m.fired_at)
            for m in RungMoment.objects.filter(stage__application=app).select_related("stage")
        )
        followups = list(FollowUp.objects.filter(application=app).values_list("created_at", "due_on", "assigned_to_id"))
        out.append((messages, moments, followups))
    return out


def test_a_worker_reacting_to_many_changes_at_once_writes_what_each_change_writes_alone(ladder, settings):
    """The drain calls each reaction once for a whole batch of entries (several changes of one
    application among them): the rows are those of reacting to each change in its own
    transaction (eager mode), which tests/test_sweep.py and the notification tests pin down."""
    eager = _changes(ladder, 800)
    expected = _what_reactions_wrote(eager)
    with at("2026-11-19", "11:00"):  # the managers' open counts as before, so the same managers are chosen
        engine.cancel(eager[1].number, ladder["alice"], reason="测试")
    settings.SUNSHINE_REACTIONS = "worker"
    batched = _changes(ladder, 810)
    assert Outbox.objects.count() == 9
    assert Message.objects.filter(application__in=batched).count() == 0
    with at("2026-11-19", "12:00"):
        assert outbox.drain() == outbox.Drained(entries=9)
    assert not Outbox.objects.exists()
    assert _what_reactions_wrote(batched) == expected
    (a_messages, _a_moments, a_followups), _b, (_c_messages, _c_moments, c_followups) = expected
    # the intake's own completion of acceptance is no notice; the next completion (another change,
    # drained in the same batch) is one
    assert [m[0] for m in a_messages] == [
        "accepted",
        "assigned",
        "connected",
        "followup_assigned",
        "followup_coming",
        "stage_completed",
    ]
    # each follow-up dated by its own connection, not by the batch's latest
    assert [f[0] for f in a_followups + c_followups] == [t("2026-11-18", "10:00"), t("2026-11-19", "10:00")]


def _drain_statements(ladder, first_id: int, n: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(n):
        app = intake("2026-11-16", "10:00", id_number=_rid(first_id + i))
        with at("2026-11-16", "11:00"):
            engine.complete_stage(app.number, "survey", ladder["engineer"])
    assert Outbox.objects.count() == 2 * n
    with at("2026-11-16", "12:00"), CaptureQueriesContext(connection) as ctx:
        assert outbox.drain() == outbox.Drained(entries=2 * n)
    return len(ctx.captured_queries)


def test_a_batch_of_changes_costs_the_same_statements_whatever_its_size(ladder, worker):
    """Each reaction runs once per batch (set-based): 4 changes or 24, the same statements (after
    a first batch has warmed the process's caches: message templates)."""
    _drain_statements(ladder, 840, 1)
    assert _drain_statements(ladder, 850, 2) == _drain_statements(ladder, 860, 12)
