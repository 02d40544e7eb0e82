"""Company units (issue 19): the tree, its audited edits, the unit of each application at intake,
moving an application between units, and who sees what along the tree."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext

from sunshine.accounts import units
from sunshine.accounts.models import Role, ServiceArea, Unit, UnitChange, UnitKind, User
from sunshine.applications import access, services
from sunshine.applications.models import Application, Event
from sunshine.applications.validation import validate_intake
from sunshine.errors import Conflict, Forbidden, ValidationFailed
from tests.conftest import intake_body, make_user

pytestmark = pytest.mark.django_db


def paths() -> list[tuple[str, str, int]]:
    # In Python: PostgreSQL orders text by its collation, which may ignore the slashes.
    return sorted(Unit.objects.values_list("code", "path", "depth"), key=lambda row: row[1])


def test_a_fresh_installation_is_one_unit_holding_everyone():
    assert paths() == [("company", "/company/", 1)]
    top = Unit.objects.get()
    assert (top.name, top.kind) == ("本公司", UnitKind.COUNTY)
    area = ServiceArea.objects.create(code="a", name="甲", keywords="甲")
    person = make_user("p", Role.LEADER)
    assert (area.unit_id, person.unit_id) == (top.pk, top.pk)


def test_paths_follow_the_tree_and_a_move_takes_the_subtree_along(province):
    assert paths() == [
        ("sx", "/sx/", 1),
        ("dt", "/sx/dt/", 2),
        ("dt-pingcheng", "/sx/dt/dt-pingcheng/", 3),
        ("ty", "/sx/ty/", 2),
        ("ty-jinyuan", "/sx/ty/ty-jinyuan/", 3),
        ("ty-jinyuan-jinci", "/sx/ty/ty-jinyuan/ty-jinyuan-jinci/", 4),
        ("ty-xiaodian", "/sx/ty/ty-xiaodian/", 3),
    ]
    jinyuan = province["ty-jinyuan"]
    jinyuan.parent = province["dt"]
    jinyuan.code = "jy"
    with CaptureQueriesContext(connection) as ctx:
        jinyuan.save()
    updates = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 2  # the unit itself, then its whole subtree in one statement
    assert paths() == [
        ("sx", "/sx/", 1),
        ("dt", "/sx/dt/", 2),
        ("dt-pingcheng", "/sx/dt/dt-pingcheng/", 3),
        ("jy", "/sx/dt/jy/", 3),
        ("ty-jinyuan-jinci", "/sx/dt/jy/ty-jinyuan-jinci/", 4),
        ("ty", "/sx/ty/", 2),
        ("ty-xiaodian", "/sx/ty/ty-xiaodian/", 3),
    ]
    assert sorted(u.code for u in units.below(province["dt"])) == ["dt", "dt-pingcheng", "jy", "ty-jinyuan-jinci"]


def test_a_unit_cannot_go_under_itself_nor_deeper_than_the_setting(province, settings):
    ty = Unit.objects.get(code="ty")
    ty.parent = Unit.objects.get(code="ty-jinyuan-jinci")
    with pytest.raises(ValidationError) as refused:
        ty.full_clean()
    assert refused.value.message_dict == {"parent": ["单位不能放在自身或其下级单位之下。"]}
    settings.SUNSHINE_UNIT_DEPTH = 4
    station = Unit(code="deep", name="深", kind=UnitKind.STATION, parent=Unit.objects.get(code="ty-jinyuan-jinci"))
    with pytest.raises(ValidationError) as refused:
        station.full_clean()
    assert refused.value.message_dict == {"parent": ["单位最多 4 级。"]}
    # Moving 太原 (three levels: 太原, 晋源区, 晋祠) under 大同 would make five.
    ty = Unit.objects.get(code="ty")
    ty.parent = Unit.objects.get(code="dt")
    with pytest.raises(ValidationError):
        ty.full_clean()


def test_edits_through_the_service_are_recorded(province):
    admin = make_user("admin", Role.ADMIN)
    with time_machine.travel("2026-11-02 10:00 +0800", tick=False):
        qingxu = Unit(code="ty-qingxu", name="清徐县供电公司", kind=UnitKind.COUNTY, parent=province["ty"])
        unit = units.save_unit(qingxu, admin)
        unit.name = "清徐县供电公司（新）"
        unit.hotline = "0351-5720000"
        units.save_unit(unit, admin)
        units.save_unit(unit, admin)  # nothing changed: nothing recorded
        units.delete_unit(unit, admin)
    rows = list(UnitChange.objects.order_by("id").values_list("code", "action", "actor__username", "before", "after"))
    first = {
        "code": "ty-qingxu",
        "name": "清徐县供电公司",
        "kind": "county",
        "parent": "ty",
        "path": "/sx/ty/ty-qingxu/",
        "hotline": "",
        "address": "",
    }
    second = {**first, "name": "清徐县供电公司（新）", "hotline": "0351-5720000"}
    assert rows == [
        ("ty-qingxu", "created", "admin", {}, first),
        ("ty-qingxu", "changed", "admin", first, second),
        ("ty-qingxu", "deleted", "admin", second, {}),
    ]
    with pytest.raises(ProtectedError):
        units.delete_unit(Unit.objects.get(code="ty"), admin)
    assert Unit.objects.filter(code="ty").exists()
    assert UnitChange.objects.count() == 3  # the refused delete recorded nothing


# --- applications in units ------------------------------------------------------------------------


@pytest.fixture
def areas(province) -> dict[str, ServiceArea]:
    return {
        "jinyuan": ServiceArea.objects.create(
            code="jinyuan", name="晋源区", keywords="晋源区", unit=province["ty-jinyuan"]
        ),
        "xiaodian": ServiceArea.objects.create(
            code="xiaodian", name="小店区", keywords="小店区", unit=province["ty-xiaodian"]
        ),
        "pingcheng": ServiceArea.objects.create(
            code="pingcheng", name="平城区", keywords="平城区", unit=province["dt-pingcheng"]
        ),
    }


def intake(address: str, actor: User | None, channel: str = "online", phone: str = "13800138000") -> Application:
    with time_machine.travel("2026-11-02 10:00 +0800", tick=False):
        body = intake_body(address=address, channel=channel, customer__phone=phone)
        return services.intake(validate_intake(body, date(2026, 11, 2)), actor).application


def unit_code(app: Application) -> str:
    return Application.objects.select_related("unit").get(pk=app.pk).unit.code


def test_intake_puts_the_application_in_its_areas_unit_or_the_clerks_hall(areas, province):
    clerk = make_user("clerk", Role.CLERK, unit=province["ty-jinyuan-jinci"])
    assert unit_code(intake("太原市晋源区晋祠路1号", None)) == "ty-jinyuan"
    assert unit_code(intake("太原市小店区长治路2号", None)) == "ty-xiaodian"
    assert unit_code(intake("山西省某地无名路3号", None)) == "sx"  # no area: the top unit
    # At the counter of 晋祠营业厅 (inside 晋源区): the hall.
    assert unit_code(intake("太原市晋源区晋祠路4号", clerk, channel="counter")) == "ty-jinyuan-jinci"
    # The hall's clerk taking an application of 小店区: 小店区, not the hall.
    assert unit_code(intake("太原市小店区长治路5号", clerk, channel="counter")) == "ty-xiaodian"


@pytest.fixture
def world(areas, province) -> dict[str, User]:
    people = {
        "county_leader": make_user("county_leader", Role.LEADER, unit=province["ty-jinyuan"]),
        "sibling_leader": make_user("sibling_leader", Role.LEADER, unit=province["ty-xiaodian"]),
        "city_leader": make_user("city_leader", Role.LEADER, unit=province["ty"]),
        "other_city_leader": make_user("other_city_leader", Role.LEADER, unit=province["dt"]),
        "province_auditor": make_user("province_auditor", Role.AUDITOR, unit=province["sx"]),
        "admin": make_user("admin", Role.ADMIN, unit=province["sx"]),
        "nowhere": make_user("nowhere", Role.LEADER),
    }
    User.objects.filter(username="nowhere").update(unit=None)
    people["nowhere"].refresh_from_db()
    intake("太原市晋源区晋祠路1号", None, phone="13800000001")
    intake("太原市晋源区晋祠路2号", None, phone="13800000002")
    intake("太原市小店区长治路3号", None, phone="13800000003")
    intake("大同市平城区某路4号", None, phone="13800000004")
    return people


def seen(user: User) -> list[str]:
    return sorted(a.address for a in access.visible_applications(user))


def test_each_role_sees_its_units_subtree(world):
    jinyuan = ["太原市晋源区晋祠路1号", "太原市晋源区晋祠路2号"]
    assert seen(world["county_leader"]) == jinyuan
    assert seen(world["sibling_leader"]) == ["太原市小店区长治路3号"]
    assert seen(world["city_leader"]) == sorted([*jinyuan, "太原市小店区长治路3号"])
    assert seen(world["other_city_leader"]) == ["大同市平城区某路4号"]
    assert seen(world["province_auditor"]) == sorted(["大同市平城区某路4号", *jinyuan, "太原市小店区长治路3号"])
    assert seen(world["nowhere"]) == []
    one = Application.objects.get(address="太原市小店区长治路3号")
    assert [access.can_view(world[p], one) for p in ("county_leader", "sibling_leader", "city_leader", "nowhere")] == [
        False,
        True,
        True,
        False,
    ]
    with pytest.raises(Forbidden):
        access.access_application(world["county_leader"], one.number)
    with pytest.raises(Forbidden):
        access.require_role(world["county_leader"], access.REASSIGN_ROLES, one)
    access.require_role(world["city_leader"], access.REASSIGN_ROLES, one)


def test_moving_an_application_writes_an_event(world, province):
    app = Application.objects.get(address="太原市晋源区晋祠路1号")
    leader = world["city_leader"]
    with time_machine.travel("2026-11-03 10:00 +0800", tick=False):
        services.move_unit(app.number, leader, unit_code="ty-xiaodian", reason="地址在小店区")
    assert unit_code(app) == "ty-xiaodian"
    last = Event.objects.filter(application=app).order_by("-id").first()
    assert (last.type, last.actor, last.data) == (
        "unit_moved",
        leader,
        {"from": "ty-jinyuan", "to": "ty-xiaodian", "reason": "地址在小店区"},
    )
    assert seen(world["county_leader"]) == ["太原市晋源区晋祠路2号"]
    with pytest.raises(Conflict):
        services.move_unit(app.number, leader, unit_code="ty-xiaodian", reason="再次")
    with pytest.raises(ValidationFailed) as refused:
        services.move_unit(app.number, leader, unit_code="nope", reason="")
    assert refused.value.fields == {"unit": ["没有此代码的单位。"], "reason": ["请填写转移原因。"]}
    with pytest.raises(Forbidden):
        access.require_unit(leader, province["dt"].pk)
    access.require_unit(leader, province["ty-jinyuan-jinci"].pk)


# --- API v1 -----------------------------------------------------------------------------------------


def test_the_api_names_the_unit_filters_by_subtree_and_lists_the_tree(world):
    from tests.conftest import ApiClient

    city = ApiClient(world["city_leader"])
    r = city.get("/api/v1/applications", unit="ty-jinyuan")
    assert r.status_code == 200
    assert sorted(row["address"] for row in r.json()["results"]) == ["太原市晋源区晋祠路1号", "太原市晋源区晋祠路2号"]
    assert r.json()["results"][0]["unit"] == {
        "code": "ty-jinyuan",
        "name": "晋源区供电公司",
        "path": "/sx/ty/ty-jinyuan/",
    }
    assert city.get("/api/v1/applications", unit="ty").json()["count"] == 3
    assert city.get("/api/v1/applications").json()["count"] == 3
    assert ApiClient(world["province_auditor"]).get("/api/v1/applications").json()["count"] == 4
    # Another city's unit: refused; an unknown code: invalid.
    refused = city.get("/api/v1/applications", unit="dt")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert city.get("/api/v1/applications", unit="nope").json()["count"] == 0
    county = ApiClient(world["county_leader"])
    assert county.get("/api/v1/applications", unit="ty").status_code == 403
    number = Application.objects.get(address="太原市小店区长治路3号").number
    assert county.get(f"/api/v1/applications/{number}").status_code == 403
    detail = city.get(f"/api/v1/applications/{number}").json()
    assert detail["unit"] == {"code": "ty-xiaodian", "name": "小店区供电公司", "path": "/sx/ty/ty-xiaodian/"}
    tree = county.get("/api/v1/units").json()["results"]
    assert [(u["code"], u["kind"], u["depth"], u["parent"]) for u in tree] == [
        ("sx", "province", 1, None),
        ("dt", "city", 2, "sx"),
        ("dt-pingcheng", "county", 3, "dt"),
        ("ty", "city", 2, "sx"),
        ("ty-jinyuan", "county", 3, "ty"),
        ("ty-jinyuan-jinci", "hall", 4, "ty-jinyuan"),
        ("ty-xiaodian", "county", 3, "ty"),
    ]


def test_moving_through_the_api_stays_within_the_callers_units(world):
    from tests.conftest import ApiClient

    number = Application.objects.get(address="太原市晋源区晋祠路1号").number
    city = ApiClient(world["city_leader"])
    out = city.post(f"/api/v1/applications/{number}/unit", {"unit": "dt-pingcheng", "reason": "误分"})
    assert out.status_code == 403
    assert unit_code(Application.objects.get(number=number)) == "ty-jinyuan"
    moved = city.post(f"/api/v1/applications/{number}/unit", {"unit": "ty-xiaodian", "reason": "地址在小店区"})
    assert moved.status_code == 200
    assert moved.json()["unit"]["code"] == "ty-xiaodian"
    events = city.get(f"/api/v1/applications/{number}/events").json()["results"]
    assert (events[-1]["type"], events[-1]["actor"], events[-1]["data"]) == (
        "unit_moved",
        "city_leader",
        {"from": "ty-jinyuan", "to": "ty-xiaodian", "reason": "地址在小店区"},
    )
    # The county it left no longer sees it, nor may move it back.
    county = ApiClient(world["county_leader"])
    back = county.post(f"/api/v1/applications/{number}/unit", {"unit": "ty-jinyuan", "reason": "拿回"})
    assert back.status_code == 403


def test_a_manager_is_given_only_applications_of_their_units_subtree(world, province):
    from tests.conftest import ApiClient

    app = Application.objects.get(address="太原市晋源区晋祠路1号")  # 晋源区
    managers = {
        code: make_user(f"m-{code}", Role.CUSTOMER_MANAGER, unit=province[code])
        for code in ("ty-jinyuan", "ty-jinyuan-jinci", "ty-xiaodian", "ty", "dt")
    }
    refused = "该客户经理属于其他单位：申请只能改派给其所在单位或上级单位的客户经理。"
    city = world["city_leader"]
    with time_machine.travel("2026-11-03 10:00 +0800", tick=False):
        for code in ("ty-xiaodian", "dt", "ty-jinyuan-jinci"):  # a sibling, another city, a hall below
            before = list(Event.objects.filter(application=app).values_list("id", flat=True))
            with pytest.raises(ValidationFailed) as no:
                services.reassign(app.number, city, username=f"m-{code}", reason="调整")
            assert no.value.fields == {"customer_manager": [refused]}
            assert list(Event.objects.filter(application=app).values_list("id", flat=True)) == before
        assert Application.objects.get(pk=app.pk).customer_manager_id != managers["ty-xiaodian"].pk
        services.reassign(app.number, city, username="m-ty-jinyuan", reason="本区经理")
        services.reassign(app.number, city, username="m-ty", reason="市公司经理")  # a unit above: allowed
    assert Application.objects.get(pk=app.pk).customer_manager == managers["ty"]
    # the same through the API: 422 with the field's message, nothing changed
    api = ApiClient(city)
    r = api.post(f"/api/v1/applications/{app.number}/reassign", {"customer_manager": "m-dt", "reason": "调整"})
    assert r.status_code == 422
    assert refused in r.content.decode()
    assert Application.objects.get(pk=app.pk).customer_manager == managers["ty"]
