"""The demo's small province (issue 19): 山西 with 太原 (its six districts, 晋源区 with a service
hall) and 大同 (two districts); Taiyuan's service areas in their districts, 大同's own areas; the
demo accounts placed in it, and the accounts of the other levels."""

from __future__ import annotations

from sunshine.accounts import units
from sunshine.accounts.models import Role, ServiceArea, Unit, UnitKind, User

# code, name, kind, parent code, hotline
DEMO_UNITS = [
    ("ty", "国网太原供电公司", UnitKind.CITY, "sx", "0351-12398"),
    ("ty-xiaodian", "小店区供电公司", UnitKind.COUNTY, "ty", ""),
    ("ty-yingze", "迎泽区供电公司", UnitKind.COUNTY, "ty", ""),
    ("ty-xinghualing", "杏花岭区供电公司", UnitKind.COUNTY, "ty", ""),
    ("ty-jiancaoping", "尖草坪区供电公司", UnitKind.COUNTY, "ty", ""),
    ("ty-wanbailin", "万柏林区供电公司", UnitKind.COUNTY, "ty", ""),
    ("ty-jinyuan", "晋源区供电公司", UnitKind.COUNTY, "ty", ""),
    ("ty-jinyuan-jinci", "晋祠营业厅", UnitKind.HALL, "ty-jinyuan", ""),
    ("dt", "国网大同供电公司", UnitKind.CITY, "sx", "0352-12398"),
    ("dt-pingcheng", "平城区供电公司", UnitKind.COUNTY, "dt", ""),
    ("dt-yungang", "云冈区供电公司", UnitKind.COUNTY, "dt", ""),
]
TOP = ("sx", "国网山西省电力公司", UnitKind.PROVINCE)

# service area code -> unit code (Taiyuan's areas are made by accounts.ensure_areas)
AREA_UNITS = {
    "xiaodian": "ty-xiaodian",
    "yingze": "ty-yingze",
    "xinghualing": "ty-xinghualing",
    "jiancaoping": "ty-jiancaoping",
    "wanbailin": "ty-wanbailin",
    "jinyuan": "ty-jinyuan",
    "pingcheng": "dt-pingcheng",
    "yungang": "dt-yungang",
}
DATONG_AREAS = [
    ("pingcheng", "平城区", "平城区,平城"),
    ("yungang", "云冈区", "云冈区,云冈"),
]

# The demo accounts' units: the district office 晋源区 (the leader, the customer managers), the
# city for the staff who work across Taiyuan (clerk, engineer, auditor), the top for the admin.
ACCOUNT_UNITS = {
    "admin": "sx",
    "clerk": "ty",
    "manager1": "ty-jinyuan",
    "manager2": "ty-jinyuan",
    "manager3": "ty-jinyuan",
    "engineer": "ty",
    "leader": "ty-jinyuan",
    "auditor": "ty",
}

# The other levels: username, role, surname, given name, work phone, unit, area (managers)
LEVEL_ACCOUNTS = [
    ("city_leader", Role.LEADER, "周", "市长", "0351-5550051", "ty", None),
    ("province_auditor", Role.AUDITOR, "郭", "省监", "0351-5550061", "sx", None),
    ("xiaodian_leader", Role.LEADER, "吴", "主任", "0351-5550032", "ty-xiaodian", None),
    ("datong_leader", Role.LEADER, "马", "经理", "0352-5550031", "dt", None),
    ("datong_manager", Role.CUSTOMER_MANAGER, "郑", "华", "0352-5550011", "dt-pingcheng", "pingcheng"),
]


def ensure_units() -> dict[str, Unit]:
    """The tree (idempotent): the installation's top unit becomes 山西, the rest is added."""
    top = Unit.objects.filter(parent__isnull=True).order_by("id").first()
    if top is None:
        top = Unit(code=TOP[0], name=TOP[1], kind=TOP[2])
    if (top.code, top.name, top.kind) != TOP:
        top.code, top.name, top.kind = TOP
        units.save_unit(top, None)
    found = {"sx": top}
    for code, name, kind, parent, hotline in DEMO_UNITS:
        unit = Unit.objects.filter(code=code).first()
        if unit is None:
            unit = units.save_unit(Unit(code=code, name=name, kind=kind, parent=found[parent], hotline=hotline), None)
        found[code] = unit
    for code, name, keywords in DATONG_AREAS:
        ServiceArea.objects.get_or_create(
            code=code, defaults={"name": name, "keywords": keywords, "unit": found[AREA_UNITS[code]]}
        )
    for area in ServiceArea.objects.filter(code__in=AREA_UNITS):
        wanted = found[AREA_UNITS[area.code]]
        if area.unit_id != wanted.pk:
            area.unit = wanted
            area.save(update_fields=["unit"])
    return found


def place_accounts(found: dict[str, Unit], password: str) -> list[User]:
    """The demo accounts into their units; the accounts of the other levels (created if missing,
    their password reset). Returns the latter."""
    for username, code in ACCOUNT_UNITS.items():
        User.objects.filter(username=username).exclude(unit=found[code]).update(unit=found[code])
    made = []
    for username, role, last, first, phone, code, area in LEVEL_ACCOUNTS:
        user, _ = User.objects.get_or_create(username=username)
        user.role = role
        user.last_name, user.first_name = last, first
        user.work_phone = phone
        user.email = f"{username}@example.cn"
        user.unit = found[code]
        user.is_active = True
        user.set_password(password)
        user.save()
        if area:
            user.areas.add(*ServiceArea.objects.filter(code=area))
        made.append(user)
    return made
