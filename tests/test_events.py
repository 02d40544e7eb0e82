"""The event vocabulary (sunshine/applications/events.py): only known types with their payloads
are stored, whatever the path."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from sunshine.applications import events as ev
from sunshine.applications import services
from sunshine.applications.events import PAYLOADS, BadPayload, EventType
from sunshine.applications.models import Event
from sunshine.applications.validation import validate_intake
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


@pytest.fixture
def app(personas):
    with at("2026-11-02"):
        data = validate_intake(intake_body(channel="counter"), date(2026, 11, 2))
        return services.intake(data, personas["clerk"]).application


def test_every_type_has_a_payload_and_the_api_v1_names_are_kept():
    assert set(PAYLOADS) == set(EventType)
    # api-v1 names these at least: add, never rename
    assert {
        "intake",
        "stage_started",
        "stage_completed",
        "stage_skipped",
        "paused",
        "resumed",
        "cancelled",
        "reassigned",
        "calendar_reprojected",
        "warning",
        "overdue",
        "escalation",
        "notification_sent",
    } <= {t.value for t in EventType}


@pytest.mark.parametrize(
    ("type_", "data", "message"),
    [
        ("stage_finished", {}, "unknown event type 'stage_finished'"),
        ("paused", {"reason_code": "customer_request"}, "paused: missing keys ['reason']"),
        ("paused", {"reason_code": "x", "reason": "y", "note": "z"}, "paused: unknown keys ['note']"),
        (
            "resumed",
            {"paused_working_days": "2", "deadline": None},
            "resumed: paused_working_days is str, not one of ['int']",
        ),
        (
            "resumed",
            {"paused_working_days": True, "deadline": None},
            "resumed: paused_working_days is a bool, not an int",
        ),
        ("pii_viewed", {"field": None}, "pii_viewed: field is NoneType, not one of ['str']"),
    ],
)
def test_a_bad_event_is_refused_and_nothing_is_written(app, personas, type_, data, message):
    before = (Event.objects.count(), Event.objects.filter(application=app).last().hash)
    e = Event(application=app, type=type_, at=app.accepted_at, actor=personas["alice"], data=data)
    with pytest.raises(BadPayload) as raised, transaction.atomic():
        ev.record([e])
    assert str(raised.value) == message
    app.refresh_from_db()
    assert (Event.objects.count(), Event.objects.filter(application=app).last().hash) == before
    assert app.audit_head == before[1]


def test_the_database_refuses_an_unknown_type_whatever_writes_it(app):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO applications_event (application_id, type, at, data, prev_hash, hash)"
            " VALUES (%s, 'stage_finished', %s, '{}', '', '')",
            [app.pk, app.accepted_at],
        )


def test_the_engine_writes_typed_events_that_compare_to_the_enum(app, personas):
    with at("2026-11-03"):
        services.complete_stage(app.number, "survey", personas["engineer"])
    rows = list(Event.objects.filter(application=app).order_by("id").values_list("type", "stage", "data"))
    assert rows[-2:] == [
        ("stage_completed", "survey", {"outcome": None, "defects": [], "note": "", "deadline": "2026-11-04"}),
        ("stage_started", "connection", {"deadline": "2026-11-05"}),
    ]
    assert [EventType(t) for t, _s, _d in rows][-2:] == [EventType.STAGE_COMPLETED, EventType.STAGE_STARTED]
    for type_, _stage, data in rows:
        assert ev.validate(type_, data) == type_


def test_an_events_actor_is_protected_by_django_without_a_database_constraint(app, personas):
    """The event table has no foreign-key constraints in the database (migration 0028: a check at
    COMMIT per event); Django's PROTECT still refuses to delete a user who acted."""
    from django.db.models import ProtectedError

    actor = Event.objects.filter(application=app).exclude(actor=None).first().actor
    with pytest.raises(ProtectedError) as refused, transaction.atomic():
        actor.delete()
    assert any(isinstance(o, Event) for o in refused.value.protected_objects)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_constraint WHERE conrelid = 'applications_event'::regclass AND contype = 'f'"
            )
            assert cursor.fetchone()[0] == 0
