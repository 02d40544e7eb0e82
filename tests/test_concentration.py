"""Contractor concentration monitor: the rule on exact counts, and a planted steering manager."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from sunshine.accounts.models import Role
from sunshine.applications.models import Application
from sunshine.directory.models import Contractor, ContractorChoice
from sunshine.feedback import concentration
from sunshine.feedback.concentration import is_concentrated
from sunshine.feedback.models import SupervisionCase
from tests.conftest import make_user
from tests.test_services import at, new_app

SH = ZoneInfo("Asia/Shanghai")
D = date


@pytest.mark.parametrize(
    ("count", "group_total", "overall_count", "overall_total", "expected"),
    [
        (4, 6, 7, 28, True),  # 66.7 % against 25 %
        (3, 6, 7, 28, True),  # exactly 50 % and exactly 2 × 25 %: both thresholds are inclusive
        (3, 6, 7, 24, False),  # 50 % but the unit has 29.2 % overall: 2 × is 58.3 %
        (2, 5, 1, 100, False),  # 40 % is below 50 %
        (4, 4, 4, 100, False),  # 100 % of only 4 projects
        (5, 5, 5, 100, True),  # 100 % of 5 projects, 5 % overall
        (5, 5, 60, 100, False),  # the unit most people choose anyway (60 %): 100 < 120
    ],
)
def test_the_rule_on_exact_counts(settings, count, group_total, overall_count, overall_total, expected):
    assert is_concentrated(count, group_total, overall_count, overall_total) is expected


def test_the_rule_follows_configuration():
    with override_settings(SUNSHINE_CONCENTRATION_MIN_PROJECTS=3):
        assert is_concentrated(3, 4, 3, 40) is True
    with override_settings(SUNSHINE_CONCENTRATION_MIN_SHARE_PERCENT=70):
        assert is_concentrated(4, 6, 7, 28) is False


_codes = iter(range(10**9))


def unit(name: str, kind: str = "construction"):
    return Contractor.objects.create(
        kind=kind,
        name=name,
        credit_code=f"91140100{next(_codes):010d}",
        licence_class="ims_4" if kind == "construction" else "",
        contact_phone="0351-0000000",
        area_served="太原市",
    )


# manager -> the construction units their customers chose, one letter per project
PLANTED = {
    "alice": "AAAABC",  # steering: A has 4/6 = 66.7 % of her projects against 7/28 = 25 % overall
    "bob": "ABBCDD",
    "carol": "ABCCCD",  # C has 50 % of hers, but C has 11/28 = 39 % overall: 50 < 78.6
    "dave": "ACCBDD",
    "eve": "CCCC",  # 100 % of 4 projects: too few to mean anything
}


@pytest.fixture
def planted(personas):
    people = {
        "alice": personas["alice"],
        "bob": personas["bob"],
        "carol": make_user("carol", Role.CUSTOMER_MANAGER),
        "dave": make_user("dave", Role.CUSTOMER_MANAGER),
        "eve": make_user("eve", Role.CUSTOMER_MANAGER),
    }
    units = {letter: unit(f"{letter}电力工程公司") for letter in "ABCD"}
    design = unit("甲设计院", kind="design")
    day = 2
    for name, letters in PLANTED.items():
        for letter in letters:
            app = new_app(personas["clerk"], when=f"2026-11-{day:02d}")
            Application.objects.filter(pk=app.pk).update(customer_manager=people[name])
            ContractorChoice.objects.create(
                application=app,
                kind="construction",
                contractor=units[letter],
                recorded_at=datetime(2026, 11, day, 15, 0, tzinfo=SH),
            )
            if name == "alice":  # alice's design choices are one per project: never enough to flag
                ContractorChoice.objects.create(
                    application=app, kind="design", contractor=design, recorded_at=datetime(2026, 11, day, tzinfo=SH)
                )
            day = day % 27 + 1
    # a choice in December does not count for November
    app = new_app(personas["clerk"], when="2026-12-01")
    ContractorChoice.objects.create(
        application=app, kind="construction", contractor=units["B"], recorded_at=datetime(2026, 12, 1, 9, tzinfo=SH)
    )
    return people, units


def test_only_the_planted_steering_manager_is_flagged(planted, django_assert_num_queries):
    people, units = planted
    with django_assert_num_queries(1):
        rows = concentration.shares(D(2026, 11, 1), D(2026, 11, 30), kind="construction")
    flagged = [
        (s.group_id, s.contractor_id, s.count, s.group_total, s.overall_count, s.overall_total)
        for s in rows
        if s.flagged
    ]
    assert flagged == [(people["alice"].pk, units["A"].pk, 4, 6, 7, 28)]
    assert sum(s.count for s in rows) == 28
    carol_c = next(s for s in rows if s.group_id == people["carol"].pk and s.contractor_id == units["C"].pk)
    assert (carol_c.count, carol_c.group_total, carol_c.overall_count, carol_c.flagged) == (3, 6, 11, False)


def test_the_monitor_opens_one_case_per_manager_unit_and_period(planted):
    people, units = planted
    with at("2026-12-01", "02:30"):
        cases = concentration.run_monitor(D(2026, 11, 1), D(2026, 11, 30), "2026-11")
        again = concentration.run_monitor(D(2026, 11, 1), D(2026, 11, 30), "2026-11")
    assert len(cases) == 1 and [c.pk for c in again] == [cases[0].pk]
    case = SupervisionCase.objects.get()
    assert (case.source, case.kind, case.manager, case.application) == (
        "concentration",
        "steering",
        people["alice"],
        None,
    )
    assert case.subject == "2026-11：A电力工程公司占李爱所办项目的 67%"
    assert (
        case.details
        == "李爱 2026-11 所办 6 个项目中有 4 个选择了 A电力工程公司（67%），该单位在同类全部项目中的占比为 25%。"
    )
    assert case.dedupe_key == f"concentration:2026-11:{people['alice'].pk}:{units['A'].pk}"


def test_by_area_counts_every_manager_of_the_area(planted, area):
    rows = concentration.shares(D(2026, 11, 1), D(2026, 11, 30), by="area", kind="construction")
    assert [(s.group_id, s.contractor_id, s.count, s.flagged) for s in rows] == [
        (area.pk, planted[1]["C"].pk, 11, False),
        (area.pk, planted[1]["A"].pk, 7, False),
        (area.pk, planted[1]["B"].pk, 5, False),
        (area.pk, planted[1]["D"].pk, 5, False),
    ]


def test_concentration_page_shows_the_flag_and_auditors_run_the_monitor(planted, personas):
    from django.test import Client

    auditor = Client()
    auditor.force_login(personas["auditor"])
    r = auditor.get("/workbench/concentration/?period=2026-11")
    body = r.content.decode()
    assert r.status_code == 200 and body.count('class="flagged"') == 1
    assert "A电力工程公司" in body
    leader = Client()
    leader.force_login(personas["leader"])
    assert leader.post("/workbench/concentration/", {"period": "2026-11"}).status_code == 403
    assert SupervisionCase.objects.count() == 0
    r = auditor.post("/workbench/concentration/", {"period": "2026-11"})
    assert r.status_code == 302 and r["Location"] == "/workbench/concentration/?period=2026-11"
    assert SupervisionCase.objects.get().manager == personas["alice"]
