"""The escalation ladder climbs the tree of units (issue 19): manager → team lead → the leaders of
the application's county (the nearest unit with leaders) → the city's leaders for key projects.
Who is told at each rung is configuration (``SUNSHINE_RUNGS``' ``notify``), found from the
application's unit up its ancestors. The demo's province (sunshine/ops/demo/units.py).

Calendar: a counter intake on Mon 2026-11-16 starts the survey (2 working days, deadline 11-18);
overdue fires Thu 11-19, overdue_3 Mon 11-23, both at 08:30.
"""

from __future__ import annotations

from datetime import date

import pytest

from sunshine.accounts.models import Role, Unit, User
from sunshine.applications.models import Application
from sunshine.ops.demo.units import ensure_units
from sunshine.supervision import rungs
from sunshine.supervision.services import take_charge
from tests.conftest import make_user
from tests.test_sweep import at, fire, intake, rid, rung_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree(personas, area):
    """The demo's units; 晋源区's area (and its team lead) there, a leader at each level:
    ``leader`` 晋源区, ``city_leader`` 太原, ``xiaodian_leader`` 小店区 (a sibling county),
    ``datong_leader`` 大同 (another city), ``province_leader`` 山西."""
    found = ensure_units()
    area.refresh_from_db()
    assert area.unit == found["ty-jinyuan"]
    lead = make_user("lead", Role.CUSTOMER_MANAGER, accepts_assignments=False, unit=found["ty-jinyuan"])
    area.team_lead = lead
    area.save(update_fields=["team_lead"])
    User.objects.filter(username="leader").update(unit=found["ty-jinyuan"])
    for username, code in (
        ("city_leader", "ty"),
        ("xiaodian_leader", "ty-xiaodian"),
        ("datong_leader", "dt"),
        ("province_leader", "sx"),
    ):
        make_user(username, Role.LEADER, unit=found[code])
    return found


def test_an_overdue_case_climbs_to_its_countys_leader_only(tree):
    app = intake("2026-11-16")
    assert app.unit.code == "ty-jinyuan"
    n = app.number
    assert fire("2026-11-19", "08:30")[-1] == (n, "overdue", ("alice", "lead"))
    # before units every active leader of the installation was told (five here)
    assert fire("2026-11-23", "08:30")[-1] == (n, "overdue_3", ("lead", "leader"))


def test_a_key_project_reaches_the_city_as_well(tree):
    app = intake("2026-11-16", key_project=True)
    n = app.number
    assert fire("2026-11-19", "08:30")[-1] == (n, "overdue", ("alice", "lead"))
    assert fire("2026-11-23", "08:30")[-1] == (n, "overdue_3", ("lead", "leader", "city_leader"))
    assert rung_events(app)[-1] == ("escalation", "overdue_3", ["lead", "leader", "city_leader"])


def test_a_halls_case_goes_to_its_countys_leader_and_a_county_without_leaders_to_the_city(tree):
    in_hall = intake("2026-11-16")
    no_leader = intake("2026-11-16", customer__id_number=rid(7))
    # set the units directly (a move through services.move_unit is tested in test_units.py)
    Application.objects.filter(pk=in_hall.pk).update(unit=tree["ty-jinyuan-jinci"])
    Application.objects.filter(pk=no_leader.pk).update(unit=tree["ty-yingze"])
    fired = dict(((n, r), people) for n, r, people in fire("2026-11-23", "08:30"))
    assert fired[(in_hall.number, "overdue_3")] == ("lead", "leader")
    # 迎泽区 has no leader: the nearest unit above with one is 太原
    assert fired[(no_leader.number, "overdue_3")] == ("lead", "city_leader")


def test_a_supervised_project_tells_its_supervising_leader_and_the_city(tree):
    app = intake("2026-11-16")
    with at("2026-11-16", "11:00"):
        leader = User.objects.get(username="leader")
        take_charge(app.number, leader, reason="重点民生工程", target_date=date(2026, 11, 30))
    n = app.number
    assert fire("2026-11-19", "08:30")[-1] == (n, "overdue", ("alice", "lead", "leader", "city_leader"))


def test_a_single_company_installation_tells_every_leader_as_before(personas, area):
    # one unit (本公司, a county): "leader" is its leaders, "key:leader@city" finds no city
    other = make_user("leader2", Role.LEADER)
    assert other.unit_id == personas["leader"].unit_id == Unit.objects.get().pk
    app = intake("2026-11-16", key_project=True)
    assert fire("2026-11-23", "08:30")[-1] == (app.number, "overdue_3", ("leader", "leader2"))


def test_who_is_told_is_configuration(tree, settings):
    settings.SUNSHINE_RUNGS = {
        **settings.SUNSHINE_RUNGS,
        "default": [
            {
                "code": "overdue",
                "offset": 1,
                "event": "overdue",
                "template": "overdue",
                "notify": ["leader@county", "leader@province", "key:leader@city"],
            }
        ],
    }
    rungs.reset_config()
    try:
        app = intake("2026-11-16")
        assert fire("2026-11-19", "08:30")[-1] == (app.number, "overdue", ("leader", "province_leader"))
        settings.SUNSHINE_RUNGS = {
            **settings.SUNSHINE_RUNGS,
            "default": [{**settings.SUNSHINE_RUNGS["default"][0], "notify": ["leader@planet"]}],
        }
        rungs.reset_config()
        with pytest.raises(ValueError, match="bad rung configuration"):
            rungs.rungs_for("lv_residential", supervised=False)
    finally:
        rungs.reset_config()
