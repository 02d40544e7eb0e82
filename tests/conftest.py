"""Shared fixtures: personas, an API client, and a fresh calendar for every test."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from sunshine.accounts.models import Role, ServiceArea, User
from sunshine.calendar import workdays


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """Each test sees the calendar table as its own transaction left it."""
    workdays.invalidate()
    yield
    workdays.invalidate()


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def make_user(username: str, role: str, **extra: Any) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, role=role, **extra)
    return user


@pytest.fixture
def area(db) -> ServiceArea:
    return ServiceArea.objects.create(code="jinyuan", name="晋源区", keywords="晋源区,晋祠")


@pytest.fixture
def personas(db, area) -> dict[str, User]:
    """A clerk, two customer managers (Alice first), an engineer, a leader, an auditor, an admin
    and an outsider with no role."""
    alice = make_user("alice", Role.CUSTOMER_MANAGER, last_name="李", first_name="爱", work_phone="0351-1111111")
    bob = make_user("bob", Role.CUSTOMER_MANAGER, last_name="包", first_name="博", work_phone="0351-2222222")
    alice.areas.add(area)
    bob.areas.add(area)
    return {
        "clerk": make_user("clerk", Role.CLERK),
        "alice": alice,
        "bob": bob,
        "engineer": make_user("engineer", Role.ENGINEER),
        "leader": make_user("leader", Role.LEADER),
        "auditor": make_user("auditor", Role.AUDITOR),
        "admin": make_user("admin", Role.ADMIN, is_staff=True, is_superuser=True),
        "outsider": make_user("outsider", ""),
    }


class ApiClient:
    """Calls the API as one user with a bearer token (or anonymously)."""

    def __init__(self, user: User | None = None, language: str | None = None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if language:
            self.headers["HTTP_ACCEPT_LANGUAGE"] = language
        if user is not None:
            r = self.client.post(
                "/api/v1/auth/token",
                json.dumps({"username": user.username, "password": "pw-" + user.username}),
                content_type="application/json",
            )
            assert r.status_code == 200, r.content
            self.headers["HTTP_AUTHORIZATION"] = "Bearer " + r.json()["token"]

    def get(self, path: str, **params: Any):
        return self.client.get(path, params, **self.headers)

    def post(self, path: str, body: Any = None, **headers: str):
        data = json.dumps(body if body is not None else {}, ensure_ascii=False)
        return self.client.post(path, data, content_type="application/json", **self.headers, **headers)


@pytest.fixture
def api_as(personas):
    def _make(name: str | None, language: str | None = None) -> ApiClient:
        return ApiClient(personas[name] if name else None, language)

    return _make


def intake_body(**overrides: Any) -> dict[str, Any]:
    """A valid residential counter intake (the example of api-v1.md)."""
    body: dict[str, Any] = {
        "category": "lv_residential",
        "business_type": "new_connection",
        "channel": "counter",
        "customer": {
            "name": "张三",
            "id_type": "resident_id",
            "id_number": "11010519491231002X",
            "phone": "13800138000",
        },
        "address": "太原市晋源区晋祠路一段1号",
        "requested_capacity": 8,
        "capacity_unit": "kW",
        "key_project": False,
    }
    for key, value in overrides.items():
        if key.startswith("customer__"):
            body["customer"][key.split("__", 1)[1]] = value
        else:
            body[key] = value
    return body
