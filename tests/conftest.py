"""Shared fixtures: personas, an API client, and a fresh calendar for every test."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from sunshine.accounts.models import Role, ServiceArea, Unit, UnitKind, User
from sunshine.calendar import workdays


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """Each test sees the calendar table as its own transaction left it."""
    workdays.invalidate()
    yield
    workdays.invalidate()


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Per-process caches (sunshine/caching.py) start empty: a rolled-back edit sends no signal."""
    from sunshine import caching

    caching.clear_all()
    yield
    caching.clear_all()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language (zh-Hans), whatever the test before activated."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# What a test that needs PostgreSQL says when it is skipped.
NEEDS_POSTGRES = "run with DATABASE_URL=postgres://… (apt-get install postgresql)"

# CI runs the date-sensitive modules again with "today" at awkward dates (.ci/run): every test
# starts at 10:00 Beijing time on SUNSHINE_TEST_TODAY (YYYY-MM-DD), the clock running; a test's
# own time_machine.travel still wins inside it.
TEST_TODAY = os.environ.get("SUNSHINE_TEST_TODAY", "")


@pytest.fixture(autouse=True)
def _test_today():
    if not TEST_TODAY:
        yield
        return
    import time_machine

    with time_machine.travel(f"{TEST_TODAY} 10:00 +0800", tick=True):
        yield


_SEED: dict[str, str] = {}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's set-up, then a snapshot of what the migrations seeded (calendar, processes,
    fee catalogue, notification templates, …) for ``ensure_seed``."""
    from django.apps import apps
    from django.core import serializers

    ours = [m for m in apps.get_models() if m.__module__.startswith("sunshine.")]
    with django_db_blocker.unblock():
        _SEED["default"] = serializers.serialize(
            "json", [obj for model in ours for obj in model._default_manager.order_by("pk")]
        )
    yield


def ensure_seed() -> None:
    """Put back the seeded data when a transactional test's flush emptied the tables."""
    from django.core import serializers
    from django.db import connection, transaction

    from sunshine.calendar.models import CalendarYear

    if CalendarYear.objects.exists() or not _SEED:
        return
    by_model: dict[Any, list[Any]] = {}
    for obj in serializers.deserialize("json", _SEED["default"]):
        by_model.setdefault(type(obj.object), []).append(obj)
    with transaction.atomic(), connection.constraint_checks_disabled():
        for model, objs in by_model.items():
            model._default_manager.bulk_create([o.object for o in objs])
        for objs in by_model.values():
            for o in objs:
                for name, values in (o.m2m_data or {}).items():
                    getattr(o.object, name).set(values)
    workdays.invalidate()


def _is_transactional(item) -> bool:
    fixtures = getattr(item, "fixturenames", ())
    marker = item.get_closest_marker("django_db")
    transactional = bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    return transactional or "transactional_db" in fixtures or "live_server" in fixtures


@pytest.fixture(autouse=True)
def _reseed_transactional(request):
    if _is_transactional(request.node):
        request.getfixturevalue("transactional_db")
        ensure_seed()
    yield


def make_user(username: str, role: str, **extra: Any) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, role=role, **extra)
    return user


@pytest.fixture
def area(db) -> ServiceArea:
    return ServiceArea.objects.create(code="jinyuan", name="晋源区", keywords="晋源区,晋祠")


# A small province (issue 19): the installation's one unit becomes 山西, with two cities; 太原 has
# two districts, 晋源区 a service hall.
PROVINCE = [
    ("ty", "太原供电公司", UnitKind.CITY, "sx"),
    ("ty-jinyuan", "晋源区供电公司", UnitKind.COUNTY, "ty"),
    ("ty-jinyuan-jinci", "晋祠营业厅", UnitKind.HALL, "ty-jinyuan"),
    ("ty-xiaodian", "小店区供电公司", UnitKind.COUNTY, "ty"),
    ("dt", "大同供电公司", UnitKind.CITY, "sx"),
    ("dt-pingcheng", "平城区供电公司", UnitKind.COUNTY, "dt"),
]


def build_province() -> dict[str, Unit]:
    """The units of ``PROVINCE`` by code (``sx`` the top one, the migration's unit renamed)."""
    top = Unit.objects.get(parent__isnull=True)
    top.code, top.name, top.kind = "sx", "山西省电力公司", UnitKind.PROVINCE
    top.save()
    units = {"sx": top}
    for code, name, kind, parent in PROVINCE:
        units[code] = Unit.objects.create(code=code, name=name, kind=kind, parent=units[parent])
    return units


@pytest.fixture
def province(db) -> dict[str, Unit]:
    return build_province()


@pytest.fixture
def personas(db, area) -> dict[str, User]:
    """A clerk, two customer managers (Alice first), an engineer, a leader, an auditor, an admin
    and an outsider with no role."""
    alice = make_user(
        "alice",
        Role.CUSTOMER_MANAGER,
        last_name="李",
        first_name="爱",
        work_phone="0351-1111111",
        mobile_phone="13911110001",
    )
    bob = make_user(
        "bob",
        Role.CUSTOMER_MANAGER,
        last_name="包",
        first_name="博",
        work_phone="0351-2222222",
        mobile_phone="13922220002",
    )
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


# --- browser tests (Playwright driving Debian's Chromium; never `playwright install`) -----------

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
OFFICE = {"width": 1366, "height": 768}
OFFICE_900 = {"width": 1366, "height": 900}  # the office size of the layout tour (test_browser_layout)
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the session; skips where Chromium is absent (a newcomer's laptop)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM}: `apt-get install chromium` (CI installs it)")
    # Playwright's sync API runs an event loop; Django's ORM in the test thread must still work.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class BrowserPage:
    """A page in its own browser context, bound to the live server, that records console errors
    (a Content-Security-Policy violation is one) so a test fails on them."""

    def __init__(self, browser, base_url: str, viewport: dict[str, int], mobile: bool = False) -> None:
        self.base_url = base_url
        self.context = browser.new_context(
            viewport=viewport, locale="zh-CN", is_mobile=mobile, has_touch=mobile, base_url=base_url
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def login(self, user: User) -> None:
        """Sign in through the session cookie (the login form has its own test)."""
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        self.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": self.base_url}])

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def office_page(browser, live_server):
    """An office screen (1366×768). Fails the test on any console error or CSP violation.
    Browser tests are transactional (the live server is another thread): they run last, and
    ``_reseed_transactional`` puts back the seeded calendar and processes."""
    bp = BrowserPage(browser, live_server.url, OFFICE)
    yield bp
    errors = list(bp.errors)
    bp.close()
    assert errors == [], f"console errors: {errors}"


@pytest.fixture
def phone_page(browser, live_server):
    """A phone (390×844, touch). Fails the test on any console error or CSP violation."""
    bp = BrowserPage(browser, live_server.url, PHONE, mobile=True)
    yield bp
    errors = list(bp.errors)
    bp.close()
    assert errors == [], f"console errors: {errors}"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Transactional tests (browser tests, thread races) run last: their teardown flushes the
    tables, seeded calendar included, and the tests that read the seed outside a transaction
    (module fixtures) must run before that. Each transactional test that needs the seed gets it
    back through serialized rollback."""

    items[:] = [i for i in items if not _is_transactional(i)] + [i for i in items if _is_transactional(i)]
