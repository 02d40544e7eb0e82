"""Provisional years, importing a State Council notice, re-projection, the admin and the check."""

from __future__ import annotations

import io
from datetime import date

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from sunshine.applications.models import Event, StageInstance
from sunshine.calendar import services, workdays
from sunshine.calendar.checks import check_provisional_years
from sunshine.calendar.models import CalendarChange, CalendarDay, CalendarYear, YearStatus
from tests.conftest import intake_body

# A made-up 2027 notice for the tests (the real one was not out when they were written). It makes
# Mon Jan 4 a day off, which the law alone would not, and Sun Feb 14 a working day.
NOTICE_2027 = """date,kind,name
2027-01-01,休,元旦
2027-01-02,休,元旦
2027-01-03,休,元旦
2027-01-04,休,元旦
2027-02-05,holiday,春节
2027-02-06,holiday,春节
2027-02-07,holiday,春节
2027-02-08,holiday,春节
2027-02-09,holiday,春节
2027-02-10,holiday,春节
2027-02-11,holiday,春节
2027-02-12,holiday,春节
2027-02-13,holiday,春节
2027-02-14,班,春节调休
2027-10-01,休,国庆节
2027-10-02,休,国庆节
2027-10-03,休,国庆节
2027-10-04,休,国庆节
2027-10-05,休,国庆节
2027-10-06,休,国庆节
2027-10-07,休,国庆节
2027-10-09,workday,国庆节调休
"""
SOURCE = "测试用：国务院办公厅关于2027年部分节假日安排的通知（假设）"


# The wording belongs to the translators; the tests pin the substance.
WARNING_2027 = "2027年节假日安排尚未按国务院"


def squash(text: str) -> str:
    """Drop whitespace (translations put spaces around numbers)."""
    return "".join(text.split())


def d(s: str) -> date:
    return date.fromisoformat(s)


# --- 2027 is provisional on a fresh database -----------------------------------------------------


@pytest.mark.django_db
def test_fresh_database_has_no_official_2027():
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert CalendarYear.objects.filter(status=YearStatus.OFFICIAL).count() == 2026 - 2004 + 1
    assert not CalendarDay.objects.filter(date__year=2027).exists()


@pytest.mark.django_db
def test_2027_provisional_days_are_the_statutory_ones_without_adjustment():
    # holidays.China(observed=False): 2027 Spring Festival is Feb 5 (Fri)–Feb 8 (Mon)
    assert workdays.is_working_day(d("2027-02-04"))
    assert not workdays.is_working_day(d("2027-02-05"))
    assert not workdays.is_working_day(d("2027-02-06"))
    assert not workdays.is_working_day(d("2027-02-08"))
    assert workdays.is_working_day(d("2027-02-09"))  # no bridging days are guessed
    assert not workdays.is_working_day(d("2027-01-01"))
    assert workdays.is_working_day(d("2027-01-04"))
    assert not workdays.is_working_day(d("2027-10-01"))
    assert workdays.is_working_day(d("2027-10-04"))
    assert not workdays.is_working_day(d("2027-02-13"))  # a plain Saturday: no 调休 is guessed
    assert workdays.add_working_days(d("2027-02-04"), 1) == d("2027-02-09")


@pytest.mark.django_db
def test_touches_provisional():
    assert workdays.touches_provisional(d("2026-12-30"), d("2027-01-04"))
    assert workdays.touches_provisional(d("2027-03-01"), d("2027-03-02"))
    assert not workdays.touches_provisional(d("2026-01-01"), d("2026-12-31"))
    assert not workdays.touches_provisional(d("2004-01-01"), d("2026-12-31"))


@pytest.mark.django_db
@time_machine.travel("2026-11-27 09:00 +0800", tick=False)
def test_check_warns_then_is_clean_after_the_notice(personas):
    warnings = check_provisional_years()
    assert [w.id for w in warnings] == ["sunshine.W001"]
    assert WARNING_2027 in squash(warnings[0].msg)
    err = io.StringIO()
    call_command("check", stdout=io.StringIO(), stderr=err)
    assert "sunshine.W001" in err.getvalue()

    services.apply_notice(
        2027,
        services.parse_notice_csv(NOTICE_2027),
        source=SOURCE,
        reason="2027年通知发布",
        actor=personas["admin"],
    )
    assert check_provisional_years() == []
    year = CalendarYear.objects.get(year=2027)
    assert year.status == YearStatus.OFFICIAL
    assert year.confirmed_by == personas["admin"]
    assert not workdays.touches_provisional(d("2027-01-01"), d("2027-12-31"))
    assert not workdays.is_working_day(d("2027-01-04"))
    assert not workdays.is_working_day(d("2027-02-09"))
    assert workdays.is_working_day(d("2027-02-14"))
    assert workdays.is_working_day(d("2027-10-09"))
    assert CalendarChange.objects.get(year=2027).reason == "2027年通知发布"


def test_check_does_not_crash_without_tables(monkeypatch):
    from django.db import OperationalError

    def boom(*_a, **_k):
        raise OperationalError("no such table: workcalendar_calendaryear")

    monkeypatch.setattr(workdays, "current", boom)
    assert check_provisional_years() == []


# --- re-projection ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_importing_the_notice_reprojects_open_deadlines(api_as, personas):
    with time_machine.travel("2026-12-30 10:00 +0800", tick=False):
        clerk = api_as("clerk")  # tokens are issued at the travelled time
        r = clerk.post("/api/v1/applications", intake_body())
        assert r.status_code == 201, r.content
        app = r.json()
        survey = app["stages"][1]
        assert survey["code"] == "survey"
        # day 1 = Thu Dec 31; Jan 1 is statutory, Jan 2–3 the weekend; day 2 = Mon Jan 4 (provisional)
        assert survey["deadline"] == "2027-01-04"
        assert survey["deadline_provisional"] is True
        acceptance_before = StageInstance.objects.get(application__number=app["number"], code="acceptance")

    with time_machine.travel("2026-12-31 09:00 +0800", tick=False):
        result = services.apply_notice(
            2027,
            services.parse_notice_csv(NOTICE_2027),
            source=SOURCE,
            reason="国务院2027年节假日通知",
            actor=personas["admin"],
        )
        assert result.stages_moved == 1
        stage = StageInstance.objects.get(application__number=app["number"], code="survey")
        assert stage.deadline == d("2027-01-05")
        assert stage.deadline_provisional is False
        acceptance = StageInstance.objects.get(application__number=app["number"], code="acceptance")
        assert (acceptance.deadline, acceptance.deadline_provisional) == (
            acceptance_before.deadline,
            acceptance_before.deadline_provisional,
        )

        event = Event.objects.get(application__number=app["number"], type="calendar_reprojected")
        assert event.data == {"from": "2027-01-04", "to": "2027-01-05", "reason": "国务院2027年节假日通知"}
        assert event.actor == personas["admin"]
        assert event.stage == "survey"

        clerk = api_as("clerk")
        r = clerk.get(f"/api/v1/applications/{app['number']}")
        assert r.status_code == 200, r.content
        survey = next(s for s in r.json()["stages"] if s["code"] == "survey")
        assert survey["deadline"] == "2027-01-05"
        assert survey["deadline_provisional"] is False
        r = clerk.get(f"/api/v1/applications/{app['number']}/events")
        assert r.status_code == 200, r.content
        types = [e["type"] for e in r.json()["results"]]
        assert "calendar_reprojected" in types

        # the same notice again moves nothing and logs no new event
        again = services.apply_notice(
            2027,
            services.parse_notice_csv(NOTICE_2027),
            source=SOURCE,
            reason="重复导入",
            actor=None,
        )
        assert again.stages_moved == 0
        assert Event.objects.filter(type="calendar_reprojected").count() == 1


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("date,kind,name\n2027-01-04,班,周一\n", "只有周六或周日"),
        ("date,kind,name\n2028-01-01,休,元旦\n", "不在2027年"),
        ("date,kind,name\n2027-01-01,休,元旦\n2027-01-01,休,元旦\n", "重复"),
        ("date,kind,name\n2027-13-01,休,元旦\n", "第2行"),
        ("date,kind,name\n2027-01-01,放假,元旦\n", "未知类型"),
        ("day,type\n2027-01-01,休\n", "date,kind,name"),
        ("date,kind,name\n2027-02-14,班,调休\n", "至少"),
    ],
)
def test_bad_notices_are_rejected_in_chinese_and_change_nothing(csv_text, message):
    before = CalendarDay.objects.count()
    with pytest.raises(ValidationError) as info:
        services.apply_notice(2027, services.parse_notice_csv(csv_text), source=SOURCE, reason="测试", actor=None)
    assert message in squash(" ".join(info.value.messages))
    assert CalendarDay.objects.count() == before
    assert not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.django_db
def test_holiday_on_a_weekend_is_fine_and_reason_is_required():
    days = [(d("2027-01-02"), "holiday", "元旦")]
    with pytest.raises(ValidationError):
        services.apply_notice(2027, days, source=SOURCE, reason="  ", actor=None)
    assert not CalendarYear.objects.filter(year=2027).exists()
    services.import_year(2027, days, SOURCE, None)
    assert CalendarDay.objects.get(date=d("2027-01-02")).kind == "holiday"


@pytest.mark.django_db
def test_import_replaces_the_year_and_leaves_other_years_alone():
    before_2026 = list(CalendarDay.objects.filter(date__year=2026).values_list("date", "kind"))
    services.import_year(2026, [(d("2026-01-01"), "holiday", "元旦")], "更正", None)
    assert list(CalendarDay.objects.filter(date__year=2026).values_list("date", "kind")) == [
        (d("2026-01-01"), "holiday")
    ]
    assert CalendarDay.objects.filter(date__year=2025).exists()
    assert not workdays.is_working_day(d("2026-01-01"))
    assert not workdays.is_working_day(d("2026-01-04"))  # no longer a working Sunday
    assert workdays.is_working_day(d("2026-02-16"))  # no longer off
    assert len(before_2026) > 30


def test_parse_accepts_english_chinese_bom_and_slashes():
    rows = services.parse_notice_csv("\ufeffdate,kind,name\n2027/01/01,休,元旦\n\n2027-02-14,workday,\n")
    assert rows == [(d("2027-01-01"), "holiday", "元旦"), (d("2027-02-14"), "workday", "")]
    assert services.decode_upload("date,kind,name\n2027-01-01,休,元旦\n".encode("gb18030")).endswith("元旦\n")


# --- management command -------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_calendar_command(tmp_path, personas):
    path = tmp_path / "2027.csv"
    path.write_text(NOTICE_2027, encoding="utf-8")
    out = io.StringIO()
    call_command("import_calendar", str(path), year=2027, source=SOURCE, reason="通知", user="admin", stdout=out)
    assert "22 days" in out.getvalue()
    assert CalendarYear.objects.get(year=2027).status == YearStatus.OFFICIAL
    assert CalendarDay.objects.filter(date__year=2027).count() == 22

    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind,name\n2027-03-03,班,周三\n", encoding="utf-8")
    with pytest.raises(CommandError, match="只有周六或周日"):
        call_command("import_calendar", str(bad), year=2027, source=SOURCE, reason="通知")
    with pytest.raises(CommandError):
        call_command("import_calendar", str(tmp_path / "missing.csv"), year=2027, source=SOURCE, reason="x")
    assert CalendarDay.objects.filter(date__year=2027).count() == 22


# --- the admin ----------------------------------------------------------------------------------


def _admin_client(personas) -> Client:
    client = Client()
    client.force_login(personas["admin"])
    return client


@pytest.mark.django_db
@time_machine.travel("2026-11-27 09:00 +0800", tick=False)
def test_admin_warns_and_imports_a_notice(personas):
    client = _admin_client(personas)
    r = client.get("/admin/workcalendar/calendaryear/")
    assert r.status_code == 200
    shown = [str(m) for m in r.context["messages"]]
    assert any(WARNING_2027 in squash(m) for m in shown), shown
    assert b"/admin/workcalendar/calendaryear/import/" in r.content

    r = client.get("/admin/workcalendar/calendaryear/import/")
    assert r.status_code == 200

    # the reason is required
    upload = SimpleUploadedFile("2027.csv", NOTICE_2027.encode("utf-8"), content_type="text/csv")
    r = client.post(
        "/admin/workcalendar/calendaryear/import/",
        {"year": 2027, "status": "official", "source": SOURCE, "reason": "", "csv_file": upload},
    )
    assert r.status_code == 200
    assert not CalendarYear.objects.filter(year=2027).exists()

    upload = SimpleUploadedFile("2027.csv", NOTICE_2027.encode("gb18030"), content_type="text/csv")
    r = client.post(
        "/admin/workcalendar/calendaryear/import/",
        {"year": 2027, "status": "official", "source": SOURCE, "reason": "通知已发布", "csv_file": upload},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    year = CalendarYear.objects.get(year=2027)
    assert (year.status, year.confirmed_by) == (YearStatus.OFFICIAL, personas["admin"])
    assert CalendarDay.objects.filter(date__year=2027).count() == 22
    change = CalendarChange.objects.get(year=2027)
    assert "2027" in change.reason and "admin" in change.reason and "通知已发布" in change.reason
    assert not workdays.is_working_day(d("2027-01-04"))

    r = client.get("/admin/workcalendar/calendaryear/")
    assert not any(WARNING_2027 in squash(str(m)) for m in r.context["messages"])


@pytest.mark.django_db
def test_admin_rejects_a_bad_csv(personas):
    client = _admin_client(personas)
    upload = SimpleUploadedFile("bad.csv", b"date,kind,name\n2027-03-03,\xe7\x8f\xad,x\n", content_type="text/csv")
    r = client.post(
        "/admin/workcalendar/calendaryear/import/",
        {"year": 2027, "status": "official", "source": SOURCE, "reason": "x", "csv_file": upload},
    )
    assert r.status_code == 200
    assert "只有周六或周日" in r.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.django_db
def test_admin_day_edit_reprojects(api_as, personas):
    with time_machine.travel("2026-12-30 10:00 +0800", tick=False):
        clerk = api_as("clerk")
        number = clerk.post("/api/v1/applications", intake_body()).json()["number"]
        client = _admin_client(personas)
        r = client.post(
            "/admin/workcalendar/calendarday/add/",
            {"date": "2027-01-04", "kind": "holiday", "name": "元旦", "source": "测试"},
        )
        assert r.status_code == 302, r.content.decode()[:2000]
        stage = StageInstance.objects.get(application__number=number, code="survey")
        assert stage.deadline == d("2027-01-05")
        assert stage.deadline_provisional is True  # 2027 still not confirmed
        event = Event.objects.get(application__number=number, type="calendar_reprojected")
        assert "2027" in event.data["reason"] and "admin" in event.data["reason"]

        day = CalendarDay.objects.get(date=d("2027-01-04"))
        r = client.post(f"/admin/workcalendar/calendarday/{day.pk}/delete/", {"post": "yes"})
        assert r.status_code == 302
        stage.refresh_from_db()
        assert stage.deadline == d("2027-01-04")

        r = client.post(
            "/admin/workcalendar/calendarday/add/",
            {"date": "2027-01-05", "kind": "workday", "name": "x", "source": "测试"},
        )
        assert r.status_code == 200  # a Tuesday cannot be an adjusted working day
        assert not CalendarDay.objects.filter(date=d("2027-01-05")).exists()
