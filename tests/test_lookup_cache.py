"""The public progress look-up's answer kept per version (sunshine/applications/progress.py): an
ETag and 304, a new answer for a changed application, a new day, a calendar edit or another
language; the kept body equals a freshly built one. The public API's lean middleware stack and the
CSP header built once (sunshine/ops/lean.py). API tokens looked up once per
SUNSHINE_TOKEN_CACHE_SECONDS: the revocation delay."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client, override_settings

from sunshine import caching
from sunshine.accounts.models import User
from sunshine.applications import progress
from sunshine.applications.models import Application
from sunshine.calendar import workdays
from sunshine.calendar.models import CalendarDay
from sunshine.ops.lean import lean_stack
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db

PUBLIC = "/api/v1/public/applications"
CSP = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "object-src 'none'",
}


def policy(response) -> set[str]:
    return set(response["Content-Security-Policy"].split("; "))


@pytest.fixture
def number(api_as) -> str:
    """An application accepted Thu 2026-11-26, its survey paused since Fri 11-27."""
    with time_machine.travel("2026-11-26 10:00 +0800", tick=False):
        r = api_as("clerk").post("/api/v1/applications", intake_body())
        assert r.status_code == 201, r.content
        n = r.json()["number"]
    with time_machine.travel("2026-11-27 10:00 +0800", tick=False):
        r = api_as("alice").post(
            f"/api/v1/applications/{n}/pause", {"reason_code": "missing_documents", "reason": "请补交房产证明"}
        )
        assert r.status_code == 200, r.content
    return n


def look(number: str, etag: str | None = None, language: str = "zh-hans", tail: str = "8000"):
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    if etag is not None:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return Client().get(f"{PUBLIC}/{number}", {"phone_tail": tail}, **headers)


def survey(response) -> dict:
    return next(s for s in response.json()["stages"] if s["code"] == "survey")


def test_an_unchanged_answer_is_304_and_each_change_gives_a_new_one(number, api_as):
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):  # Mon
        first = look(number)
        assert first.status_code == 200
        etag = first["ETag"]
        assert etag.startswith('"') and len(etag) == 34
        assert first["Cache-Control"] == "private, no-cache"
        assert survey(first)["deadline"] == "2026-12-01"

        again = look(number, etag)
        assert again.status_code == 304
        assert again.content == b""
        assert again["ETag"] == etag
        # A wrong phone tail never learns that the tag was right.
        assert look(number, etag, tail="0000").status_code == 404
        # Without the tag, the same body again.
        assert look(number).content == first.content

        # A change to the application (the stage resumes): a new version.
        r = api_as("alice").post(f"/api/v1/applications/{number}/resume")
        assert r.status_code == 200, r.content
        resumed = look(number, etag)
        assert resumed.status_code == 200
        assert resumed["ETag"] != etag
        assert resumed.json()["status"] == "in_progress"
        assert survey(resumed)["status"] == "in_progress"

    # A new day: the clocks moved (the survey, paused Fri and resumed Mon, is due Tue 12-01 and is
    # overdue on Wed 12-02).
    with time_machine.travel("2026-12-02 10:00 +0800", tick=False):
        next_day = look(number, resumed["ETag"])
        assert next_day.status_code == 200
        assert next_day["ETag"] not in {etag, resumed["ETag"]}
        assert (survey(resumed)["overdue"], survey(next_day)["overdue"]) == (False, True)

        # A calendar edit: Tue 12-01 becomes a holiday, so the survey is due Wed 12-02 (not overdue).
        CalendarDay.objects.create(date=date(2026, 12, 1), kind="holiday", name="测试")
        workdays.invalidate()
        edited = look(number, next_day["ETag"])
        assert edited.status_code == 200
        assert edited["ETag"] != next_day["ETag"]
        assert (survey(edited)["deadline"], survey(edited)["overdue"]) == ("2026-12-02", False)

        # Another language: another answer (labels and stage names), with its own tag.
        english = look(number, edited["ETag"], language="en")
        assert english.status_code == 200
        assert english["ETag"] != edited["ETag"]
        assert (english.json()["status_label"], survey(english)["name"]) == ("in progress", "Site survey")
        assert (edited.json()["status_label"], survey(edited)["name"]) == ("办理中", "现场勘查")
        assert look(number, english["ETag"], language="en").status_code == 304


def test_the_kept_body_equals_a_freshly_built_one(number):
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        built = look(number)  # built and kept
        kept = look(number)  # served from memory
        caching.clear_all()
        rebuilt = look(number)
        with override_settings(SUNSHINE_LOOKUP_CACHE_SIZE=0):
            uncached = look(number)
    assert built.content == kept.content == rebuilt.content == uncached.content
    assert built["ETag"] == kept["ETag"] == rebuilt["ETag"] == uncached["ETag"]
    body = built.json()
    assert (body["number"], body["status"], body["customer_name"]) == (number, "paused", "张*")
    assert body["customer_manager"] == {"name": "李爱", "phone": "0351-1111111"}


@override_settings(SUNSHINE_LOOKUP_CACHE_SIZE=1)
def test_a_full_cache_still_answers_each_application_with_its_own_body(number, api_as):
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        r = api_as("clerk").post(
            "/api/v1/applications",
            intake_body(
                customer__name="王五",
                customer__id_number="360426199101010071",
                customer__phone="13900139001",
                address="太原市晋源区晋祠路一段9号",
            ),
        )
        assert r.status_code == 201, r.content
        other = r.json()["number"]
        for _ in range(2):
            a, b = look(number), look(other, tail="9001")
            assert (a.json()["number"], a.json()["customer_name"]) == (number, "张*")
            assert (b.json()["number"], b.json()["customer_name"]) == (other, "王*")
            assert a["ETag"] != b["ETag"]


def test_a_staff_edit_of_the_managers_phone_gives_a_new_answer(number, personas):
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        before = look(number)
        personas["alice"].work_phone = "0351-2222222"
        personas["alice"].save()
        after = look(number, before["ETag"])
        assert after.status_code == 200
        assert after.json()["customer_manager"] == {"name": "李爱", "phone": "0351-2222222"}


def test_find_reads_one_row(number, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = progress.find(number)
    assert found is not None
    app = Application.objects.get(number=number)
    assert (found.id, found.number, found.phone) == (app.pk, number, "13800138000")
    assert found.phone_ends_with("8000") and not found.phone_ends_with("0000") and not found.phone_ends_with("")
    assert progress.find("YK0000000000000") is None


def test_a_kept_answer_costs_one_query(number, django_assert_num_queries):
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        look(number)
        with django_assert_num_queries(1):
            assert look(number).status_code == 200


# --- answers shared by the web processes (the shared cache) -----------------------------------------


def test_a_second_process_takes_the_kept_answer_from_the_shared_cache(number, django_assert_num_queries):
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        built = look(number)  # built here, kept here and in the shared cache
        progress.forget_here()  # another process: nothing kept in its memory
        with django_assert_num_queries(1):  # the row only: the answer comes from the shared cache
            shared = look(number)
        assert (shared.status_code, shared.content, shared["ETag"]) == (200, built.content, built["ETag"])
        # and is now kept in that process's memory too
        cache.clear()
        assert look(number).content == built.content


def test_a_changed_application_is_a_new_answer_at_once_in_every_process(number, api_as):
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        before = look(number)
        assert before.json()["status"] == "paused"
        r = api_as("alice").post(f"/api/v1/applications/{number}/resume")
        assert r.status_code == 200, r.content
        progress.forget_here()  # a process that kept nothing, and one that kept the old answer
        first = look(number)
        second = look(number, before["ETag"])
        for after in (first, second):
            assert after.status_code == 200
            assert after["ETag"] != before["ETag"]
            assert after.json()["status"] == "in_progress"


@override_settings(SUNSHINE_PUBLIC_LOOKUP_MISSES_PER_NUMBER=100)
def test_a_wrong_ending_gets_404_even_when_the_answer_is_kept(number):
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        right = look(number)
        assert right.status_code == 200
        for forget in (False, True):  # kept here; kept only in the shared cache
            if forget:
                progress.forget_here()
            for tail in ("0000", "8001", "800", "80000", "", "８０００"):
                wrong = look(number, right["ETag"], tail=tail)
                assert wrong.status_code == 404, tail
                assert wrong.json()["code"] == "application_not_found"
                assert "ETag" not in wrong
        assert look(number).content == right.content


def test_a_changed_phone_is_compared_afresh_and_decrypted_once(number, monkeypatch):
    decrypted: list[str] = []
    real = progress.decrypt

    def counted(stored: str) -> str:
        decrypted.append(stored)
        return real(stored)

    monkeypatch.setattr(progress, "decrypt", counted)
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        assert look(number).status_code == 200
        assert look(number).status_code == 200
        assert look(number, tail="1234").status_code == 404
        assert len(decrypted) == 1  # the ending of this stored phone is known from then on
        app = Application.objects.get(number=number)
        app.contact_phone = "13900001234"
        app.save(update_fields=["contact_phone", "contact_phone_index"])
        assert look(number, tail="8000").status_code == 404
        assert look(number, tail="1234").status_code == 200
        assert len(decrypted) == 2


def test_the_trials_database_cache_shares_nothing(number, settings):
    database = "django.core.cache.backends.db.DatabaseCache"
    settings.CACHES = {"default": {"BACKEND": database, "LOCATION": "sunshine_cache"}}
    assert progress._shared() is None


# --- the first build: one statement instead of the ORM's three ------------------------------------


IDS = ["110101199003074514", "360426199101010071", "11010519491231002X", "440524188001010014"]


def _walked(personas) -> list[str]:
    """Applications in every shape an answer has: just accepted; paused twice in one stage (the
    second pause running) and reassigned; a non-residential one with a skipped stage, completed;
    a high-voltage one with a failed review (defects) and then cancelled."""
    from sunshine.applications import services
    from sunshine.applications.validation import validate_intake

    def new(i: int, day: str, **extra) -> str:
        body = intake_body(
            customer__name=f"测试{i}",
            customer__id_number=IDS[i],
            customer__phone=f"1390000{i:04d}",
            address=f"太原市晋源区晋祠路{i}号",
            **extra,
        )
        with time_machine.travel(f"{day} 10:00 +0800", tick=False):
            return services.intake(validate_intake(body, date.fromisoformat(day)), personas["clerk"]).application.number

    def on(day: str):
        return time_machine.travel(f"{day} 11:00 +0800", tick=False)

    eng, alice = personas["engineer"], personas["alice"]
    fresh = new(0, "2026-11-02")
    paused = new(1, "2026-11-02")
    with on("2026-11-03"):
        services.complete_stage(paused, "survey", eng)
    with on("2026-11-04"):
        services.pause(paused, alice, reason_code="customer_request", reason="客户要求暂缓")
    with on("2026-11-06"):
        services.resume(paused, alice)
    held = Application.objects.get(number=paused).customer_manager
    other = "bob" if held is not None and held.username == "alice" else "alice"
    with on("2026-11-09"):
        services.reassign(paused, personas["leader"], username=other, reason="休假")
    with on("2026-11-10"):
        services.pause(paused, personas[other], reason_code="missing_documents", reason="缺少产权证明")
    skipped = new(2, "2026-11-02", category="lv_non_residential")
    for day, code in (("2026-11-03", "survey"), ("2026-11-05", "scheme")):
        with on(day):
            services.complete_stage(skipped, code, eng)
    with on("2026-11-05"):
        services.skip_stage(skipped, "grid_works", eng, reason="无需电网配套工程")
    with on("2026-11-09"):
        services.complete_stage(skipped, "connection", eng)
    failed = new(3, "2026-11-02", category="hv_single", requested_capacity=800, capacity_unit="kVA")
    with on("2026-11-03"):
        services.complete_stage(failed, "scheme", eng)
    with on("2026-11-09"):
        services.complete_stage(failed, "customer_design", alice)
    with on("2026-11-12"):
        services.complete_stage(failed, "design_review", eng, outcome="failed", defects=["配电室未设置挡鼠板"])
    with on("2026-11-13"):
        services.cancel(failed, alice, reason="客户撤回申请")
    return [fresh, paused, skipped, failed]


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_the_first_build_reads_what_the_orm_reads(personas, django_assert_num_queries):
    from django.utils import translation

    from sunshine.api import schemas
    from sunshine.api.errors import render
    from sunshine.applications import selectors
    from sunshine.applications.models import Pause, StageInstance

    numbers = _walked(personas)
    shapes = set()
    with time_machine.travel("2026-11-16 10:00 +0800", tick=False):
        today = date(2026, 11, 16)
        for number in numbers:
            found = progress.find(number)
            assert found is not None
            progress.parts(found)  # the process's stage templates, kept by the process (writes.templates)
            with django_assert_num_queries(1):
                app, stages, pauses = progress.parts(found)
            orm = progress.application(found)
            assert _fields(app) == _fields(orm)
            assert _fields(app.process) == _fields(orm.process)
            assert _fields(app.customer_manager) == _fields(orm.customer_manager)
            orm_stages = list(StageInstance.objects.filter(application=orm).select_related("template").order_by("seq"))
            assert [_fields(s) for s in stages] == [_fields(s) for s in orm_stages]
            assert [_fields(s.template) for s in stages] == [_fields(s.template) for s in orm_stages]
            orm_pauses = list(Pause.objects.filter(application=orm).order_by("started_at", "id"))
            assert {k: [_fields(p) for p in v] for k, v in pauses.items()} == {
                s.pk: [_fields(p) for p in orm_pauses if p.stage_id == s.pk]
                for s in orm_stages
                if any(p.stage_id == s.pk for p in orm_pauses)
            }
            for language in ("zh-hans", "en"):
                with translation.override(language):
                    fast = selectors.public_progress(app, today, stages=stages, pauses=pauses)
                    assert fast == selectors.public_progress(orm, today)
                    # rendered as it is: the bytes of the schema-validated body (what ninja sends)
                    validated = schemas.PublicProgress.model_validate(fast).model_dump()
                    assert render(fast) == render(validated)
            shapes.add((fast["status"], sum(len(s["pause_reasons"]) for s in fast["stages"])))
            shapes.update(s["status"] for s in fast["stages"])
    assert {("in_progress", 0), ("paused", 2), ("completed", 0), ("cancelled", 0), "skipped"} <= shapes


# --- the lean middleware stack of the public API ------------------------------------------------


def test_the_public_api_runs_the_lean_stack():
    assert lean_stack() == [
        "sunshine.ops.lean.LocaleMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "sunshine.ops.lean.OncePolicyCSPMiddleware",
        "sunshine.api.middleware.ApiErrorBodyMiddleware",
        "sunshine.ops.unavailable.DatabaseUnavailableMiddleware",
    ]


def test_public_answers_keep_the_security_headers_and_set_no_cookie(number, personas):
    c = Client()
    c.force_login(personas["alice"])  # a signed-in visitor: the public API still ignores the session
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        for r in (
            c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"}),
            c.get(f"{PUBLIC}/{number}", {"phone_tail": "0000"}),  # 404
            c.get("/api/v1/public/no-such-thing"),  # 404 of the router, with the error body
            c.get("/api/v1/public/time-limits"),
        ):
            assert policy(r) == CSP
            assert r["X-Frame-Options"] == "DENY"
            assert r["X-Content-Type-Options"] == "nosniff"
            assert r["Referrer-Policy"] == "same-origin"
            assert "Accept-Language" in r["Vary"]
            assert not r.cookies
        assert c.get("/api/v1/public/no-such-thing").json()["code"] == "not_found"
        # The full stack elsewhere: a staff page still sees the session, with the same policy.
        page = c.get("/workbench/")
        assert page.status_code == 200
        assert policy(page) == CSP


# --- token look-ups -----------------------------------------------------------------------------


@override_settings(SUNSHINE_TOKEN_CACHE_SECONDS=10)
def test_a_revoked_token_is_refused_within_the_cache_seconds(api_as, personas):
    with time_machine.travel("2026-11-30 10:00:00 +0800", tick=False):
        api = api_as("clerk")
        assert api.get("/api/v1/applications").status_code == 200
        # Another process deactivates the clerk (a bulk update: no signal reaches this process).
        User.objects.filter(pk=personas["clerk"].pk).update(is_active=False)
        assert api.get("/api/v1/applications").status_code == 200
    with time_machine.travel("2026-11-30 10:00:09 +0800", tick=False):
        assert api.get("/api/v1/applications").status_code == 200
    with time_machine.travel("2026-11-30 10:00:10 +0800", tick=False):
        assert api.get("/api/v1/applications").status_code == 401


@override_settings(SUNSHINE_TOKEN_CACHE_SECONDS=10)
def test_a_change_made_in_this_process_is_seen_at_once(api_as, personas):
    with time_machine.travel("2026-11-30 10:00:00 +0800", tick=False):
        api = api_as("clerk")
        assert api.get("/api/v1/applications").status_code == 200
        personas["clerk"].api_tokens.all().delete()
        assert api.get("/api/v1/applications").status_code == 401


@override_settings(SUNSHINE_TOKEN_CACHE_SECONDS=600)
def test_a_cached_token_still_expires_on_time(api_as, settings):
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        api = api_as("clerk")
        assert api.get("/api/v1/applications").status_code == 200
    hours = settings.SUNSHINE_TOKEN_TTL_HOURS
    with time_machine.travel(f"2026-11-30 {9 + hours}:59:55 +0800", tick=False):
        assert api.get("/api/v1/applications").status_code == 200  # read again and kept
    with time_machine.travel(f"2026-11-30 {10 + hours}:00:00 +0800", tick=False):
        assert api.get("/api/v1/applications").status_code == 401  # kept, but expired
