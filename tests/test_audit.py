"""The tamper-evident event log: per-application hash chains, daily digests, verify_audit, and
(PostgreSQL) a table that refuses UPDATE and DELETE."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from sunshine.applications import services
from sunshine.applications.audit import publish_digest, verify
from sunshine.applications.models import Application, Event
from sunshine.applications.validation import validate_intake
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


def tamper(sql: str, params: list) -> None:
    """What someone with database access might do (PostgreSQL needs the maintenance switch)."""
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL sunshine.event_maintenance = 'on'")
        if sql.startswith("DELETE FROM applications_event WHERE id = %s"):
            # The event feed (webhooks) points at every published event: whoever deletes an
            # event must delete its feed row too, or the foreign key refuses.
            cur.execute("DELETE FROM webhooks_feeditem WHERE event_id = %s", params)
        cur.execute(sql, params)


@pytest.fixture
def walked(personas) -> Application:
    """A residential case accepted at the counter (4 events on 11-02), surveyed (2 on 11-03),
    paused (11-04) and resumed (11-05): 8 events."""
    with at("2026-11-02"):
        app = services.intake(validate_intake(intake_body(), date(2026, 11, 2)), personas["clerk"]).application
    with at("2026-11-03"):
        services.complete_stage(app.number, "survey", personas["alice"])
    with at("2026-11-04"):
        services.pause(app.number, personas["alice"], reason_code="customer_request", reason="客户要求延后")
    with at("2026-11-05"):
        services.resume(app.number, personas["alice"])
    return app


def chain_of(app: Application) -> list[tuple[str, str, str]]:
    return list(Event.objects.filter(application=app).order_by("id").values_list("type", "prev_hash", "hash"))


def test_every_event_is_chained_to_the_one_before(walked):
    chain = chain_of(walked)
    assert [t for t, _p, _h in chain] == [
        "intake",
        "stage_started",
        "stage_completed",
        "stage_started",
        "stage_completed",
        "stage_started",
        "paused",
        "resumed",
    ]
    assert chain[0][1] == ""
    assert all(chain[i][1] == chain[i - 1][2] for i in range(1, len(chain)))
    assert len({h for _t, _p, h in chain}) == len(chain)
    walked.refresh_from_db()
    assert walked.audit_head == chain[-1][2]
    assert verify() == []


def test_an_altered_event_is_named(walked):
    paused = Event.objects.get(application=walked, type="paused")
    tamper(
        "UPDATE applications_event SET data = %s WHERE id = %s",
        ['{"reason_code": "force_majeure", "reason": "不可抗力"}', paused.pk],
    )
    (problem,) = verify()
    assert problem.kind == "altered" and problem.event_id == paused.pk
    assert problem.message == f"event {paused.pk} (application {walked.pk}, paused) was altered"


def test_a_back_dated_time_stamp_is_named(walked):
    resumed = Event.objects.get(application=walked, type="resumed")
    tamper("UPDATE applications_event SET at = %s WHERE id = %s", ["2026-11-04 03:00:00+00:00", resumed.pk])
    assert [(p.kind, p.event_id) for p in verify()] == [("altered", resumed.pk)]


def test_a_deleted_event_breaks_the_link_of_the_next(walked):
    paused = Event.objects.get(application=walked, type="paused")
    resumed = Event.objects.get(application=walked, type="resumed")
    tamper("DELETE FROM applications_event WHERE id = %s", [paused.pk])
    (problem,) = verify()
    assert (problem.kind, problem.event_id) == ("broken_link", resumed.pk)


def test_an_inserted_pause_is_named(walked, personas):
    with at("2026-11-04", "09:00"):
        forged = Event.objects.create(
            application=walked,
            type="paused",
            at=Event.objects.get(application=walked, type="paused").at,
            actor=personas["alice"],
            stage="connection",
            round=1,
            data={"reason_code": "customer_request"},
        )
    (problem,) = verify()
    assert (problem.kind, problem.event_id) == ("broken_link", forged.pk)


def test_deleting_the_latest_event_shows_at_the_head(walked):
    resumed = Event.objects.get(application=walked, type="resumed")
    tamper("DELETE FROM applications_event WHERE id = %s", [resumed.pk])
    (problem,) = verify()
    assert (problem.kind, problem.application_id) == ("head", walked.pk)


def test_a_consistent_rewrite_is_still_caught_by_the_published_digest(walked):
    """Someone deletes the latest event *and* moves the head back: every chain checks out, but
    the digest published for that day no longer matches."""
    digest = publish_digest(date(2026, 11, 5))
    assert digest.events == 1 and publish_digest(date(2026, 11, 5)) == digest
    resumed = Event.objects.get(application=walked, type="resumed")
    tamper("DELETE FROM applications_event WHERE id = %s", [resumed.pk])
    Application.objects.filter(pk=walked.pk).update(audit_head=resumed.prev_hash)
    (problem,) = verify()
    assert (problem.kind, problem.day) == ("digest", date(2026, 11, 5))
    assert "(0 now, 1 when published)" in problem.message


def test_digests_chain_day_to_day(walked):
    first = publish_digest(date(2026, 11, 3))
    second = publish_digest(date(2026, 11, 4))
    assert (first.events, second.events, second.previous) == (2, 1, first.digest)
    assert verify() == []


def test_verify_audit_exits_0_when_intact_and_1_naming_the_first_problem(walked, capsys):
    call_command("verify_audit")
    assert capsys.readouterr().out.startswith("Audit log intact: 8 events")
    paused = Event.objects.get(application=walked, type="paused")
    tamper("UPDATE applications_event SET actor_id = NULL WHERE id = %s", [paused.pk])
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_audit")
    assert exit_.value.code == 1
    assert f"BROKEN: event {paused.pk} (application {walked.pk}, paused) was altered" in capsys.readouterr().err


@pytest.mark.postgres_only
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only trigger is PostgreSQL's: run with DATABASE_URL=postgres://… (apt-get install postgresql)",
)
def test_postgresql_refuses_update_and_delete_of_events(walked):
    event = Event.objects.filter(application=walked).first()
    for statement in (
        "UPDATE applications_event SET type = 'x' WHERE id = %s",
        "DELETE FROM applications_event WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(statement, [event.pk])
    assert Event.objects.filter(application=walked).count() == 8


def test_the_digests_are_published_on_the_portal_and_the_api(walked, client):
    first = publish_digest(date(2026, 11, 3))
    second = publish_digest(date(2026, 11, 4))
    body = client.get("/api/v1/public/audit-digests").json()
    assert body == [
        {"day": "2026-11-04", "events": 1, "digest": second.digest, "previous": first.digest},
        {"day": "2026-11-03", "events": 2, "digest": first.digest, "previous": ""},
    ]
    page = client.get("/open-data/audit/").content.decode()
    assert first.digest in page and second.digest in page and "核对我们的办理记录没有被事后改动" in page
