"""Customer-manager evaluation: a fixed month whose scores were computed by hand
(docs/evaluation.md shows the same table), the veto, ranking, warnings and the interfaces.

October 2026 after National Day has no holidays: Mon 12 … Fri 16, Mon 19 … Fri 23, Mon 26 … Fri 30.
Every stage below is a 现场勘查 (survey, limit 2 working days).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from sunshine.accounts.models import Role
from sunshine.applications import services
from sunshine.applications.models import Application, StageInstance, StageStatus
from sunshine.applications.validation import validate_intake
from sunshine.evaluation.models import EvaluationSnapshot
from sunshine.evaluation.periods import BadPeriod, parse_period
from sunshine.evaluation.scoring import Facts, competition_ranks, score
from sunshine.evaluation.selectors import latest_public_ratings, snapshot_results
from sunshine.evaluation.services import freeze
from sunshine.feedback import services as feedback
from sunshine.feedback.models import FollowUp, FollowUpOutcome, FollowUpStatus
from tests.conftest import ApiClient, intake_body, make_user

D = date
WEIGHTS = {"on_time": 40, "speed": 20, "satisfaction": 30, "volume": 10}


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


def app_for(manager, clerk, n: int) -> Application:
    body = intake_body(address=f"太原市晋源区晋祠路{n}号", customer__phone=f"139{n:08d}")
    # Accepted in August: the acceptance stage completed at the counter is outside the months scored.
    with at("2026-08-03"):
        app = services.intake(validate_intake(body, D(2026, 8, 3)), clerk).application
    Application.objects.filter(pk=app.pk).update(customer_manager=manager)
    app.refresh_from_db()
    return app


def surveyed(app: Application, started: str, completed: str, deadline: str, paused: int = 0) -> Application:
    """The application's survey ran from ``started`` to ``completed`` (dates fixed by hand)."""
    StageInstance.objects.filter(application=app, code="survey").update(
        status=StageStatus.COMPLETED,
        started_on=D.fromisoformat(started),
        completed_on=D.fromisoformat(completed),
        deadline=D.fromisoformat(deadline),
        paused_working_days=paused,
        time_limit_days=2,
        manager=app.customer_manager,  # the manager who held it (set by hand like the rest)
    )
    return app


def rated(app: Application, clerk, rating: int, on: str) -> None:
    FollowUp.objects.create(
        application=app,
        manager=app.customer_manager,
        assigned_to=clerk,
        created_at=timezone.now(),
        due_on=D.fromisoformat(on),
        status=FollowUpStatus.DONE,
        outcome=FollowUpOutcome.COMPLETED,
        sat_overall=rating,
        sat_manager=rating,
        sat_timeliness=rating,
        completed_on=D.fromisoformat(on),
    )


def upheld(app: Application, auditor, source: str, kind: str, closed: str) -> str:
    case = feedback.open_case(source=source, kind=kind, subject="测试", details="测试", application=app)
    with at(closed):
        feedback.decide_case(case.pk, auditor, finding="upheld", action_taken="已约谈")
    return case.tracking_number


@pytest.fixture
def october(personas, area):
    """Alice, Bob and Carol, all of 晋源区, and what happened in their applications in October."""
    p = personas
    carol = make_user("carol", Role.CUSTOMER_MANAGER, last_name="蔡", first_name="若")
    carol.areas.add(area)
    clerk, auditor = p["clerk"], p["auditor"]
    apps = {
        name: [app_for(m, clerk, 10 * i + k) for k in range(4)]
        for i, (name, m) in enumerate([("alice", p["alice"]), ("bob", p["bob"]), ("carol", carol)])
    }
    a, b, c = apps["alice"], apps["bob"], apps["carol"]
    # Alice: 4 surveys, 3 on time; used/limit 1/2, 2/2, 4/2, (4-3 paused)/2.
    surveyed(a[0], "2026-10-12", "2026-10-13", "2026-10-14")
    surveyed(a[1], "2026-10-12", "2026-10-14", "2026-10-14")
    surveyed(a[2], "2026-10-13", "2026-10-19", "2026-10-15")
    surveyed(a[3], "2026-10-14", "2026-10-20", "2026-10-21", paused=3)
    # Bob: 2 surveys, both on time, 1 working day each.
    surveyed(b[0], "2026-10-19", "2026-10-20", "2026-10-21")
    surveyed(b[1], "2026-10-20", "2026-10-21", "2026-10-22")
    # Carol: 1 survey, late, 4 working days.
    surveyed(c[0], "2026-10-26", "2026-10-30", "2026-10-28")
    # A survey completed in September does not count in October.
    surveyed(c[1], "2026-09-14", "2026-09-15", "2026-09-16")
    # Follow-up ratings of the manager: Alice 5 and 4, Carol 2, Bob none.
    rated(a[0], clerk, 5, "2026-10-20")
    rated(a[1], clerk, 4, "2026-10-21")
    rated(c[0], clerk, 2, "2026-10-30")
    rated(c[2], clerk, 1, "2026-11-02")  # November: not counted
    # Upheld findings decided in October: a complaint about Carol, steering by Bob.
    complaint = upheld(c[0], auditor, "complaint", "complaint", "2026-10-20")
    steering = upheld(b[0], auditor, "followup", "steering", "2026-10-22")
    return {"carol": carol, "complaint": complaint, "steering": steering}


@pytest.mark.django_db
def test_october_matches_the_hand_computed_table(october):
    snap = freeze(parse_period("2026-10"))
    rows = {r["username"]: r for r in snapshot_results(snap)}
    assert [(u, rows[u]["score"], rows[u]["rank"], rows[u]["veto"]) for u in ("alice", "carol", "bob")] == [
        ("alice", Decimal("76.25"), 1, False),
        ("carol", Decimal("5.00"), 2, False),
        ("bob", Decimal("0.00"), 3, True),
    ]
    alice = rows["alice"]["breakdown"]
    assert {k: alice[k]["points"] for k in ("on_time", "speed", "satisfaction", "volume")} == {
        "on_time": "30.00",
        "speed": "10.00",
        "satisfaction": "26.25",
        "volume": "10.00",
    }
    assert alice["on_time"]["on_time"] == 3 and alice["on_time"]["completed"] == 4
    assert alice["speed"]["mean_used_over_limit"] == "1.00"
    assert alice["satisfaction"] == {
        "average": "4.50",
        "calls": 2,
        "fraction": "0.8750",
        "weight": "30.00",
        "points": "26.25",
    }
    bob = rows["bob"]["breakdown"]
    # No follow-up call: satisfaction has no data and the other weights scale up to 100.
    assert bob["satisfaction"] == {"no_data": True, "points": "0.00"}
    assert {k: bob[k]["points"] for k in ("on_time", "speed", "volume")} == {
        "on_time": "57.14",
        "speed": "28.57",
        "volume": "7.14",
    }
    assert bob["veto"] == {"findings": [october["steering"]], "points_before_veto": "92.85"}
    carol = rows["carol"]["breakdown"]
    assert {k: carol[k]["points"] for k in ("on_time", "speed", "satisfaction", "volume")} == {
        "on_time": "0.00",
        "speed": "0.00",
        "satisfaction": "7.50",
        "volume": "2.50",
    }
    assert carol["complaints"] == {"upheld": [october["complaint"]], "points": "-5.00"}
    # Bob is last of three in the area: at the bottom, but a first time is no warning.
    assert [rows[u]["breakdown"]["bottom"] for u in ("alice", "carol", "bob")] == [False, False, True]
    assert not any(r["warning"] for r in rows.values())


@pytest.mark.django_db
def test_a_second_bottom_month_in_a_row_warns_the_leaders(october, personas):
    clerk = personas["clerk"]
    # September: Alice and Carol on time, Bob late (4 working days for a 2-day survey).
    surveyed(app_for(personas["alice"], clerk, 100), "2026-09-14", "2026-09-15", "2026-09-16")
    surveyed(app_for(personas["bob"], clerk, 101), "2026-09-14", "2026-09-18", "2026-09-16")
    september = {r["username"]: r for r in snapshot_results(freeze(parse_period("2026-09")))}
    assert [(u, september[u]["score"], september[u]["rank"]) for u in ("alice", "carol", "bob")] == [
        ("alice", Decimal("100.00"), 1),
        ("carol", Decimal("100.00"), 1),
        ("bob", Decimal("14.29"), 3),
    ]
    assert not september["bob"]["warning"]
    october_rows = {r["username"]: r for r in snapshot_results(freeze(parse_period("2026-10")))}
    assert [u for u, r in october_rows.items() if r["warning"]] == ["bob"]
    assert october_rows["bob"]["breakdown"]["warning"] == {"consecutive_periods": 2, "bottom_n": 1}


def test_scoring_is_a_pure_function_with_exact_rounding():
    facts = Facts(stages_completed=3, stages_on_time=2, used_over_limit=((1, 3), (3, 3), (5, 3)))
    value, breakdown = score(facts, area_max_volume=6, weights=WEIGHTS, complaint_penalty=Decimal(5))
    # present weights 70 → scale 100/70; on_time 2/3·57.142857 = 38.10; speed mean 1.0 → 0.5·28.571428 = 14.29;
    # volume 3/6·14.285714 = 7.14
    assert value == Decimal("59.53")
    assert [breakdown[k]["points"] for k in ("on_time", "speed", "volume")] == ["38.10", "14.29", "7.14"]
    assert score(Facts(), area_max_volume=0, weights=WEIGHTS, complaint_penalty=Decimal(5)) == (
        None,
        {"no_activity": True},
    )


def test_equal_scores_share_a_rank():
    assert competition_ranks([("b", Decimal(80)), ("a", Decimal(80)), ("c", Decimal(90)), ("d", Decimal(10))]) == {
        "c": 1,
        "a": 2,
        "b": 2,
        "d": 4,
    }


@pytest.mark.parametrize(
    ("code", "start", "end"),
    [
        ("2026-10", D(2026, 10, 1), D(2026, 10, 31)),
        ("2026-q4", D(2026, 10, 1), D(2026, 12, 31)),
        ("2024-02", D(2024, 2, 1), D(2024, 2, 29)),
        ("2026-Q1", D(2026, 1, 1), D(2026, 3, 31)),
    ],
)
def test_periods(code, start, end):
    p = parse_period(code)
    assert (p.starts_on, p.ends_on) == (start, end)


@pytest.mark.parametrize("code", ["2026-13", "2026-Q5", "26-10", "", "2026/10"])
def test_bad_periods_are_refused(code):
    with pytest.raises(BadPeriod):
        parse_period(code)


@pytest.mark.django_db
def test_refreezing_keeps_the_old_version(october):
    first = freeze(parse_period("2026-10"))
    second = freeze(parse_period("2026-10"), reason="补录回访")
    assert (first.version, second.version) == (1, 2)
    assert EvaluationSnapshot.objects.filter(period="2026-10").count() == 2
    assert first.results.count() == second.results.count() == 3


@pytest.mark.django_db
def test_the_command_freezes_a_period(october, capsys):
    call_command("evaluate", "--period", "2026-10")
    out = capsys.readouterr().out
    assert "2026-10 v1 frozen (2026-10-01 – 2026-10-31)" in out
    assert "#1  alice  76.25" in out and "bob  0.00 VETO" in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "status"),
    [("leader", 200), ("auditor", 200), ("admin", 200), ("alice", 403), ("clerk", 403), ("engineer", 403)],
)
def test_the_api_returns_the_snapshot_to_leaders_auditors_and_admins(october, personas, persona, status):
    freeze(parse_period("2026-10"))
    r = ApiClient(personas[persona]).get("/api/v1/evaluations/2026-10")
    assert r.status_code == status
    if status == 200:
        body = r.json()
        assert body["period"] == "2026-10"
        assert [(x["username"], x["score"], x["rank"], x["veto"]) for x in body["results"]] == [
            ("alice", 76.25, 1, False),
            ("carol", 5, 2, False),
            ("bob", 0, 3, True),
        ]
        assert body["results"][2]["breakdown"]["veto"]["findings"] == [october["steering"]]


@pytest.mark.django_db
def test_the_api_answers_404_for_a_period_not_frozen_and_422_for_a_bad_one(personas):
    client = ApiClient(personas["leader"])
    assert client.get("/api/v1/evaluations/2026-10").json()["code"] == "not_found"
    r = client.get("/api/v1/evaluations/2026-13")
    assert r.status_code == 422 and r.json()["code"] == "validation_error"


@pytest.mark.django_db
def test_the_portal_rating_comes_from_the_latest_frozen_month(october):
    assert latest_public_ratings() == {}
    freeze(parse_period("2026-10"))
    assert latest_public_ratings() == {"alice": Decimal("4.50"), "carol": Decimal("2.00")}


@pytest.mark.django_db
def test_leaders_see_everyone_and_a_manager_only_themselves(october, personas, client):
    freeze(parse_period("2026-10"))
    client.force_login(personas["leader"])
    page = client.get("/workbench/evaluations/2026-10/").content.decode()
    assert "76.25" in page and "5.00" in page and "一票否决" in page and october["steering"] in page
    client.force_login(personas["alice"])
    page = client.get("/workbench/evaluations/2026-10/").content.decode()
    assert "76.25" in page and "carol" not in page and "bob" not in page


@pytest.mark.django_db
def test_the_page_explains_every_point(october, personas, client):
    freeze(parse_period("2026-10"))
    client.force_login(personas["leader"])
    page = client.get("/workbench/evaluations/2026-10/").content.decode()
    alice = page[page.index("alice") : page.index("carol")]
    assert "<strong>30.00</strong>\n              （4 个环节中 3 个按时）" in alice
    assert "= 0.7500 × 40.00" in alice
    assert "（4 个环节平均用时为时限的 1.00 倍）" in alice and "= 0.5000 × 20.00" in alice
    assert "（2 次回访平均 4.50 分）" in alice and "= 0.8750 × 30.00" in alice
    assert "（办结 4 个环节，区域最多 4 个）" in alice and "= 1.0000 × 10.00" in alice
    assert "在本服务区域 3 名参评客户经理中排第 1 名" in alice
    # the volume line once said "业务量: 14.29 (130 个环节中 个按时)"
    assert " 个环节中  个按时" not in page and page.count("个按时") == 3
    bob = page[page.index("bob") :]
    assert "在本服务区域 3 名参评客户经理中排第 3 名：末位" in bob
    assert "× 57.14" in bob  # Bob's weights scaled up: no follow-up call


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["clerk", "engineer", "outsider"])
def test_other_roles_may_not_see_evaluations(october, personas, client, persona):
    freeze(parse_period("2026-10"))
    client.force_login(personas[persona])
    assert client.get("/workbench/evaluations/2026-10/").status_code == 403


@pytest.mark.django_db
def test_a_leader_freezes_a_period_from_the_page_and_a_manager_may_not(october, personas, client):
    client.force_login(personas["alice"])
    assert client.post("/workbench/evaluations/", {"period": "2026-10"}).status_code == 403
    assert not EvaluationSnapshot.objects.exists()
    client.force_login(personas["leader"])
    r = client.post("/workbench/evaluations/", {"period": "2026-13"}, follow=True)
    assert "请按 YYYY-MM 填写月份" in r.content.decode() and not EvaluationSnapshot.objects.exists()
    r = client.post("/workbench/evaluations/", {"period": "2026-10"})
    assert r.status_code == 302 and r["Location"] == "/workbench/evaluations/2026-10/"
    assert EvaluationSnapshot.objects.get().frozen_by == personas["leader"]


@pytest.mark.django_db
def test_the_monthly_job_freezes_last_month_and_quarter_once(october):
    from sunshine.evaluation.tasks import freeze_last_periods_now
    from sunshine.jobs.schedule import discover

    assert "evaluation.freeze_last_periods" in [p.name for p in discover()]
    with at("2026-11-01", "01:30"):
        assert freeze_last_periods_now() == ["2026-10"]
        assert freeze_last_periods_now() == []
    with at("2027-01-01", "01:30"):
        assert freeze_last_periods_now() == ["2026-12", "2026-Q4"]
    assert EvaluationSnapshot.objects.get(period="2026-Q4").results.get(manager__username="alice").score == Decimal(
        "76.25"
    )


@pytest.mark.django_db
def test_a_leader_sees_a_managers_score_history_and_a_manager_only_their_own(october, personas, client):
    september = parse_period("2026-09")
    freeze(september)
    freeze(parse_period("2026-10"))
    freeze(parse_period("2026-10"), reason="补录回访")  # the latest version counts
    client.force_login(personas["leader"])
    page = client.get("/workbench/evaluations/managers/bob/").content.decode()
    rows = page[page.index("<tbody>") : page.index("</tbody>")]
    assert rows.index("2026-10") < rows.index("2026-09")  # newest first
    assert '<a href="/workbench/evaluations/2026-10/">2026-10</a> <span class="muted">v2</span>' in rows
    assert "0.00" in rows and "3 / 3" in rows and "一票否决" in rows and "末位" in rows
    assert "2026-09" in rows and "不参评" in rows  # nothing to score in September
    client.force_login(personas["alice"])
    assert client.get("/workbench/evaluations/managers/alice/").status_code == 200
    assert client.get("/workbench/evaluations/managers/bob/").status_code == 403
    assert client.get("/workbench/evaluations/managers/nobody/").status_code == 404
