"""The application page (/workbench/applications/<number>/) through the Django test client.

November 2026 has no holidays: Mon 2 ... Fri 6, Sat 7, Sun 8, Mon 9 ... Fri 13.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sunshine import caching
from sunshine.applications import services
from sunshine.applications.models import Application, Event, Pause, StageInstance
from sunshine.applications.validation import validate_intake
from sunshine.calendar import workdays
from tests.conftest import intake_body

D = date


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


def new_app(actor, category: str = "lv_residential", when: str = "2026-11-02", **overrides: Any) -> Application:
    if category.startswith("hv"):
        overrides.setdefault("requested_capacity", 800)
        overrides.setdefault("capacity_unit", "kVA")
    with at(when):
        data = validate_intake(intake_body(category=category, **overrides), D.fromisoformat(when))
        return services.intake(data, actor).application


def url(app: Application, action: str = "") -> str:
    base = f"/workbench/applications/{app.number}/"
    return base + (f"{action}/" if action else "")


def client_for(user) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def text(html: bytes) -> str:
    """The page's visible text, tags stripped and whitespace collapsed."""
    s = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", s)).strip()


def snapshot(app: Application) -> tuple:
    app.refresh_from_db()
    return (
        app.status,
        app.current_stage,
        app.customer_manager_id,
        list(StageInstance.objects.filter(application=app).order_by("seq").values_list("code", "round", "status")),
        Event.objects.filter(application=app).count(),
        Pause.objects.filter(application=app).count(),
    )


@pytest.fixture
def app(personas) -> Application:
    return new_app(personas["clerk"])  # assigned to alice (fewest open, then username)


# --- who may open the page ------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(app):
    r = Client().get(url(app))
    assert r.status_code == 302
    assert r["Location"] == f"/accounts/login/?next=/workbench/applications/{app.number}/"


@pytest.mark.parametrize("who", ["clerk", "alice", "engineer", "leader", "auditor", "admin"])
def test_staff_who_may_see_the_case_get_the_page(personas, app, who):
    with at("2026-11-02", "11:00"):
        r = client_for(personas[who]).get(url(app))
    assert r.status_code == 200
    page = text(r.content)
    assert app.number in page
    assert "张三" in page
    assert "现场勘查" in page


def test_another_customer_manager_gets_403_and_sees_nothing(personas, app):
    assert app.customer_manager.username == "alice"
    r = client_for(personas["bob"]).get(url(app))
    assert r.status_code == 403
    assert "张三" not in r.content.decode()
    assert "您无权查看此申请" in text(r.content) or "无权" in text(r.content)


def test_a_user_without_a_role_gets_403(personas, app):
    r = client_for(personas["outsider"]).get(url(app))
    assert r.status_code == 403


def test_an_unknown_number_is_404(personas):
    r = client_for(personas["leader"]).get("/workbench/applications/YK0000000000000/")
    assert r.status_code == 404


# --- the customer card: masked by default, every unmasking logged ----------------------------------


def test_id_and_phone_are_masked_by_default(personas, app):
    page = client_for(personas["alice"]).get(url(app)).content.decode()
    assert "1101**********002X" in page
    assert "138****8000" in page
    assert "11010519491231002X" not in page
    assert "13800138000" not in page


@pytest.mark.parametrize("who", ["alice", "leader", "auditor", "admin"])
def test_allowed_roles_reveal_the_full_value_and_it_is_logged(personas, app, who):
    c = client_for(personas[who])
    assert 'id="reveal-id_number"' in c.get(url(app)).content.decode()
    with at("2026-11-03", "09:30"):
        r = c.post(url(app, "reveal/id_number"), HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert r.content.decode().strip() == '<span class="pii-value" data-field="id_number">11010519491231002X</span>'
    e = Event.objects.filter(application=app, type="pii_viewed").get()
    assert (e.actor.username, e.data, e.stage) == (who, {"field": "id_number"}, None)
    assert e.at.isoformat() == "2026-11-03T01:30:00+00:00"


def test_reveal_without_htmx_shows_the_page_with_the_value(personas, app):
    r = client_for(personas["alice"]).post(url(app, "reveal/phone"))
    assert r.status_code == 200
    page = r.content.decode()
    assert '<span class="pii-value" data-field="phone">13800138000</span>' in page
    assert "1101**********002X" in page  # the other field stays masked
    assert list(Event.objects.filter(application=app, type="pii_viewed").values_list("data", flat=True)) == [
        {"field": "phone"}
    ]


@pytest.mark.parametrize("who", ["clerk", "engineer"])
def test_other_roles_have_no_show_button_and_cannot_reveal(personas, app, who):
    c = client_for(personas[who])
    assert "reveal-id_number" not in c.get(url(app)).content.decode()
    r = c.post(url(app, "reveal/id_number"), HTTP_HX_REQUEST="true")
    assert r.status_code == 403
    assert "11010519491231002X" not in r.content.decode()
    assert not Event.objects.filter(application=app, type="pii_viewed").exists()


def test_another_manager_cannot_reveal(personas, app):
    r = client_for(personas["bob"]).post(url(app, "reveal/phone"), HTTP_HX_REQUEST="true")
    assert r.status_code == 403
    assert not Event.objects.filter(application=app, type="pii_viewed").exists()


def test_reveal_is_post_only(personas, app):
    assert client_for(personas["alice"]).get(url(app, "reveal/phone")).status_code == 405


# --- the action panel per role ---------------------------------------------------------------------

FORMS = ["complete-form", "pause-form", "reassign-form", "cancel-form"]


def forms_on(page: str) -> list[str]:
    return [f for f in FORMS if f'id="{f}"' in page]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("alice", ["complete-form", "pause-form", "cancel-form"]),
        ("leader", FORMS),
        ("admin", FORMS),
        ("engineer", ["complete-form"]),
        ("clerk", ["pause-form"]),
        ("auditor", []),
    ],
)
def test_each_role_sees_only_its_actions(personas, app, who, expected):
    page = client_for(personas[who]).get(url(app)).content.decode()
    assert forms_on(page) == expected
    assert ('id="actions"' in page) == bool(expected)


POSTS = [
    ("complete", {"complete-stage": "survey", "complete-round": "1"}),
    (
        "pause",
        {"pause-stage": "survey", "pause-round": "1", "pause-reason_code": "customer_request", "pause-reason": "x"},
    ),
    ("cancel", {"cancel-reason": "客户撤回"}),
    ("reassign", {"reassign-customer_manager": "bob", "reassign-reason": "调岗"}),
    ("skip", {"skip-stage": "survey", "skip-round": "1", "skip-reason": "x"}),
    ("documents/received", {"received-kind": "property_proof"}),
    ("documents/waive", {"waive-kind": "property_proof", "waive-reason": "x"}),
]


@pytest.mark.parametrize(("action", "data"), POSTS, ids=[p[0] for p in POSTS])
@pytest.mark.parametrize("who", ["auditor", "bob"])
def test_a_post_by_an_auditor_or_another_manager_is_403_and_changes_nothing(personas, app, who, action, data):
    before = snapshot(app)
    r = client_for(personas[who]).post(url(app, action), data)
    assert r.status_code == 403
    assert snapshot(app) == before


def test_an_anonymous_post_changes_nothing(personas, app):
    before = snapshot(app)
    r = Client().post(url(app, "cancel"), {"cancel-reason": "x"})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert snapshot(app) == before


def test_complete_redirects_with_a_success_message(personas, app):
    c = client_for(personas["alice"])
    with at("2026-11-03"):
        r = c.post(url(app, "complete"), {"complete-stage": "survey", "complete-round": "1", "complete-note": "已勘查"})
    assert r.status_code == 302 and r["Location"] == url(app)
    app.refresh_from_db()
    assert app.current_stage == "connection"
    e = Event.objects.get(application=app, type="stage_completed", stage="survey")
    assert (e.actor.username, e.data["note"]) == ("alice", "已勘查")
    page = text(c.get(url(app)).content)
    assert "环节已办结。" in page


def test_a_review_needs_an_outcome_and_failed_needs_defects_errors_in_place(personas):
    app = new_app(personas["clerk"], category="hv_single")
    with at("2026-11-03"):
        services.complete_stage(app.number, "scheme", personas["alice"])
        services.complete_stage(app.number, "customer_design", personas["alice"])
    c = client_for(personas["engineer"])
    before = snapshot(app)
    ref = {"complete-stage": "design_review", "complete-round": "1"}
    r = c.post(url(app, "complete"), {**ref, "complete-outcome": ""})
    assert r.status_code == 200
    assert "审查或检验环节须填写结论：通过或不通过。" in text(r.content)
    r = c.post(url(app, "complete"), {**ref, "complete-outcome": "failed", "complete-defects": "  \n "})
    assert r.status_code == 200
    assert "结论为不通过时，须一次性列明发现的全部缺陷（至少一条）。" in text(r.content)
    assert snapshot(app) == before
    with at("2026-11-05"):
        r = c.post(
            url(app, "complete"),
            {**ref, "complete-outcome": "failed", "complete-defects": "接地设计缺失\n变压器容量不符\n"},
        )
    assert r.status_code == 302
    review = StageInstance.objects.get(application=app, code="design_review", round=1)
    assert (review.outcome, review.defects) == ("failed", ["接地设计缺失", "变压器容量不符"])
    page = text(c.get(url(app)).content)
    assert "接地设计缺失" in page and "变压器容量不符" in page


def test_a_stale_form_is_a_conflict_message_not_an_error_page(personas, app):
    # Alice rendered the page for the survey; meanwhile the engineer completed it.
    with at("2026-11-03"):
        services.complete_stage(app.number, "survey", personas["engineer"])
    before = snapshot(app)
    c = client_for(personas["alice"])
    r = c.post(url(app, "complete"), {"complete-stage": "survey", "complete-round": "1"})
    assert r.status_code == 302 and r["Location"] == url(app) + "#actions"
    assert snapshot(app) == before
    page = text(c.get(url(app)).content)
    assert "他人" in page and "最新状态" in page


def test_a_stale_round_is_a_conflict_too(personas):
    app = new_app(personas["clerk"], category="hv_single")
    eng, alice = personas["engineer"], personas["alice"]
    with at("2026-11-03"):
        services.complete_stage(app.number, "scheme", alice)
        services.complete_stage(app.number, "customer_design", alice)
        services.complete_stage(app.number, "design_review", eng, outcome="failed", defects=["缺陷"])
        services.complete_stage(app.number, "customer_design", alice)
    before = snapshot(app)
    r = client_for(eng).post(
        url(app, "complete"), {"complete-stage": "design_review", "complete-round": "1", "complete-outcome": "passed"}
    )
    assert r.status_code == 302 and r["Location"].endswith("#actions")
    assert snapshot(app) == before


def test_pause_and_resume_from_the_page(personas, app):
    c = client_for(personas["alice"])
    with at("2026-11-03"):
        r = c.post(
            url(app, "pause"),
            {
                "pause-stage": "survey",
                "pause-round": "1",
                "pause-reason_code": "missing_documents",
                "pause-reason": "缺产权证明",
            },
        )
    assert r.status_code == 302
    p = Pause.objects.get(application=app)
    assert (p.reason_code, p.reason, p.paused_by.username) == ("missing_documents", "缺产权证明", "alice")
    page = c.get(url(app)).content.decode()
    assert 'id="resume-form"' in page and 'id="pause-form"' not in page
    with at("2026-11-05"):
        r = c.post(url(app, "resume"), {"resume-stage": "survey", "resume-round": "1"})
    assert r.status_code == 302
    p.refresh_from_db()
    assert (p.ended_on, p.working_days) == (D(2026, 11, 5), 2)
    # resumed by someone else meanwhile: a clear message
    r = c.post(url(app, "resume"), {"resume-stage": "survey", "resume-round": "1"})
    assert r.status_code == 302
    assert "该申请未暂停。" in text(c.get(url(app)).content)


def test_pause_needs_a_reason_code_and_a_reason(personas, app):
    before = snapshot(app)
    r = client_for(personas["alice"]).post(url(app, "pause"), {"pause-stage": "survey", "pause-round": "1"})
    assert r.status_code == 200
    assert text(r.content).count("此项为必填项。") == 2
    assert snapshot(app) == before


def test_reassign_by_a_leader(personas, app):
    c = client_for(personas["leader"])
    r = c.post(url(app, "reassign"), {"reassign-customer_manager": "bob", "reassign-reason": "李爱休假"})
    assert r.status_code == 302
    app.refresh_from_db()
    assert app.customer_manager.username == "bob"
    e = Event.objects.get(application=app, type="reassigned")
    assert e.data == {
        "from": "alice",
        "to": "bob",
        "reason": "李爱休假",
        "stages_moved": [app.current_stage],
    }


def test_cancel_needs_a_reason_then_closes_the_case(personas, app):
    c = client_for(personas["alice"])
    r = c.post(url(app, "cancel"), {"cancel-reason": " "})
    assert r.status_code == 200
    assert snapshot(app)[0] == "in_progress"
    r = c.post(url(app, "cancel"), {"cancel-reason": "客户撤回申请"})
    assert r.status_code == 302
    app.refresh_from_db()
    assert app.status == "cancelled"
    page = c.get(url(app)).content.decode()
    assert 'id="actions"' not in page


def test_skip_an_optional_stage(personas):
    app = new_app(personas["clerk"], category="hv_single")
    c = client_for(personas["engineer"])
    page = c.get(url(app)).content.decode()
    assert 'id="skip-form-design_review"' in page and 'id="skip-form-mid_inspection"' in page
    r = c.post(url(app, "skip"), {"skip-stage": "mid_inspection", "skip-round": "1", "skip-reason": "非重要客户"})
    assert r.status_code == 302
    s = StageInstance.objects.get(application=app, code="mid_inspection")
    assert (s.status, s.note) == ("skipped", "非重要客户")


# --- constant queries ------------------------------------------------------------------------------


def _hv_with_many_stages(personas) -> Application:
    """12 stage instances: a failed design review adds two rounds."""
    app = new_app(personas["clerk"], category="hv_single")
    eng, alice = personas["engineer"], personas["alice"]
    with at("2026-11-03"):
        services.complete_stage(app.number, "scheme", alice)
        services.complete_stage(app.number, "customer_design", alice)
        services.pause(app.number, alice, reason_code="customer_request", reason="客户要求")
    with at("2026-11-04"):
        services.resume(app.number, alice)
        services.complete_stage(app.number, "design_review", eng, outcome="failed", defects=["缺陷一"])
    return app


def test_the_page_takes_the_same_number_of_queries_for_2_or_12_stages(personas, django_assert_num_queries):
    small = new_app(personas["clerk"])
    StageInstance.objects.filter(application=small, code="connection").delete()
    big = _hv_with_many_stages(personas)
    assert StageInstance.objects.filter(application=small).count() == 2
    assert StageInstance.objects.filter(application=big).count() == 12
    c = client_for(personas["leader"])
    workdays.current()
    c.get(url(small))  # warm the session and the calendar
    caching.clear_all()  # then each page a first view: nothing kept (pages, frames, day names)
    with at("2026-11-05"), CaptureQueriesContext(connection) as ctx:
        assert c.get(url(small)).status_code == 200
    n = len(ctx.captured_queries)
    caching.clear_all()
    with at("2026-11-05"), django_assert_num_queries(n):
        assert c.get(url(big)).status_code == 200
    assert n <= 16


# --- the timeline explains each deadline -----------------------------------------------------------


def explained(page: str, code: str, round_: int = 1) -> list[str]:
    li = re.search(rf'<li[^>]*id="stage-{code}-{round_}".*?<ol class="explain-days">(.*?)</ol>', page, re.S)
    assert li, f"no explanation for {code}#{round_}"
    return [re.sub(r"\s+", " ", x).strip() for x in re.findall(r"<li[^>]*>(.*?)</li>", li.group(1), re.S)]


def test_the_page_explains_a_deadline_over_national_day(personas):
    app = new_app(personas["clerk"], when="2026-09-30")  # survey: 2 working days from Wed 09-30
    with at("2026-10-08"):
        page = client_for(personas["alice"]).get(url(app)).content.decode()
    assert explained(page, "survey") == [
        "2026-09-30 开始（当天不计），时限 2 个工作日",
        "10-01…10-07 国庆节放假不计",
        "10-08 第1天",
        "10-09 第2天",
        "→ 期限 2026-10-09",
    ]
    assert '<span class="badge badge-ok">剩余 1 个工作日</span>' in page


def test_the_page_explains_pause_days_and_a_running_pause(personas):
    app = new_app(personas["clerk"], category="hv_single")  # scheme: 15 working days from Mon 11-02
    alice = personas["alice"]
    with at("2026-11-03"):
        services.pause(app.number, alice, reason_code="missing_documents", reason="缺产权证明")
    with at("2026-11-05"):
        services.resume(app.number, alice)
    with at("2026-11-06"):
        services.pause(app.number, alice, reason_code="government_approval", reason="等待规划许可")
    with at("2026-11-10"):
        page = client_for(alice).get(url(app)).content.decode()
    steps = explained(page, "scheme")
    assert steps == [
        "2026-11-02 开始（当天不计），时限 15 个工作日",
        "11-03 第1天",
        "11-04…11-05 暂停不计（期限顺延）",
        "11-06 第2天",
        "11-07…11-08 周末不计",
        "11-09…11-10 暂停不计（期限顺延）",
        "11-11 第3天",
        "11-12 第4天",
        "11-13 第5天",
        "11-14…11-15 周末不计",
        *[f"11-{d} 第{d - 10}天" for d in range(16, 21)],
        "11-21…11-22 周末不计",
        *[f"11-{d} 第{d - 12}天" for d in range(23, 28)],
        "→ 期限 2026-11-27（截至今日：15 个工作日 + 暂停顺延 4 个工作日；暂停期间每多停一个工作日，期限再顺延一天）",
    ]
    # the header names the same date (one source: clock.deadline_on)
    assert re.search(r'id="stage-scheme-1".*?<dd class="stage-deadline">2026-11-27</dd>', page, re.S)
    body = text(page.encode())
    assert "客户资料不全 缺产权证明 · 2026-11-03 – 2026-11-05（2 个工作日）" in body
    assert "等待政府审批 等待规划许可 · 2026-11-06 – 仍在暂停" in body
    assert '<span class="badge badge-paused">暂停中</span>' in page


def test_a_stage_paused_on_its_due_day_shows_one_deadline(personas, app):
    """The demo case whose header said 11-27 while the explanation ended on 11-26: a stage paused
    on its last day. The pause moves the deadline (the header); the walk used to stop at the first
    deadline. Survey: 2 working days from Mon 11-02, due Wed 11-04; paused on 11-04, resumed
    Thu 11-05 (P = 1): both say Thu 11-05."""
    alice = personas["alice"]
    with at("2026-11-04"):
        services.pause(app.number, alice, reason_code="customer_request", reason="客户要求暂缓")
    with at("2026-11-05"):
        services.resume(app.number, alice)
        page = client_for(alice).get(url(app)).content.decode()
    assert explained(page, "survey") == [
        "2026-11-02 开始（当天不计），时限 2 个工作日",
        "11-03 第1天",
        "11-04 第2天",
        "11-05 暂停不计（期限顺延）",
        "→ 期限 2026-11-05（2 个工作日 + 暂停顺延 1 个工作日）",
    ]
    assert re.search(r'id="stage-survey-1".*?<dd class="stage-deadline">2026-11-05</dd>', page, re.S)


def test_a_cancelled_case_has_no_badges_and_frozen_clocks(personas, app):
    with at("2026-11-03"):
        services.cancel(app.number, personas["alice"], reason="客户撤回")
    with at("2026-11-20"):
        page = client_for(personas["leader"]).get(url(app)).content.decode()
    assert 'class="stage-badges"' not in page
    assert '<span class="tag tag-status-cancelled" id="case-status">已撤销</span>' in page
    assert explained(page, "survey")[-1] == "→ 期限 2026-11-04"


def test_the_page_in_english(personas, app):
    c = client_for(personas["alice"])
    c.cookies["django_language"] = "en"
    page = text(c.get(url(app)).content)
    assert "2026-11-02 started (that day is not counted), time limit 2 working days" in page
    assert "11-03 day 1" in page
    assert "Proof of property (or lease)" in page


def test_a_supervised_project_shows_its_leader_and_target(personas, app):
    from sunshine.supervision.services import take_charge

    with at("2026-11-03"):
        take_charge(app.number, personas["leader"], reason="市重点项目", target_date=D(2026, 12, 31))
    page = text(client_for(personas["alice"]).get(url(app)).content)
    assert "领导挂牌督办" in page and "2026-12-31" in page and "市重点项目" in page


# --- the first view's shortcuts give what the ORM and Django's templates give ---------------------


def test_the_page_events_read_raw_equal_the_orms(personas, app):
    from sunshine.workbench.case import events as case_events

    c = client_for(personas["alice"])
    with at("2026-11-03"):
        c.post(
            url(app, "pause"),
            {
                "pause-stage": "survey",
                "pause-round": "1",
                "pause-reason_code": "missing_documents",
                "pause-reason": "缺产权证明",
            },
        )
    orm = list(Event.objects.filter(application=app).select_related("actor").order_by("id"))
    raw = case_events.of_application(app)
    assert len(orm) >= 3
    assert [(e.id, e.type, e.at, e.actor_id, e.stage, e.round, e.data) for e in raw] == [
        (e.id, e.type, e.at, e.actor_id, e.stage, e.round, e.data) for e in orm
    ]
    assert [case_events.actor_name(e) for e in raw] == [case_events.actor_name(e) for e in orm]
    assert [case_events.detail(e) for e in raw] == [case_events.detail(e) for e in orm]


def test_an_empty_field_is_kept_a_bound_one_rendered_with_its_errors(personas):
    from django.template.loader import render_to_string
    from django.utils import translation

    from sunshine.workbench.case import forms
    from sunshine.workbench.case.templatetags.case_page import case_field

    for lang in ("zh-hans", "en"):
        with translation.override(lang):
            form = forms.CancelForm(prefix="cancel")
            expected = render_to_string("workbench_case/_field.html", {"f": form["reason"]})
            assert case_field(form["reason"]) == expected
            assert case_field(forms.CancelForm(prefix="cancel")["reason"]) == expected  # kept
    with translation.override("en"):
        bound = forms.CancelForm({"cancel-reason": ""}, prefix="cancel")
        assert not bound.is_valid()
        html = case_field(bound["reason"])
        assert "has-error" in html and "This field is required." in html
        kinds = forms.UploadForm(prefix="upload", kinds=[])
        assert case_field(kinds["kind"]) == render_to_string("workbench_case/_field.html", {"f": kinds["kind"]})


def test_the_page_writes_each_action_address_as_the_page_address_and_its_tail(personas, app):
    from django.urls import reverse

    page = client_for(personas["alice"]).get(url(app)).content.decode()
    base = reverse("workbench_case:application", args=[app.number])
    for name in ("complete", "resume", "pause", "skip", "reassign", "cancel", "choices", "upload", "received", "waive"):
        tail = f"documents/{name}/" if name in ("upload", "received", "waive") else f"{name}/"
        assert reverse(f"workbench_case:{name}", args=[app.number]) == base + tail
    assert reverse("workbench_case:reveal", args=[app.number, "phone"]) == base + "reveal/phone/"
    assert reverse("workbench_case:download", args=[app.number, 7]) == base + "documents/7/"
    assert f'action="{base}complete/"' in page and f'hx-post="{base}reveal/phone/"' in page


def test_the_page_supervision_read_raw_equals_the_orms(personas, app):
    from sunshine.supervision.selectors import leader_supervision_of
    from sunshine.supervision.services import end_supervision, take_charge
    from sunshine.workbench.case.page import _supervision_of

    assert _supervision_of(app) is None and leader_supervision_of(app) is None
    with at("2026-11-03"):
        take_charge(app.number, personas["leader"], reason="市重点项目", target_date=D(2026, 12, 31))
    ours, theirs = _supervision_of(app), leader_supervision_of(app)
    assert ours is not None and theirs is not None
    assert (ours.pk, ours.leader_id, ours.reason, ours.target_date, ours.started_at) == (
        theirs.pk,
        theirs.leader_id,
        theirs.reason,
        theirs.target_date,
        theirs.started_at,
    )
    assert ours.leader.display_name == theirs.leader.display_name
    with at("2026-11-04"):
        end_supervision(app.number, personas["leader"], note="已协调")
    assert _supervision_of(app) is None and leader_supervision_of(app) is None


def test_the_page_documents_read_raw_equal_the_orms(personas, app):
    from sunshine.documents import services as documents
    from sunshine.workbench.case.page import _requirements

    alice = personas["alice"]
    theirs = documents.required_documents(app)
    assert len(theirs) >= 2
    with at("2026-11-03"):
        documents.mark_received(app.number, theirs[0].kind.code, alice)
        documents.waive(app.number, theirs[1].kind.code, alice, reason="现场核验")
    ours, theirs = _requirements(app), documents.required_documents(app)

    def facts(rs: list) -> list:
        return [
            (r.kind.pk, r.kind.code, r.kind.name, r.kind.needed_by_stage, r.status, r.missing)
            + (
                (r.document.pk, r.document.status, r.document.note, r.document.file, r.document.at)
                if r.document
                else ()
            )
            for r in rs
        ]

    assert facts(ours) == facts(theirs)
    assert [r.status for r in ours][:2] == ["received", "waived"]


def test_the_page_stages_and_pauses_read_raw_equal_the_orms(personas, app):
    from sunshine.applications import selectors
    from sunshine.workbench.case.page import stages_and_pauses

    def columns(obj: Any) -> list:
        return [getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields]

    def orm() -> tuple[list, list]:
        stages = list(StageInstance.objects.filter(application=app).select_related("template").order_by("seq"))
        pauses = list(Pause.objects.filter(application=app).order_by("started_at", "id"))
        return stages, pauses

    c = client_for(personas["alice"])
    for day, action in (("2026-11-03", "pause"), ("2026-11-05", "resume"), ("2026-11-06", "pause")):
        with at(day):
            body = {f"{action}-stage": "survey", f"{action}-round": "1"}
            if action == "pause":
                body |= {"pause-reason_code": "missing_documents", "pause-reason": f"缺产权证明 {day}"}
            assert c.post(url(app, action), body).status_code == 302
    stages, pauses = stages_and_pauses(app)
    theirs_stages, theirs_pauses = orm()
    assert len(theirs_stages) >= 3 and len(theirs_pauses) == 2
    assert [columns(s) for s in stages] == [columns(s) for s in theirs_stages]
    assert [columns(s.template) for s in stages] == [columns(s.template) for s in theirs_stages]
    assert [columns(p) for ps in pauses.values() for p in ps] == [columns(p) for p in theirs_pauses]
    assert {k: [p.pk for p in v] for k, v in pauses.items()} == {
        theirs_pauses[0].stage_id: [p.pk for p in theirs_pauses]
    }
    # the rows built from them are the ORM path's rows (clocks, pauses, names)
    with at("2026-11-10"):
        ours = selectors.stage_rows(app, D(2026, 11, 10), stages, pauses)
        theirs = selectors.stage_rows(app, D(2026, 11, 10))
    assert [(r.stage.pk, r.clock, [p.pk for p in r.pauses], r.name) for r in ours] == [
        (r.stage.pk, r.clock, [p.pk for p in r.pauses], r.name) for r in theirs
    ]
    # 2 working days of the first pause (11-03 to 11-05), 2 of the running one by 11-10
    assert [r.clock.paused_working_days for r in ours if r.stage.code == "survey"] == [4]


# The timeline's per-stage markup as _application_body.html wrote it before stage_html took over.
OLD_STAGE_LOOP = (
    "{% load i18n case_i18n deadlines case_page ui %}{% for t in timeline %}\n"
    + (Path(__file__).parent / "workbench_case_old_stage.html").read_text()
    + "    {% endfor %}"
)
HOSTILE = '<script>alert("x")</script>&amp;<b>'


def _stages_as_the_template_wrote_them(personas) -> list[Application]:
    """An hv case paused (hostile reason), resumed, its stages completed with a hostile note and
    failed with hostile defects (back to round 2); an lv case still paused; an lv case cancelled."""
    alice, engineer = personas["alice"], personas["engineer"]
    hv = new_app(
        personas["clerk"], category="hv_single", customer__name=HOSTILE, address=f"太原市晋源区晋祠路一段1号{HOSTILE}"
    )
    with at("2026-11-03"):
        services.pause(hv.number, alice, reason_code="missing_documents", reason=HOSTILE)
    with at("2026-11-05"):
        services.resume(hv.number, alice)
        services.complete_stage(hv.number, "scheme", alice, note=HOSTILE)
        services.complete_stage(hv.number, "customer_design", alice)
    with at("2026-11-06"):
        services.complete_stage(hv.number, "design_review", engineer, outcome="failed", defects=[HOSTILE, "接地"])
    paused = new_app(personas["clerk"])
    with at("2026-11-04"):
        services.pause(paused.number, alice, reason_code="missing_documents", reason="缺产权证明")
    cancelled = new_app(personas["clerk"])
    with at("2026-11-04"):
        services.cancel(cancelled.number, alice, reason=HOSTILE)
    return [hv, paused, cancelled]


def test_each_stage_is_written_as_the_template_wrote_it(personas):
    from django.template import engines
    from django.utils import translation

    from sunshine.applications import access
    from sunshine.workbench.case.page import page_context

    old = engines["django"].from_string(OLD_STAGE_LOOP)
    apps = _stages_as_the_template_wrote_them(personas)
    seen = set()
    for a in apps:
        a.refresh_from_db()
        for user in (a.customer_manager or personas["admin"], personas["admin"]):
            for lang in ("zh-hans", "en"):
                with translation.override(lang), at("2026-11-10"):
                    full = access.access_application(user, a.number)
                    ctx = page_context(user, full)
                    ours = "".join(f"\n      {t.html}\n    " for t in ctx["timeline"])
                    assert ours == old.render({"timeline": ctx["timeline"], "app": full})
                    seen |= {k for k in ("pauses", "defects", "explain", "stage-note", "tag-customer") if k in ours}
                    assert "<script>" not in ours and HOSTILE not in ours
    assert seen == {"pauses", "defects", "explain", "stage-note", "tag-customer"}


def test_hostile_input_stays_escaped_on_the_page(personas):
    hv = _stages_as_the_template_wrote_them(personas)[0]
    for user in (personas["alice"], personas["admin"]):
        page = client_for(user).get(url(hv)).content.decode()
        assert "<script>" not in page and HOSTILE not in page
        escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;amp;&lt;b&gt;"
        # the customer's name and address, the pause's reason (timeline and event log), the stage's
        # note (timeline and event log), the defects (timeline and event log)
        assert page.count(escaped) >= 7, page.count(escaped)


def test_the_page_full_row_read_raw_equals_access_application(personas, app):
    from sunshine.applications import access
    from sunshine.errors import Forbidden
    from sunshine.workbench.case.page import full_row

    def facts(a: Application) -> list:
        out = []
        for obj in (a, a.customer, a.customer_manager, a.process, a.possible_duplicate_of):
            out.append(None if obj is None else [getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields])
        return out

    alice, admin = personas["alice"], personas["admin"]
    other = new_app(personas["clerk"])
    Application.objects.filter(pk=other.pk).update(possible_duplicate_of=app, customer_manager=None)
    for user, a in ((alice, app), (admin, app), (admin, other)):
        ref = access.access_ref(user, a.number)
        ours, theirs = full_row(user, ref), access.access_application(user, a.number)
        assert facts(ours) == facts(theirs)
        assert ours.contact_phone == theirs.contact_phone and ours.customer.id_number == theirs.customer.id_number
    assert full_row(admin, access.access_ref(admin, other.number)).possible_duplicate_of.number == app.number
    # moved to another manager since the light row was read: access_application's own answer
    ref = access.access_ref(alice, app.number)
    Application.objects.filter(pk=app.pk).update(customer_manager=personas["bob"])
    with pytest.raises(Forbidden):
        full_row(alice, ref)


def test_the_page_day_names_kept_per_year_equal_the_calendars(personas):
    from sunshine import caching
    from sunshine.calendar import explain
    from sunshine.calendar.models import CalendarDay
    from sunshine.workbench.case import page

    cal = workdays.current()
    assert CalendarDay.objects.filter(date__year=2026).exclude(name="").exists()
    ranges = [
        (D(2026, 9, 28), D(2026, 10, 12)),  # 国庆
        (D(2026, 12, 20), D(2027, 2, 20)),  # into a provisional year (statutory names)
        (D(2026, 3, 2), D(2026, 3, 6)),  # no named day
        (D(2025, 12, 30), D(2026, 1, 5)),
    ]
    for first, last in ranges:
        assert page.day_names(cal, first, last) == explain.day_names(first, last)
    assert page.day_names(cal, *ranges[0])  # kept now: the same without a query
    with CaptureQueriesContext(connection) as ctx:
        for first, last in ranges:
            assert page.day_names(cal, first, last) == explain.day_names(first, last)
    assert len(ctx.captured_queries) == len(ranges)  # explain.day_names' own, none of the page's
    # a name edited: seen once the kept years are forgotten (at most caching.SECONDS in a server)
    day = CalendarDay.objects.filter(date__year=2026).exclude(name="").order_by("date").first()
    CalendarDay.objects.filter(pk=day.pk).update(name="元旦节（测试）")
    caching.clear_all()
    cal = workdays.current()
    assert (
        page.day_names(cal, day.date, day.date) == explain.day_names(day.date, day.date) == {day.date: "元旦节（测试）"}
    )
