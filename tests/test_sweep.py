"""Stored rung moments and the deadline sweep: who hears what, when, exactly once.

Calendar facts used (2026/2027): Mon 2026-11-16 … Fri 11-20 and Mon 11-23 … are working days;
the test notice for 2027 (tests/test_calendar_notice.py) makes Mon 2027-01-04 a day off.
"""

from __future__ import annotations

import io
import threading
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sunshine.accounts.models import Role
from sunshine.applications import services as engine
from sunshine.applications.models import Application, Event, StageInstance
from sunshine.applications.validation import resident_id_check_character, validate_intake
from sunshine.calendar import services as calendar_services
from sunshine.supervision import moments as moments_mod
from sunshine.supervision.models import RungMoment
from sunshine.supervision.services import sweep
from tests.conftest import NEEDS_POSTGRES, intake_body, make_user
from tests.test_calendar_notice import NOTICE_2027, SOURCE

SH = ZoneInfo("Asia/Shanghai")


def t(day: str, hm: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day} {hm}").replace(tzinfo=SH)


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(t(day, hm), tick=False)


@pytest.fixture(name="sent")
def sent_fixture(monkeypatch):
    """Every staff notification the sweep and the digest ask for, as (username, template, number, key)."""
    from sunshine.notifications import services as notifications

    calls: list[tuple[str, str, str | None, str]] = []
    lock = threading.Lock()
    # Every staff notice is built by staff_messages (notify_staff calls it; the sweep calls it to
    # write a whole batch's messages at once).
    real = notifications.staff_messages

    def spy(users, template, context, *, application=None, key):
        users = list(users)
        if not key.startswith(("rung:", "digest:")):  # e.g. "assigned" at intake: not ours
            return real(users, template, context, application=application, key=key)
        with lock:
            calls.extend((u.username, template, application.number if application else None, key) for u in users)
        return real(users, template, context, application=application, key=key)

    monkeypatch.setattr(notifications, "staff_messages", spy)
    return calls


@pytest.fixture(name="ladder")
def ladder_fixture(personas, area):
    """The area's team lead (not a customer manager who takes applications)."""
    lead = make_user("lead", Role.CUSTOMER_MANAGER, last_name="田", first_name="组长", accepts_assignments=False)
    area.team_lead = lead
    area.save(update_fields=["team_lead"])
    return {**personas, "lead": lead}


def rid(i: int) -> str:
    """A valid resident ID number, different for each ``i``."""
    first17 = f"11010519491231{i:03d}"
    return first17 + resident_id_check_character(first17)


def intake(when: str, hm: str = "10:00", **overrides: Any) -> Application:
    with at(when, hm):
        data = validate_intake(intake_body(**overrides), date.fromisoformat(when))
        return engine.intake(data, None).application


def stored(app: Application, code: str = "survey") -> dict[str, tuple[str, bool]]:
    """{rung: (local due moment, fired)} of one stage."""
    return {
        m.rung_code: (m.due_at.astimezone(SH).strftime("%Y-%m-%d %H:%M"), m.fired_at is not None)
        for m in RungMoment.objects.filter(stage__application=app, stage__code=code).order_by("due_at")
    }


def rung_events(app: Application) -> list[tuple[str, str, list[str]]]:
    return [
        (e.type, e.data["rung"], e.data["recipients"])
        for e in Event.objects.filter(application=app, type__in=["warning", "overdue", "escalation"]).order_by("id")
    ]


def fire(day: str, hm: str) -> list[tuple[str, str, tuple[str, ...]]]:
    with at(day, hm):
        return [(f.number, f.rung, f.recipients) for f in sweep()]


@pytest.mark.django_db
def test_a_stage_starting_stores_its_rung_moments(ladder):
    app = intake("2026-11-16")  # counter: acceptance done, survey (2 working days) starts Mon 11-16
    survey = StageInstance.objects.get(application=app, code="survey")
    assert survey.deadline == date(2026, 11, 18)
    assert stored(app) == {
        "due_soon": ("2026-11-17 08:30", False),
        "due_today": ("2026-11-18 08:30", False),
        "overdue": ("2026-11-19 08:30", False),
        "overdue_3": ("2026-11-23 08:30", False),
    }
    # acceptance completed at once: it has none left
    assert stored(app, "acceptance") == {}


@pytest.mark.django_db
def test_the_ladder_fires_each_rung_once_to_the_right_people(ladder, sent):
    app = intake("2026-11-16")
    n = app.number
    assert fire("2026-11-17", "08:29") == []
    assert fire("2026-11-17", "08:30") == [(n, "due_soon", ("alice",))]
    assert fire("2026-11-17", "08:31") == []  # the second sweep at that moment fires nothing
    assert fire("2026-11-18", "08:30") == [(n, "due_today", ("alice",))]
    assert fire("2026-11-18", "17:00") == []
    assert fire("2026-11-19", "08:30") == [(n, "overdue", ("alice", "lead"))]
    assert fire("2026-11-19", "08:35") == []
    assert fire("2026-11-20", "08:30") == []  # overdue 2 working days: no rung
    assert fire("2026-11-21", "08:30") == []  # Saturday
    assert fire("2026-11-23", "08:30") == [(n, "overdue_3", ("lead", "leader"))]
    assert fire("2026-11-23", "08:31") == []

    assert rung_events(app) == [
        ("warning", "due_soon", ["alice"]),
        ("warning", "due_today", ["alice"]),
        ("overdue", "overdue", ["alice", "lead"]),
        ("escalation", "overdue_3", ["lead", "leader"]),
    ]
    keys = {m.rung_code: m.pk for m in RungMoment.objects.filter(stage__application=app)}
    ids = {u: ladder[u].pk for u in ("alice", "lead", "leader")}
    assert sent == [
        ("alice", "due_soon", n, f"rung:{keys['due_soon']}:{ids['alice']}"),
        ("alice", "due_today", n, f"rung:{keys['due_today']}:{ids['alice']}"),
        ("alice", "overdue", n, f"rung:{keys['overdue']}:{ids['alice']}"),
        ("lead", "overdue", n, f"rung:{keys['overdue']}:{ids['lead']}"),
        ("lead", "escalated", n, f"rung:{keys['overdue_3']}:{ids['lead']}"),
        ("leader", "escalated", n, f"rung:{keys['overdue_3']}:{ids['leader']}"),
    ]
    # what landed in the outbox: the staff inbox (and SMS to work phones), with the numbers filled in
    from sunshine.notifications.models import Message

    inbox = [
        (m.user.username, m.template, m.body)
        for m in Message.objects.filter(key__startswith="rung:", channel="inbox").select_related("user").order_by("id")
    ]
    assert inbox == [
        ("alice", "due_soon", f"预警：申请{n}“现场勘查”环节剩余1个工作日，办结期限2026-11-18。"),
        ("alice", "due_today", f"提醒：申请{n}“现场勘查”环节今天（2026-11-18）到期，请及时办结。"),
        ("alice", "overdue", f"超期：申请{n}“现场勘查”环节已超期1个工作日（期限2026-11-18），请立即办理。"),
        ("lead", "overdue", f"超期：申请{n}“现场勘查”环节已超期1个工作日（期限2026-11-18），请立即办理。"),
        (
            "lead",
            "escalated",
            f"督办：申请{n}“现场勘查”环节已超期3个工作日（期限2026-11-18），客户经理李爱，请督促办理。",
        ),
        (
            "leader",
            "escalated",
            f"督办：申请{n}“现场勘查”环节已超期3个工作日（期限2026-11-18），客户经理李爱，请督促办理。",
        ),
    ]
    # alice has a private mobile: her three messages also go there by SMS, once each, and never
    # to her work phone (0351-1111111), which customers are given
    assert list(
        Message.objects.filter(key__startswith="rung:", channel="sms").order_by("id").values_list("address", "template")
    ) == [("13911110001", "due_soon"), ("13911110001", "due_today"), ("13911110001", "overdue")]
    event = Event.objects.get(application=app, type="escalation")
    assert (event.stage, event.round, event.actor, event.at) == ("survey", 1, None, t("2026-11-23", "08:30"))
    assert event.data["deadline"] == "2026-11-18"
    assert all(fired for _at, fired in stored(app).values())


@pytest.mark.django_db
def test_a_sweep_after_a_missed_morning_fires_everything_due_once(ladder, sent):
    app = intake("2026-11-16")
    fired = fire("2026-11-19", "12:00")  # nobody swept for three days
    assert [r for _n, r, _p in fired] == ["due_soon", "due_today", "overdue"]
    assert fire("2026-11-19", "12:01") == []
    assert len(sent) == 4  # alice ×3, lead ×1
    assert RungMoment.objects.filter(stage__application=app, fired_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_completing_the_stage_closes_its_rungs_and_opens_the_next(ladder, sent):
    app = intake("2026-11-16")
    assert fire("2026-11-17", "08:30") == [(app.number, "due_soon", ("alice",))]
    with at("2026-11-17", "15:00"):
        engine.complete_stage(app.number, "survey", ladder["alice"])
    # the fired row stays as the record; the unfired ones are gone
    assert stored(app) == {"due_soon": ("2026-11-17 08:30", True)}
    # connection (2 working days) started Tue 11-17: deadline Thu 11-19
    assert stored(app, "connection") == {
        "due_soon": ("2026-11-18 08:30", False),
        "due_today": ("2026-11-19 08:30", False),
        "overdue": ("2026-11-20 08:30", False),
        "overdue_3": ("2026-11-24 08:30", False),
    }
    assert fire("2026-11-18", "08:30") == [(app.number, "due_soon", ("alice",))]
    with at("2026-11-18", "16:00"):
        engine.complete_stage(app.number, "connection", ladder["alice"])
    assert RungMoment.objects.filter(fired_at__isnull=True).count() == 0
    assert fire("2026-11-30", "08:30") == []


@pytest.mark.django_db
def test_a_pause_across_the_deadline_moves_the_rungs_by_the_paused_working_days(ladder, sent):
    app = intake("2026-11-16")
    with at("2026-11-16", "15:00"):
        engine.pause(app.number, ladder["alice"], reason_code="customer_request", reason="客户要求延后勘查")
    assert stored(app) == {}  # suspended
    assert fire("2026-11-18", "09:00") == []  # the old deadline passes in silence
    assert fire("2026-11-19", "09:00") == []
    with at("2026-11-20", "11:00"):
        engine.resume(app.number, ladder["alice"])
    survey = StageInstance.objects.get(application=app, code="survey")
    # paused over (11-16, 11-20]: Tue–Fri, 4 working days; deadline Wed 11-18 → Tue 11-24
    assert (survey.paused_working_days, survey.deadline) == (4, date(2026, 11, 24))
    assert stored(app) == {
        "due_soon": ("2026-11-23 08:30", False),  # 11-17 + 4 working days
        "due_today": ("2026-11-24 08:30", False),  # 11-18 + 4
        "overdue": ("2026-11-25 08:30", False),  # 11-19 + 4
        "overdue_3": ("2026-11-27 08:30", False),  # 11-23 + 4
    }
    assert fire("2026-11-23", "08:30") == [(app.number, "due_soon", ("alice",))]


@pytest.mark.django_db
def test_a_rung_fired_before_a_pause_does_not_fire_again_after_it(ladder, sent):
    app = intake("2026-11-16")
    assert fire("2026-11-17", "08:30") == [(app.number, "due_soon", ("alice",))]
    with at("2026-11-17", "10:00"):
        engine.pause(app.number, ladder["alice"], reason_code="missing_documents", reason="缺少产权证明")
    with at("2026-11-19", "10:00"):
        engine.resume(app.number, ladder["alice"])
    # paused over (11-17, 11-19]: 2 working days; deadline 11-18 → 11-20
    assert stored(app) == {
        "due_soon": ("2026-11-17 08:30", True),
        "due_today": ("2026-11-20 08:30", False),
        "overdue": ("2026-11-23 08:30", False),
        "overdue_3": ("2026-11-25 08:30", False),
    }
    assert fire("2026-11-20", "08:30") == [(app.number, "due_today", ("alice",))]
    assert [r for _t, r, _p in rung_events(app)] == ["due_soon", "due_today"]


@pytest.mark.django_db
def test_cancelling_drops_the_rungs_though_the_stage_stays_in_progress(ladder, sent):
    app = intake("2026-11-16")
    with at("2026-11-16", "16:00"):
        engine.cancel(app.number, ladder["alice"], reason="客户撤回申请")
    assert StageInstance.objects.get(application=app, code="survey").status == "in_progress"
    assert stored(app) == {}
    assert fire("2026-11-30", "09:00") == []
    assert sent == []


@pytest.mark.django_db
def test_a_paused_then_cancelled_application_never_fires(ladder, sent):
    app = intake("2026-11-16")
    with at("2026-11-16", "15:00"):
        engine.pause(app.number, ladder["alice"], reason_code="customer_request", reason="等待")
    with at("2026-11-17", "15:00"):
        engine.cancel(app.number, ladder["alice"], reason="客户撤回申请")
    assert RungMoment.objects.count() == 0
    assert fire("2026-11-30", "09:00") == []


@pytest.mark.django_db
def test_stale_due_rows_of_a_cancelled_application_are_dropped_not_fired(ladder, sent):
    app = intake("2026-11-16")
    # A bulk change that bypassed the engine (no reaction) leaves rows behind.
    Application.objects.filter(pk=app.pk).update(status="cancelled")
    assert fire("2026-11-20", "09:00") == []
    assert RungMoment.objects.filter(fired_at__isnull=True).count() == 1  # overdue_3, not yet due
    assert sent == []


@pytest.mark.django_db
def test_a_calendar_notice_reprojects_the_rungs(ladder, sent):
    app = intake("2026-12-30")
    survey = StageInstance.objects.get(application=app, code="survey")
    assert survey.deadline == date(2027, 1, 4)  # provisional: Jan 4 is a working day by law alone
    assert stored(app) == {
        "due_soon": ("2026-12-31 08:30", False),
        "due_today": ("2027-01-04 08:30", False),
        "overdue": ("2027-01-05 08:30", False),
        "overdue_3": ("2027-01-07 08:30", False),
    }
    with at("2026-12-31", "09:00"):
        assert [f.rung for f in sweep()] == ["due_soon"]
        calendar_services.apply_notice(
            2027, calendar_services.parse_notice_csv(NOTICE_2027), source=SOURCE, reason="2027年通知", actor=None
        )
    # Jan 4 is now a day off: every unfired rung moves one working day; the fired one stays
    assert stored(app) == {
        "due_soon": ("2026-12-31 08:30", True),
        "due_today": ("2027-01-05 08:30", False),
        "overdue": ("2027-01-06 08:30", False),
        "overdue_3": ("2027-01-08 08:30", False),
    }
    assert fire("2027-01-04", "09:00") == []
    assert fire("2027-01-05", "08:30") == [(app.number, "due_today", ("alice",))]


@pytest.mark.django_db
def test_a_one_day_stage_has_no_warning_on_its_first_day(ladder):
    app = intake("2026-11-16", channel="online")  # acceptance (1 working day) starts now
    assert stored(app, "acceptance") == {
        "due_today": ("2026-11-17 08:30", False),
        "overdue": ("2026-11-18 08:30", False),
        "overdue_3": ("2026-11-20 08:30", False),
    }


@pytest.mark.django_db
def test_high_voltage_has_its_own_rung_list(ladder):
    app = intake("2026-11-16", category="hv_single", requested_capacity=800, capacity_unit="kVA")
    stage = StageInstance.objects.get(application=app, status="in_progress")
    assert stage.deadline is not None
    assert list(stored(app, stage.code)) == ["due_soon_3", "due_soon", "due_today", "overdue", "overdue_3"]


@pytest.mark.django_db
def test_the_command_runs_one_sweep_and_prints_what_fired(ladder, sent):
    app = intake("2026-11-16")
    out = io.StringIO()
    with at("2026-11-19", "08:30"):
        call_command("sweep_deadlines", stdout=out)
    assert out.getvalue().splitlines() == [
        f"{app.number} survey#1 due_soon (warning, due 2026-11-17 08:30) -> alice",
        f"{app.number} survey#1 due_today (warning, due 2026-11-18 08:30) -> alice",
        f"{app.number} survey#1 overdue (overdue, due 2026-11-19 08:30) -> alice,lead",
        "3 rung(s) fired",
    ]
    out = io.StringIO()
    with at("2026-11-19", "08:31"):
        call_command("sweep_deadlines", stdout=out)
    assert out.getvalue().splitlines() == ["0 rung(s) fired"]


@pytest.mark.django_db
def test_backfill_stores_moments_for_data_loaded_without_the_engine(ladder):
    app = intake("2026-11-16")
    RungMoment.objects.all().delete()
    with at("2026-11-16", "12:00"):
        assert moments_mod.backfill() == 4
        assert moments_mod.backfill() == 0  # nothing to change the second time
    assert list(stored(app)) == ["due_soon", "due_today", "overdue", "overdue_3"]


# --- cost -----------------------------------------------------------------------------------------


def _sweep_queries(day: str, hm: str) -> tuple[int, int]:
    with at(day, hm), CaptureQueriesContext(connection) as ctx:
        fired = sweep()
    return len(fired), len(ctx.captured_queries)


@pytest.mark.django_db
def test_the_sweep_costs_the_same_whatever_the_number_of_quiet_applications(ladder, sent):
    intake("2026-11-16", "09:00")
    intake("2026-11-16", "09:00", customer__id_number=rid(1))
    # Two rungs due at 11-17 08:30: count the queries of a sweep that fires them …
    small = _sweep_queries("2026-11-17", "08:30")
    assert small[0] == 2
    # … then again with 30 more open applications whose rungs are not due
    for i in range(30):
        intake("2026-11-18", "07:00", customer__id_number=rid(100 + i))  # first rung: 11-19
    for i, app in enumerate(Application.objects.filter(accepted_at__date=date(2026, 11, 16)).order_by("pk")):
        assert stored(app)["due_today"] == ("2026-11-18 08:30", False), i
    large = _sweep_queries("2026-11-18", "08:30")
    assert large[0] == 2
    assert large[1] == small[1]
    # and a sweep with nothing due is three queries (savepoint, select, release) whatever the size
    assert _sweep_queries("2026-11-18", "09:00")[1] == _sweep_queries("2026-11-18", "09:01")[1]


@pytest.mark.django_db
def test_a_sweep_batch_costs_the_same_for_2_or_6_due_rungs(ladder, sent):
    """Claims, events and messages of a batch are written set-based: no query per rung fired."""
    for i in range(2):
        intake("2026-11-16", "09:00", customer__id_number=rid(300 + i))
    small = _sweep_queries("2026-11-17", "08:30")
    for i in range(6):
        intake("2026-11-17", "09:00", customer__id_number=rid(400 + i))
    large = _sweep_queries("2026-11-18", "08:30")  # the 2 due_today rungs and the 6 new due_soon ones
    assert (small[0], large[0]) == (2, 8)
    assert large[1] == small[1]
    assert len(sent) == 2 + 2 + 6  # one notice to the manager per rung (due_soon, due_today)


# --- two sweeps at once (PostgreSQL) ----------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason=f"row locks with SKIP LOCKED, PostgreSQL only: {NEEDS_POSTGRES}",
)
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_send_one_notification_per_rung(ladder, sent):
    apps = [intake("2026-11-16", "09:00", customer__id_number=rid(200 + i)) for i in range(12)]
    now = t("2026-11-19", "08:30")  # due_soon, due_today, overdue: 3 rungs × 12 stages, 4 messages each
    barrier = threading.Barrier(2)
    results: list[list] = [[], []]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = sweep(now=now, batch_size=5)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    fired = [(f.number, f.rung) for r in results for f in r]
    assert len(fired) == 36 and len(set(fired)) == 36
    assert len(sent) == 48
    assert len({key for _u, _t, _n, key in sent}) == 48
    for app in apps:
        assert [r for _t, r, _p in rung_events(app)] == ["due_soon", "due_today", "overdue"]
