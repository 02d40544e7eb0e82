"""The demo staff accounts of api-v1.md (password ``sunshine-demo``) and Taiyuan's service areas."""

from __future__ import annotations

from sunshine.accounts.models import Role, ServiceArea, User

DEMO_PASSWORD = "sunshine-demo"

# username, role, surname, given name, work phone
DEMO_ACCOUNTS = [
    ("admin", Role.ADMIN, "系统", "管理员", "0351-5550000"),
    ("clerk", Role.CLERK, "王", "受理", "0351-5550001"),
    ("manager1", Role.CUSTOMER_MANAGER, "李", "明", "0351-5550011"),
    ("manager2", Role.CUSTOMER_MANAGER, "赵", "芳", "0351-5550012"),
    ("manager3", Role.CUSTOMER_MANAGER, "孙", "强", "0351-5550013"),
    ("engineer", Role.ENGINEER, "张", "工", "0351-5550021"),
    ("leader", Role.LEADER, "刘", "主任", "0351-5550031"),
    ("auditor", Role.AUDITOR, "陈", "稽查", "0351-5550041"),
]

# Private mobiles (staff warnings go there by SMS, never to the published work phone) and e-mail
# addresses (the leaders get the half-month report by e-mail). Reserved example numbers/domain.
DEMO_CONTACTS = {
    username: (f"1390351{i:04d}", f"{username}@example.cn") for i, (username, *_r) in enumerate(DEMO_ACCOUNTS)
}

TAIYUAN_AREAS = [
    ("xiaodian", "小店区", "小店区,小店"),
    ("yingze", "迎泽区", "迎泽区,迎泽"),
    ("xinghualing", "杏花岭区", "杏花岭区,杏花岭"),
    ("jiancaoping", "尖草坪区", "尖草坪区,尖草坪"),
    ("wanbailin", "万柏林区", "万柏林区,万柏林"),
    ("jinyuan", "晋源区", "晋源区,晋源,晋祠"),
]


def ensure_areas() -> list[ServiceArea]:
    areas = []
    for code, name, keywords in TAIYUAN_AREAS:
        area, _ = ServiceArea.objects.get_or_create(code=code, defaults={"name": name, "keywords": keywords})
        areas.append(area)
    return areas


# The customer managers' own area (where they are ranked: 末位淘汰 needs three in one area). They
# still take applications of every area (serves_all_areas) so the small demo spreads over all.
MANAGER_AREA = "jinyuan"


def ensure_demo_accounts() -> list[User]:
    """Create the demo accounts if missing (idempotent; an existing password is reset)."""
    users = []
    for username, role, last, first, phone in DEMO_ACCOUNTS:
        user, _ = User.objects.get_or_create(username=username)
        user.role = role
        user.last_name, user.first_name = last, first
        user.work_phone = phone
        user.mobile_phone, user.email = DEMO_CONTACTS[username]
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        user.serves_all_areas = role == Role.CUSTOMER_MANAGER
        user.is_active = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        if role == Role.CUSTOMER_MANAGER:
            user.areas.add(*ServiceArea.objects.filter(code=MANAGER_AREA))
        users.append(user)
    return users
