"""seed_demo and generate_load: accounts, coverage of states, and clocks exactly as the engine computes."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from stdnum.cn import ric, uscc

from sunshine.accounts.models import Role, ServiceArea, User
from sunshine.applications import selectors, services
from sunshine.applications.models import (
    Application,
    Customer,
    Event,
    IdType,
    Pause,
    StageInstance,
    StageStatus,
    Status,
)
from sunshine.applications.validation import validate_intake
from sunshine.calendar import workdays
from sunshine.processes.models import Category, Owner
from tests.conftest import intake_body

NOW = "2026-11-27 10:00 +0800"
TODAY = date(2026, 11, 27)
DEMO_ROLES = {
    "admin": Role.ADMIN,
    "clerk": Role.CLERK,
    "manager1": Role.CUSTOMER_MANAGER,
    "manager2": Role.CUSTOMER_MANAGER,
    "manager3": Role.CUSTOMER_MANAGER,
    "engineer": Role.ENGINEER,
    "leader": Role.LEADER,
    "auditor": Role.AUDITOR,
}
DISTRICTS = ("小店区", "迎泽区", "杏花岭区", "尖草坪区", "万柏林区", "晋源区")


def seed(n: int) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", applications=n, stdout=out)
    return out.getvalue()


def check_consistency(app: Application) -> None:
    """Stored state agrees with the engine's rules (services.py) as of TODAY."""
    stages = list(StageInstance.objects.filter(application=app).select_related("template").order_by("seq"))
    pauses = list(Pause.objects.filter(application=app))
    assert [s.seq for s in stages] == list(range(1, len(stages) + 1))
    open_stages = [s for s in stages if s.status in (StageStatus.IN_PROGRESS, StageStatus.PAUSED)]
    open_pauses = [p for p in pauses if p.ended_at is None]
    if app.status in (Status.IN_PROGRESS, Status.PAUSED):
        assert len(open_stages) == 1 and open_stages[0].code == app.current_stage
        assert app.completed_at is None and app.cancelled_at is None
        assert (app.status == Status.PAUSED) == (open_stages[0].status == StageStatus.PAUSED)
        assert len(open_pauses) == (1 if app.status == Status.PAUSED else 0)
        if open_pauses:
            assert open_pauses[0].stage_id == open_stages[0].pk and open_stages[0].owner == Owner.UTILITY
    else:
        assert app.current_stage is None and not open_pauses
        if app.status == Status.COMPLETED:
            assert app.completed_at is not None and not open_stages
            assert all(s.status in (StageStatus.COMPLETED, StageStatus.SKIPPED) for s in stages)
        else:
            assert app.cancelled_at is not None
    for s in stages:
        if s.status == StageStatus.PENDING:
            assert s.started_on is None and s.deadline is None
            continue
        if s.status == StageStatus.SKIPPED and s.started_on is None:
            continue
        assert s.started_on is not None and s.started_on <= TODAY
        finished = sum(p.working_days for p in pauses if p.stage_id == s.pk and p.ended_on is not None)
        assert s.paused_working_days == finished
        for p in pauses:
            if p.stage_id == s.pk and p.ended_on is not None:
                assert p.working_days == workdays.working_days_in(p.started_on, p.ended_on)
        if s.owner == Owner.UTILITY:
            assert s.time_limit_days == s.template.time_limit_days
            assert s.deadline == workdays.add_working_days(s.started_on, s.time_limit_days + s.paused_working_days)
        else:
            assert s.time_limit_days is None and s.deadline is None
        if s.completed_on is not None:
            assert s.started_on <= s.completed_on <= TODAY
    # Events: one intake, timeline ordered, the last one matching the final state.
    events = list(Event.objects.filter(application=app).order_by("id"))
    assert events[0].type == "intake"
    assert all(a.at <= b.at for a, b in itertools.pairwise(events))
    assert max(e.at for e in events).date() <= TODAY
    # (the demo's contractor choices are recorded on the timeline after the rest, with the steering
    # case one answer opened: not state changes)
    events = [e for e in events if e.type not in ("contractor_chosen", "case_opened")]
    started = [e for e in events if e.type == "stage_started"]
    assert len(started) == len([s for s in stages if s.started_on is not None])
    if app.status == Status.COMPLETED:
        assert events[-1].type == "completed"
    if app.status == Status.CANCELLED:
        assert events[-1].type == "cancelled"
    if app.status == Status.PAUSED:
        assert events[-1].type == "paused"


@pytest.mark.django_db
def test_seed_demo_accounts_applications_and_idempotence():
    out = seed(40)
    users = {u.username: u for u in User.objects.filter(username__in=DEMO_ROLES)}
    assert {name: u.role for name, u in users.items()} == DEMO_ROLES
    assert all(u.check_password("sunshine-demo") for u in users.values())
    for name in DEMO_ROLES:
        assert re.search(rf"^\s*{name}\s+\S+\s+sunshine-demo$", out, re.M), out
    assert "客户经理" in out and "受理员" in out
    assert Application.objects.count() == 40
    assert {a.name for a in ServiceArea.objects.all()} >= set(DISTRICTS)

    seed(40)
    assert Application.objects.count() == 40
    assert User.objects.filter(username__in=DEMO_ROLES).count() == 8
    seed(45)  # tops up
    assert Application.objects.count() == 45


@pytest.mark.django_db
def test_seed_demo_zero_creates_accounts_and_areas_only():
    seed(0)
    assert User.objects.filter(username__in=DEMO_ROLES).count() == 8
    assert ServiceArea.objects.count() == 8  # 太原's six districts, 大同's two
    assert Application.objects.count() == 0


@pytest.mark.django_db
def test_the_demo_shows_elimination_steering_choices_and_contacts():
    from sunshine.directory.models import ContractorChoice
    from sunshine.evaluation.models import EvaluationResult
    from sunshine.feedback import concentration

    out = seed(60)
    # staff have a private mobile beside the published work phone, and an e-mail address
    m1 = User.objects.get(username="manager1")
    assert (m1.work_phone, m1.mobile_phone, m1.email) == ("0351-5550011", "13903510002", "manager1@example.cn")
    # three managers ranked in one area (末位淘汰 needs three)
    assert sorted(User.objects.filter(areas__code="jinyuan").values_list("username", flat=True)) == [
        "manager1",
        "manager2",
        "manager3",
    ]
    # September and October frozen; 孙强 vetoed (upheld steering) and at the bottom twice: warned in October
    assert "Demo evaluations: 2026-09 and 2026-10 frozen." in out, out
    results = {
        (r.snapshot.period, r.manager.username): r
        for r in EvaluationResult.objects.select_related("snapshot", "manager", "area")
    }
    for period in ("2026-09", "2026-10"):
        assert [results[(period, m)].ranked_in_area for m in ("manager1", "manager2", "manager3")] == [3, 3, 3]
        assert (results[(period, "manager3")].rank, results[(period, "manager3")].veto) == (3, True)
    assert [k for k, r in results.items() if r.warning] == [("2026-10", "manager3")]
    warned = results[("2026-10", "manager3")].breakdown
    assert warned["warning"] == {"consecutive_periods": 2, "bottom_n": 1} and warned["bottom"] is True
    assert all("points" in warned[c] for c in ("on_time", "speed", "satisfaction", "volume", "complaints"))
    # contractor choices of October: every kind, every manager, each a contractor_chosen event
    choices = ContractorChoice.objects.all()
    assert choices.count() == Event.objects.filter(type="contractor_chosen").count() > 0
    shares = concentration.shares(date(2026, 10, 1), date(2026, 10, 31))
    assert {s.kind for s in shares} == {"design", "construction", "supply"}
    assert {User.objects.get(pk=s.group_id).username for s in shares} == {
        "manager1",
        "manager2",
        "manager3",
        "datong_manager",
    }


@pytest.mark.django_db
def test_seed_demo_covers_every_case_with_valid_data():
    seed(40)
    apps = list(Application.objects.select_related("customer", "customer_manager", "area"))
    assert {a.category for a in apps} == set(Category.values)
    assert {a.customer_manager.username for a in apps} == {"manager1", "manager2", "manager3", "datong_manager"}
    for a in apps:
        assert services.is_well_formed_number(a.number)
        assert re.fullmatch(r"1[3-9]\d{9}", a.contact_phone)
        city = "山西省大同市" if a.customer_manager.username == "datong_manager" else "山西省太原市"
        assert a.address.startswith(city) and any(d in a.address for d in (*DISTRICTS, "平城区", "云冈区"))
        assert a.area is not None and a.area.name in a.address
        checker = ric if a.customer.id_type == IdType.RESIDENT_ID else uscc
        assert checker.is_valid(a.customer.id_number), a.customer.id_number
        assert re.search(r"[\u4e00-\u9fff]", a.customer_name)
    statuses = {a.status for a in apps}
    assert statuses == {Status.IN_PROGRESS, Status.PAUSED, Status.COMPLETED, Status.CANCELLED}
    assert Pause.objects.filter(ended_at__isnull=True).exists()
    assert (
        Pause.objects.filter(ended_at__isnull=True).exclude(reason="").count()
        == Application.objects.filter(status=Status.PAUSED).count()
    )
    failed = StageInstance.objects.filter(code="design_review", outcome="failed", round=1)
    assert failed.exists()
    hv_failed = failed.first().application
    assert hv_failed.category in (Category.HV_SINGLE, Category.HV_DUAL)
    assert StageInstance.objects.filter(application=hv_failed, code="customer_design", round=2).exists()
    assert StageInstance.objects.filter(application=hv_failed, code="design_review", round=2).exists()
    with time_machine.travel(NOW, tick=False):
        overdue = set(selectors.overdue_application_ids(TODAY))
        assert overdue
        details = {a.number: selectors.application_detail(a) for a in apps}
    completed = [d for d in details.values() if d["status"] == Status.COMPLETED]
    assert {d["on_time"] for d in completed} == {True, False}  # on time and late


@pytest.mark.django_db
def test_seed_demo_clocks_match_the_engine():
    seed(40)
    with time_machine.travel(NOW, tick=False):
        for app in Application.objects.all():
            check_consistency(app)
        overdue_ids = set(selectors.overdue_application_ids(TODAY))
        checked = 0
        for app in Application.objects.filter(pk__in=overdue_ids).order_by("pk"):
            detail = selectors.application_detail(app)
            stage = next(s for s in detail["stages"] if s["status"] in ("in_progress", "paused"))
            row = StageInstance.objects.get(application=app, code=stage["code"], round=stage["round"])
            # Recount from the rules of api-v1.md, independently of the selectors.
            running = Pause.objects.filter(stage=row, ended_on__isnull=True).first()
            paused = row.paused_working_days + (workdays.working_days_in(running.started_on, TODAY) if running else 0)
            deadline = workdays.add_working_days(row.started_on, row.time_limit_days + paused)
            assert stage["deadline"] == deadline
            assert stage["paused_working_days"] == paused
            assert stage["working_days_used"] == workdays.working_days_in(row.started_on, TODAY) - paused
            assert stage["overdue"] is True and deadline < TODAY
            assert stage["on_time"] is None
            checked += 1
        assert checked >= 1
        # The fixed "overdue" demo case: survey accepted at the counter 12 working days ago.
        survey = (
            StageInstance.objects.filter(
                code="survey",
                status=StageStatus.IN_PROGRESS,
                deadline__lt=TODAY,
                paused_working_days=0,
                application__status=Status.IN_PROGRESS,
            )
            .order_by("started_on")
            .first()
        )
        assert survey is not None
        detail = selectors.application_detail(survey.application)
        row = next(s for s in detail["stages"] if s["code"] == "survey")
        assert row["deadline"] == workdays.add_working_days(survey.started_on, 2)
        assert row["working_days_used"] == workdays.working_days_in(survey.started_on, TODAY)
        assert row["overdue"] is True


@pytest.mark.django_db
def test_generate_load_small():
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("generate_load", applications=500, seed=1, batch_size=200, managers=5, stdout=out)
    assert "500 / 500" in out.getvalue()
    assert Application.objects.count() == 500
    assert User.objects.filter(username__startswith="load_mgr", role=Role.CUSTOMER_MANAGER).count() == 5
    assert Application.objects.values("customer_manager").distinct().count() == 5
    with time_machine.travel(NOW, tick=False):
        for app in Application.objects.all():
            check_consistency(app)
    assert {a.status for a in Application.objects.all()} == set(Status.values)
    # deterministic with --seed
    first = sorted(Application.objects.values_list("category", "status", "current_stage"))
    with transaction.atomic():
        if connection.vendor == "postgresql":  # events are append-only (audit.py) but for maintenance
            with connection.cursor() as cur:
                cur.execute("SET LOCAL sunshine.event_maintenance = 'on'")
        Application.objects.all().delete()
    with time_machine.travel(NOW, tick=False):
        call_command("generate_load", applications=500, seed=1, batch_size=200, managers=5, stdout=StringIO())
    assert sorted(Application.objects.values_list("category", "status", "current_stage")) == first


@pytest.mark.django_db
def test_generate_load_leaves_the_id_sequences_usable():
    """Rows are written with reserved ids (nextval on PostgreSQL, max + 1 on SQLite): the engine's
    own inserts afterwards must get fresh ids in every table the load wrote."""
    with time_machine.travel(NOW, tick=False):
        call_command("generate_load", applications=300, seed=3, batch_size=120, managers=3, stdout=StringIO())
    highest: dict[type, int] = {}
    for model in (Customer, Application, StageInstance, Pause, Event):
        top = model.objects.order_by("-pk").values_list("pk", flat=True).first()
        assert top is not None
        highest[model] = top
    clerk = User.objects.create_user("seq_clerk", password="pw", role=Role.CLERK)
    with time_machine.travel(NOW, tick=False):
        data = validate_intake(intake_body(customer__id_number="11010519491231002X"), TODAY)
        app = services.intake(data, clerk).application
        services.pause(app.number, clerk, reason_code="customer_request", reason="客户要求暂缓")
    assert app.pk > highest[Application]
    assert app.customer.pk > highest[Customer]
    assert StageInstance.objects.filter(application=app).earliest("pk").pk > highest[StageInstance]
    assert Event.objects.filter(application=app).earliest("pk").pk > highest[Event]
    assert Pause.objects.get(application=app).pk > highest[Pause]
    with time_machine.travel(NOW, tick=False):
        check_consistency(Application.objects.get(pk=app.pk))


@pytest.mark.django_db
def test_the_demo_publishes_open_data_so_the_public_pages_are_not_empty():
    out = seed(12)
    assert "Open data: 1 report published, fingerprints of the last 14 days." in out
    from django.test import Client

    from sunshine.applications.models import AuditDigest
    from sunshine.reports.models import Report

    published = Report.objects.exclude(published_at=None).get()
    assert (published.period_start, published.period_end) == (date(2026, 11, 1), date(2026, 11, 15))
    assert AuditDigest.objects.count() == 14
    index = Client().get("/open-data/").content.decode()
    assert f'href="/open-data/{published.pk}/"' in index
    audit = Client().get("/open-data/audit/").content.decode()
    assert audit.count("<code>") == 14


def order_problems(app: Application, stages: list[StageInstance], events: list[Event]) -> list[str]:
    """What is out of order in one application's history: its events (in the order they were
    recorded) and its stage rows, against each other and against the engine's sequence."""
    out: list[str] = []
    seq = {(s.code, s.round): s for s in stages}
    ended: set[int] = set()  # seq of the stages completed or skipped so far
    started: dict[int, Event] = {}
    paused = False
    for before, e in itertools.pairwise([None, *events]):
        if before is not None and e.at < before.at:
            out.append(f"{e.type} {e.stage}#{e.round} at {e.at} recorded after {before.type} at {before.at}")
    for e in events:
        if e.type in ("stage_started", "stage_completed", "stage_skipped"):
            s = seq.get((e.stage, e.round))
            if s is None:
                out.append(f"{e.type} of a stage the application does not have: {e.stage}#{e.round}")
                continue
            if e.type == "stage_started":
                waiting = [
                    f"{p.code}#{p.round}"
                    for p in stages
                    if p.seq < s.seq and p.seq not in ended and p.status != StageStatus.SKIPPED
                ]
                if waiting:
                    out.append(f"{s.code}#{s.round} started at {e.at} before {', '.join(waiting)} ended")
                if s.started_at != e.at:
                    out.append(f"{s.code}#{s.round}: the row started at {s.started_at}, its event at {e.at}")
                started[s.seq] = e
            else:
                if e.type == "stage_completed":
                    if s.seq not in started:
                        out.append(f"{s.code}#{s.round} completed at {e.at} before it started")
                    if s.completed_at != e.at:
                        out.append(f"{s.code}#{s.round}: the row completed at {s.completed_at}, its event at {e.at}")
                ended.add(s.seq)
        elif e.type == "paused":
            if paused:
                out.append(f"paused again at {e.at} without a resume")
            paused = True
        elif e.type == "resumed":
            if not paused:
                out.append(f"resumed at {e.at} without a pause")
            paused = False
    for a, b in itertools.pairwise(stages):
        if a.completed_at and b.started_at and b.started_at < a.completed_at:
            out.append(
                f"row {b.code}#{b.round} started {b.started_at} before {a.code}#{a.round} ended {a.completed_at}"[:300]
            )
    return [f"{app.number}: {p}" for p in out]


@pytest.mark.django_db
def test_every_demo_applications_history_is_in_order():
    """The whole demo data set (the default 200 applications, with everything seed_demo adds
    afterwards: the case overdue today, follow-up calls, contractor choices, evaluations,
    reports): no stage starts before the one before it ended (e.g. a second design review before
    the second customer design), every stage row agrees with its events, pauses alternate with
    resumes and time never goes back. The case overdue today is generated so, not moved."""
    out = seed(200)
    assert re.search(r"YK\d{13} is overdue today", out), out
    stages: dict[int, list[StageInstance]] = {}
    for s in StageInstance.objects.order_by("application_id", "seq"):
        stages.setdefault(s.application_id, []).append(s)
    events: dict[int, list[Event]] = {}
    for e in Event.objects.order_by("application_id", "id"):
        events.setdefault(e.application_id, []).append(e)
    apps = list(Application.objects.all())
    assert len(apps) == 200
    problems = [p for a in apps for p in order_problems(a, stages.get(a.pk, []), events.get(a.pk, []))]
    assert problems == []
    # the checker does catch a stage started before the one before it ended
    hv = next(a for a in apps if any(s.code == "design_review" and s.started_at for s in stages[a.pk]))
    review = next(s for s in stages[hv.pk] if s.code == "design_review" and s.started_at)
    before = next(s for s in stages[hv.pk] if s.seq == review.seq - 1)
    review.started_at = before.completed_at - timedelta(days=5)
    assert any("design_review#" in p and "started" in p for p in order_problems(hv, stages[hv.pk], events[hv.pk]))


@pytest.mark.django_db
def test_the_demo_is_a_small_province_with_accounts_at_each_level():
    from sunshine.accounts.models import Unit
    from sunshine.applications import access

    out = seed(40)
    tree = {u.code: (u.name, u.parent.code if u.parent else None) for u in Unit.objects.select_related("parent")}
    assert tree["sx"] == ("国网山西省电力公司", None)
    assert tree["ty-jinyuan"] == ("晋源区供电公司", "ty")
    assert tree["ty-jinyuan-jinci"] == ("晋祠营业厅", "ty-jinyuan")
    assert tree["dt-pingcheng"] == ("平城区供电公司", "dt")
    assert len(tree) == 12
    units = dict(User.objects.filter(unit__isnull=False).values_list("username", "unit__code"))
    assert {n: units[n] for n in ("leader", "manager1", "city_leader", "province_auditor", "admin")} == {
        "leader": "ty-jinyuan",
        "manager1": "ty-jinyuan",
        "city_leader": "ty",
        "province_auditor": "sx",
        "admin": "sx",
    }
    for name in ("city_leader", "province_auditor", "datong_leader", "xiaodian_leader", "datong_manager"):
        assert re.search(rf"^\s*{name}\s+\S+\s+sunshine-demo$", out, re.M), out
    assert "领导（国网太原供电公司）" in out
    datong = Application.objects.filter(unit__code__startswith="dt-")
    assert datong.count() == 4  # one in ten
    assert all("大同市" in a.address for a in datong)
    by = {n: access.visible_applications(User.objects.get(username=n)).count() for n in ("leader", "city_leader")}
    everything = Application.objects.count()
    assert 0 < by["leader"] < by["city_leader"] == everything - 4
    assert access.visible_applications(User.objects.get(username="province_auditor")).count() == everything
