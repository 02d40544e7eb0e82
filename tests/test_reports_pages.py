"""Report pages: who may see and do what, ad-hoc reports through the job, downloads, open data.

Built on the story of ``test_reports`` (1–15 October 2026)."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from sunshine.ops.demo.reports import ensure_demo_reports
from sunshine.reports import services
from sunshine.reports.models import Kind, Report, ReportEvent, ReportStatus
from sunshine.reports.tasks import build_report
from tests.test_reports import _Tables, at, build_story, by_key, generate


@pytest.fixture
def story(personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_story()


def logged_in(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


# --- access --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("leader", 200),
        ("auditor", 200),
        ("admin", 200),
        ("alice", 403),
        ("clerk", 403),
        ("engineer", 403),
        ("outsider", 403),
    ],
)
def test_reports_are_for_leaders_auditors_and_administrators(story, personas, who, status):
    report = generate()
    c = logged_in(personas[who])
    assert c.get("/workbench/reports/").status_code == status
    assert c.get(f"/workbench/reports/{report.pk}/").status_code == status
    assert c.get(f"/workbench/reports/{report.pk}/download/pdf/").status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(story):
    report = generate()
    r = Client().get(f"/workbench/reports/{report.pk}/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_the_list_shows_every_version_with_a_fixed_number_of_queries(story, personas, django_assert_max_num_queries):
    first = generate()
    with at("2026-10-16", "09:00"):
        services.regenerate(first.pk, actor=personas["leader"], reason="补录数据")
    c = logged_in(personas["leader"])
    with django_assert_max_num_queries(12):
        r = c.get("/workbench/reports/")
    html = r.content.decode()
    assert "2026-10-01 – 2026-10-15" in html
    assert "第 1 版" in html and "第 2 版" in html and "补录数据" in html


def test_downloads_are_the_stored_files(story, personas):
    report = generate()
    c = logged_in(personas["leader"])
    r = c.get(f"/workbench/reports/{report.pk}/download/xlsx/")
    assert r.status_code == 200
    assert r["Content-Disposition"] == 'attachment; filename="half-month-2026-10-01-v1.xlsx"'
    assert b"".join(r.streaming_content) == services.file_path(report, "xlsx").read_bytes()
    r = c.get(f"/workbench/reports/{report.pk}/download/pdf/")
    assert b"".join(r.streaming_content)[:5] == b"%PDF-"
    assert c.get(f"/workbench/reports/{report.pk}/download/doc/").status_code == 404
    assert c.get("/workbench/reports/999999/").status_code == 404


# --- regenerate ----------------------------------------------------------------------------------


def test_a_leader_regenerates_with_a_reason_and_the_old_version_stays(story, personas):
    report = generate()
    with at("2026-10-16", "09:00"):
        c = logged_in(personas["leader"])  # signed in that morning (a session lasts 8 hours)
        r = c.post(f"/workbench/reports/{report.pk}/regenerate/", {"reason": "日历更正"})
        new = Report.objects.get(kind=Kind.HALF_MONTH, version=2)
        assert r.status_code == 302 and r["Location"] == f"/workbench/reports/{new.pk}/"
        assert (new.reason, new.requested_by) == ("日历更正", personas["leader"])
        page = c.get(f"/workbench/reports/{new.pk}/").content.decode()
        assert f'href="/workbench/reports/{report.pk}/"' in page  # the list of versions links the old one
        assert c.get(f"/workbench/reports/{report.pk}/").status_code == 200


@pytest.mark.parametrize("reason", ["", "   "])
def test_regenerating_without_a_reason_changes_nothing(story, personas, reason):
    report = generate()
    c = logged_in(personas["leader"])
    r = c.post(f"/workbench/reports/{report.pk}/regenerate/", {"reason": reason}, follow=True)
    assert "请填写重新生成报表的原因。" in r.content.decode()
    assert Report.objects.count() == 1


def test_an_auditor_may_read_but_not_regenerate(story, personas):
    report = generate()
    events = ReportEvent.objects.count()
    r = logged_in(personas["auditor"]).post(f"/workbench/reports/{report.pk}/regenerate/", {"reason": "想看看"})
    assert r.status_code == 403
    assert Report.objects.count() == 1 and ReportEvent.objects.count() == events


# --- ad-hoc reports ------------------------------------------------------------------------------


def test_an_ad_hoc_report_is_computed_by_the_job_and_polled_until_ready(
    story, personas, django_capture_on_commit_callbacks
):
    """Alice's applications in the same fortnight: B8, B2, B5, B7 (A1 was completed in September)."""
    c = logged_in(personas["leader"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = c.post(
            "/workbench/reports/adhoc/",
            {
                "period_start": "2026-10-01",
                "period_end": "2026-10-15",
                "manager": "alice",
                "category": "lv_residential",
            },
        )
    report = Report.objects.get(kind=Kind.ADHOC)
    assert r.status_code == 302 and r["Location"] == f"/workbench/reports/{report.pk}/"
    assert len(callbacks) == 1  # the job is enqueued only once the request's transaction commits
    assert report.status == ReportStatus.PENDING
    assert report.filters == {"category": "lv_residential", "manager": "alice"}
    # while it waits, the page shows the progress bar that htmx polls
    page = c.get(f"/workbench/reports/{report.pk}/").content.decode()
    assert f'hx-get="/workbench/reports/{report.pk}/status/"' in page and 'hx-trigger="every 1s"' in page
    poll = c.get(f"/workbench/reports/{report.pk}/status/", HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and "<progress" in poll.content.decode() and "HX-Redirect" not in poll
    # the worker runs the job
    with at("2026-10-16", "10:00"):
        assert build_report.call(report.pk) == "done"
    assert build_report.call(report.pk) == "done"  # idempotent
    poll = c.get(f"/workbench/reports/{report.pk}/status/", HTTP_HX_REQUEST="true")
    assert poll["HX-Redirect"] == f"/workbench/reports/{report.pk}/"
    report.refresh_from_db()
    sections = by_key(report)
    assert report.data["meta"]["filters_zh"] == "类别：低压居民；客户经理：李爱"
    assert sections["volume_category"]["rows"] == [["低压居民", 3, 0, 1, 3], ["合计", 3, 0, 1, 3]]
    assert [r[0] for r in sections["overdue"]["rows"]] == [story["B8"]]
    assert sections["key_projects"]["empty"] is True  # B4 is Bob's
    parser = _Tables()
    parser.feed(c.get(f"/workbench/reports/{report.pk}/").content.decode())
    assert parser.tables["volume_category"][1] == ["低压居民", "3", "0", "1", "3"]
    assert services.file_path(report, "xlsx").exists() and services.file_path(report, "pdf").exists()


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"period_start": "2026-10-15", "period_end": "2026-10-01"}, "period_end", "结束日期不能早于开始日期。"),
        ({"period_start": "15/10/2026", "period_end": "2026-10-01"}, "period_start", "请输入日期（年-月-日）。"),
        (
            {"period_start": "2026-10-01", "period_end": "2026-10-15", "manager": "clerk"},
            "manager",
            "没有此用户名的客户经理。",
        ),
        ({"period_start": "2026-10-01", "period_end": "2026-10-15", "area": "mars"}, "area", "未知的供电区域。"),
        ({"period_start": "2026-10-01", "period_end": "2026-10-15", "category": "x"}, "category", "未知的类别。"),
    ],
)
def test_a_bad_ad_hoc_request_says_what_is_wrong_and_queues_nothing(story, personas, form, field, message):
    r = logged_in(personas["leader"]).post("/workbench/reports/adhoc/", form)
    assert r.status_code == 400
    html = r.content.decode()
    assert message in html and f'id="id_{field}"' in html
    assert not Report.objects.exists()


def test_a_customer_manager_cannot_request_an_ad_hoc_report(story, personas):
    r = logged_in(personas["alice"]).post(
        "/workbench/reports/adhoc/", {"period_start": "2026-10-01", "period_end": "2026-10-15"}
    )
    assert r.status_code == 403
    assert not Report.objects.exists()


# --- open data -----------------------------------------------------------------------------------


def test_an_administrator_publishes_the_sections_that_name_no_one(story, personas, django_assert_max_num_queries):
    report = generate()
    assert Client().get(f"/open-data/{report.pk}/").status_code == 404  # not yet published
    c = logged_in(personas["admin"])
    page = c.get(f"/workbench/reports/{report.pk}/").content.decode()
    assert 'value="overdue"' not in page and 'value="key_projects"' not in page  # personal: never offered
    r = c.post(
        f"/workbench/reports/{report.pk}/publish/",
        {"action": "publish", "sections": ["headline", "volume_category", "durations", "on_time", "pauses", "overdue"]},
    )
    assert r.status_code == 302
    report.refresh_from_db()
    assert report.published_sections == ["headline", "volume_category", "durations", "on_time", "pauses"]
    assert report.published_by == personas["admin"]
    with django_assert_max_num_queries(3):
        index = Client().get("/open-data/")
    assert f'href="/open-data/{report.pk}/"' in index.content.decode()
    public = Client().get(f"/open-data/{report.pk}/").content.decode()
    parser = _Tables()
    parser.feed(public)
    assert list(parser.tables) == ["headline", "volume_category", "durations", "on_time", "pauses"]
    assert parser.tables["volume_category"][-1] == ["合计", "6", "1", "1", "6"]
    for personal in ("赵八", "李三", "吴四重点", "李爱", "包博", story["B8"], story["B3"], story["B4"]):
        assert personal not in public
    # withdrawn: gone from the portal
    c.post(f"/workbench/reports/{report.pk}/publish/", {"action": "withdraw"})
    assert Client().get(f"/open-data/{report.pk}/").status_code == 404


@pytest.mark.parametrize("who", ["leader", "auditor"])
def test_only_an_administrator_may_publish(story, personas, who):
    report = generate()
    r = logged_in(personas[who]).post(f"/workbench/reports/{report.pk}/publish/", {"sections": ["headline"]})
    assert r.status_code == 403
    report.refresh_from_db()
    assert report.published_at is None and report.published_sections == []


def test_the_demo_gets_the_previous_and_the_current_half_month(story):
    with at("2026-10-20", "08:00"):
        made = ensure_demo_reports()
        again = ensure_demo_reports()
    assert [(r.period_start, r.period_end) for r in made] == [
        (date(2026, 10, 1), date(2026, 10, 15)),
        (date(2026, 10, 16), date(2026, 10, 31)),
    ]
    assert [r.pk for r in again] == [r.pk for r in made]


# --- API ----------------------------------------------------------------------------------------


def test_the_api_returns_the_stored_snapshot_to_readers_only(story, api_as):
    report = generate()
    r = api_as("leader").get("/api/v1/reports")
    assert r.status_code == 200
    assert r.json() == [
        {
            "id": report.pk,
            "kind": "half_month",
            "period_start": "2026-10-01",
            "period_end": "2026-10-15",
            "version": 1,
            "reason": "",
            "generated_at": report.generated_at.isoformat(),
            "unit": None,
        }
    ]
    one = api_as("auditor").get(f"/api/v1/reports/{report.pk}").json()
    assert one["data"]["sections"][1]["rows"][-1] == ["合计", 6, 1, 1, 6]
    assert api_as("alice").get("/api/v1/reports").status_code == 403
    assert api_as("leader").get("/api/v1/reports/999999").status_code == 404
