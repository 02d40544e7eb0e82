"""Issue 19: an intake's customer manager is chosen within the application's unit. A unit with
managers of its own never gets another unit's manager; a unit with none falls back up the tree
to the nearest unit that has one. The ORM path (``services.pick_manager``) and the SQL of the
fast path (``writes.intake_rows``, PostgreSQL) choose the same manager: every case runs on both
paths (on SQLite both are the ORM's)."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.db import connection, transaction

from sunshine.accounts.models import Role, ServiceArea, Unit, User
from sunshine.applications import services, writes
from sunshine.applications.models import Application, ManagerLoad
from sunshine.applications.validation import resident_id_check_character, validate_intake
from tests.conftest import NEEDS_POSTGRES, intake_body, make_user

pytestmark = pytest.mark.django_db

_count = iter(range(1, 1000))


def rid(i: int) -> str:
    first17 = f"11010519491231{i:03d}"
    return first17 + resident_id_check_character(first17)


def intake(address: str, actor: User | None = None, channel: str = "online") -> Application:
    i = next(_count)
    body = intake_body(address=address, channel=channel, customer__id_number=rid(i), customer__phone=f"1390000{i:04d}")
    with time_machine.travel("2026-11-02 10:00 +0800", tick=False):
        return services.intake(validate_intake(body, date(2026, 11, 2)), actor).application


def manager_of(app: Application) -> str | None:
    app.refresh_from_db()
    return app.customer_manager.username if app.customer_manager else None


@pytest.fixture(params=["fast", "orm"])
def path(request, settings) -> str:
    settings.SUNSHINE_FAST_WRITES = request.param == "fast"
    return str(request.param)


@pytest.fixture
def tree(province) -> dict[str, Unit]:
    for code, name, unit in (
        ("jinyuan", "晋源区", "ty-jinyuan"),
        ("xiaodian", "小店区", "ty-xiaodian"),
        ("pingcheng", "平城区", "dt-pingcheng"),
    ):
        ServiceArea.objects.create(code=code, name=name, keywords=name, unit=province[unit])
    # 晋源区 has two managers; 太原 (the city) one; 小店区, 大同, 平城区 and 山西 none.
    for username, unit in (("jy_a", "ty-jinyuan"), ("jy_b", "ty-jinyuan"), ("city", "ty")):
        make_user(username, Role.CUSTOMER_MANAGER, serves_all_areas=True, unit=province[unit])
    return province


def test_a_unit_with_its_own_managers_never_gets_another_units(tree, path):
    # The city's manager has nothing open, 晋源区's two are busier: 晋源区 still keeps its own.
    ManagerLoad.objects.create(user=User.objects.get(username="jy_a"), open_count=5)
    ManagerLoad.objects.create(user=User.objects.get(username="jy_b"), open_count=4)
    assert [manager_of(intake(f"太原市晋源区晋祠路{i}号")) for i in range(3)] == ["jy_b", "jy_a", "jy_b"]
    # A manager of a unit below (a hall of 晋源区) does not take 晋源区's own applications either.
    make_user("hall", Role.CUSTOMER_MANAGER, serves_all_areas=True, unit=tree["ty-jinyuan-jinci"])
    assert manager_of(intake("太原市晋源区晋祠路9号")) in {"jy_a", "jy_b"}
    # ... but takes those of its hall (a counter application there), before 晋源区's.
    clerk = make_user("clerk", Role.CLERK, unit=tree["ty-jinyuan-jinci"])
    assert manager_of(intake("太原市晋源区晋祠路10号", clerk, channel="counter")) == "hall"


def test_a_unit_without_managers_falls_back_to_the_nearest_unit_above_that_has_one(tree, path):
    # 小店区 has none: 太原's.
    assert manager_of(intake("太原市小店区长治路1号")) == "city"
    # The hall of 晋祠 has none: 晋源区's (the nearest), never the city's.
    clerk = make_user("clerk", Role.CLERK, unit=tree["ty-jinyuan-jinci"])
    app = intake("太原市晋源区晋祠路2号", clerk, channel="counter")
    assert Application.objects.get(pk=app.pk).unit.code == "ty-jinyuan-jinci"
    assert manager_of(app) in {"jy_a", "jy_b"}
    # 平城区, 大同 and 山西 have none: nobody (a leader assigns it).
    assert manager_of(intake("大同市平城区某路3号")) is None
    # A manager of 山西 (the top) serves it then; 太原's never.
    make_user("province", Role.CUSTOMER_MANAGER, serves_all_areas=True, unit=tree["sx"])
    assert manager_of(intake("大同市平城区某路4号")) == "province"
    assert manager_of(intake("太原市小店区长治路5号")) == "city"


def test_the_units_managers_must_still_serve_the_area_and_accept_work(tree, path):
    xiaodian = ServiceArea.objects.get(code="xiaodian")
    local = make_user("xd", Role.CUSTOMER_MANAGER, unit=tree["ty-xiaodian"])  # serves no area yet
    # 小店区's only manager does not serve the area: the unit counts as having none.
    assert manager_of(intake("太原市小店区长治路1号")) == "city"
    local.areas.add(xiaodian)
    assert manager_of(intake("太原市小店区长治路2号")) == "xd"
    User.objects.filter(username="xd").update(accepts_assignments=False)
    assert manager_of(intake("太原市小店区长治路3号")) == "city"


@pytest.mark.skipif(connection.vendor != "postgresql", reason=NEEDS_POSTGRES)
def test_a_manager_being_given_an_application_right_now_is_passed_over(tree, settings):
    """PostgreSQL, fast path: while another transaction holds the pick of the least-loaded
    manager (its advisory lock), a concurrent intake takes the next one instead of waiting; when
    every manager of the unit is busy it takes the first anyway (never another unit's). (The
    test's own transaction keeps the locks of its picks: the other connection never waits on them.)"""
    import psycopg

    settings.SUNSHINE_FAST_WRITES = True
    ids = dict(User.objects.filter(username__in=["jy_a", "city"]).values_list("username", "id"))
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=False) as other:
        other.execute("SELECT pg_advisory_xact_lock((%s::bigint << 32) + %s)", [writes.MANAGER_LOCK, ids["jy_a"]])
        with transaction.atomic():
            assert manager_of(intake("太原市晋源区晋祠路1号")) == "jy_b"
        # 小店区 falls back to 太原, whose only manager is busy: it anyway (never a manager of
        # 晋源区, who are free). The other transaction holds no row of it, so nothing waits.
        other.execute("SELECT pg_advisory_xact_lock((%s::bigint << 32) + %s)", [writes.MANAGER_LOCK, ids["city"]])
        with transaction.atomic():
            assert manager_of(intake("太原市小店区长治路2号")) == "city"
        other.rollback()
