"""The access matrix along the tree of units (issue 19): every API operation and every staff page
of tests/test_access_matrix.py, called by personas of a sibling county (小店区: a leader, a
clerk, an auditor, a customer manager) and of another city (大同's leader) on the world's
objects, which all belong to 晋源区 (太原). Each such call on one of those objects is refused
(401, 403, 404, or 405 for a POST-only action asked with GET) and every refusal is shown to
have changed nothing (the row count of every table, every field of the watched records); a list
or page they are let through names none of the world's applications. 太原's leader (the city above) reads them all.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client

from sunshine.accounts.models import ApiToken, Role, ServiceArea, Unit, UnitKind, hash_token
from tests.test_access_matrix import (
    API,
    NOW,
    PAGE_POSTS,
    PAGES,
    REFUSED,
    _api_call,
    _assert_only_readable_rows,
    _build_world,
    _page_path,
    _unreadable,
    _user,
    snapshot,
)

# 405: a POST-only action asked with GET (refused before anything else)
REFUSED_HERE = REFUSED | {405}
OUTSIDERS = ["sibling_leader", "sibling_clerk", "sibling_auditor", "sibling_manager", "other_city_leader"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    traveller = time_machine.travel(NOW, tick=False)
    traveller.start()
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield _build_units_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            traveller.stop()


def _build_units_world() -> dict[str, Any]:
    from django.utils import timezone

    from sunshine.applications.models import Application

    built = _build_world()
    top = Unit.objects.get(parent__isnull=True)
    top.code, top.name, top.kind = "sx", "山西省电力公司", UnitKind.PROVINCE
    top.save()
    ty = Unit.objects.create(code="ty", name="太原供电公司", kind=UnitKind.CITY, parent=top)
    jinyuan = Unit.objects.create(code="ty-jinyuan", name="晋源区供电公司", kind=UnitKind.COUNTY, parent=ty)
    xiaodian = Unit.objects.create(code="ty-xiaodian", name="小店区供电公司", kind=UnitKind.COUNTY, parent=ty)
    dt = Unit.objects.create(code="dt", name="大同供电公司", kind=UnitKind.CITY, parent=top)
    hall = Unit.objects.get(code="jinci")
    hall.parent = jinyuan
    hall.save()
    ServiceArea.objects.update(unit=jinyuan)
    Application.objects.update(unit=jinyuan)
    # the world's own staff work in 晋源区 (the admin stays at the top)
    for user in built["users"].values():
        if user.role != Role.ADMIN:
            user.unit = jinyuan
            user.save(update_fields=["unit"])
    people = {
        "sibling_leader": _user("sibling_leader", Role.LEADER, unit=xiaodian),
        "sibling_clerk": _user("sibling_clerk", Role.CLERK, unit=xiaodian),
        "sibling_auditor": _user("sibling_auditor", Role.AUDITOR, unit=xiaodian),
        "sibling_manager": _user("sibling_manager", Role.CUSTOMER_MANAGER, unit=xiaodian),
        "other_city_leader": _user("other_city_leader", Role.LEADER, unit=dt),
        "city_leader": _user("city_leader", Role.LEADER, unit=ty),
    }
    for name, user in people.items():
        raw = ApiToken.new_raw()
        ApiToken.objects.create(user=user, key_hash=hash_token(raw), expires_at=timezone.now() + timedelta(days=1))
        built["tokens"][name] = raw
    built["users"].update(people)
    return built


def _aims_at_the_world(template: str) -> bool:
    """An operation or page on one of the world's objects (an application, its case, follow-up,
    visit, report), not a collection, a public or an administrator's thing."""
    if template.startswith(("/api/v1/public/", "/api/v1/webhooks/", "workbench/jobs/", "workbench/inbox/")):
        return False
    return any(
        f in template for f in ("{number}", "{pk}", "{report_id}", "<str:number>", "<int:pk>", "<int:report_id>")
    )


def _check(world: dict[str, Any], persona: str, template: str, response: Any, before: Any, hidden: list[str]) -> None:
    status = response.status_code
    if _aims_at_the_world(template):
        assert status in REFUSED_HERE, (template, persona, status, response.content[:200])
    if status in REFUSED_HERE:
        assert snapshot() == before, (template, persona)
    elif status < 400:
        _assert_only_readable_rows(hidden, persona, response)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", OUTSIDERS)
@pytest.mark.parametrize("operation", sorted(API), ids=lambda op: f"{op[0]} {op[1]}")
def test_api_outside_the_unit(world, persona, operation):
    method, template = operation
    path, query, body = _api_call(world, method, template)
    headers = {"HTTP_AUTHORIZATION": "Bearer " + world["tokens"][persona]}
    hidden = _unreadable(world, persona)
    assert len(hidden) >= 3  # the world's applications are none of theirs
    before = snapshot()
    client = Client()
    if method == "GET":
        r = client.get(path, query, **headers)
    else:
        r = client.post(path, json.dumps(body, ensure_ascii=False), content_type="application/json", **headers)
    _check(world, persona, template, r, before, [] if template.startswith("/api/v1/public/") else hidden)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", OUTSIDERS)
@pytest.mark.parametrize("page", sorted(PAGES), ids=lambda p: f"{p[0]} /{p[1]}")
def test_page_outside_the_unit(world, persona, page):
    method, route = page
    client = Client()
    client.force_login(world["users"][persona])
    path = _page_path(world, route)
    hidden = _unreadable(world, persona)
    before = snapshot()
    r = client.get(path) if method == "GET" else client.post(path, PAGE_POSTS.get(route, {}))
    _check(world, persona, route, r, before, hidden)


@pytest.mark.django_db
def test_the_city_above_reads_the_countys_applications(world):
    from sunshine.applications.models import Application

    client = Client()
    headers = {"HTTP_AUTHORIZATION": "Bearer " + world["tokens"]["city_leader"]}
    numbers = sorted(Application.objects.values_list("number", flat=True))
    listed = client.get("/api/v1/applications", **headers).json()["results"]
    assert sorted(a["number"] for a in listed) == numbers
    assert {a["unit"]["code"] for a in listed} == {"ty-jinyuan"}
    assert client.get(f"/api/v1/applications/{world['residential']}", **headers).status_code == 200
    client.force_login(world["users"]["city_leader"])
    assert client.get(f"/workbench/applications/{world['residential']}/").status_code == 200
    # the sibling county's leader sees none of them through the list, with or without a filter
    sibling = {"HTTP_AUTHORIZATION": "Bearer " + world["tokens"]["sibling_leader"]}
    assert Client().get("/api/v1/applications", **sibling).json()["results"] == []
    other = Client().get("/api/v1/applications", {"unit": "ty-jinyuan"}, **sibling)
    assert (other.status_code, other.json()["message"]) == (403, "该单位不在您的管辖范围内。")
