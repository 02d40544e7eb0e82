"""Staff pages of follow-up calls, cases, visits and concentration (Django test client)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from sunshine.feedback import services
from sunshine.feedback.models import FollowUp, SupervisionCase, Visit, VisitAction
from sunshine.workbench.desk import kept
from tests.test_feedback_followups import connected
from tests.test_services import at

D = date

STEERED = {
    "outcome": "completed",
    "sat_overall": "2",
    "sat_manager": "1",
    "sat_timeliness": "3",
    "steered_design": "no",
    "steered_construction": "yes",
    "steered_supply": "no",
    "extra_charge": "no",
    "told_once": "yes",
    "comments": "客户经理推荐了施工队",
}


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def queries(client: Client, url: str) -> tuple[int, str]:
    """Number of queries a page takes (the shell's own, e.g. an inbox count, included) and its body."""
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200
    return len(ctx), r.content.decode()


def test_queue_lists_the_clerks_calls_with_constant_queries(personas):
    clerk = client_for(personas["clerk"])
    connected(personas)
    with at("2026-11-05"):
        one, _ = queries(clerk, "/workbench/followups/")
    for _ in range(3):
        connected(personas)
    with at("2026-11-05"):
        four, body = queries(clerk, "/workbench/followups/")
    assert one == four
    assert body.count('class="button" href="/workbench/followups/') == 4


def test_managers_and_strangers_do_not_get_the_queue(personas):
    assert client_for(personas["alice"]).get("/workbench/followups/").status_code == 403
    r = Client().get("/workbench/followups/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_call_script_post_opens_a_case(personas):
    app = connected(personas)
    f = FollowUp.objects.get(application=app)
    with at("2026-11-05"):
        r = client_for(personas["clerk"]).post(f"/workbench/followups/{f.pk}/", STEERED)
    assert r.status_code == 302 and r["Location"] == "/workbench/followups/"
    case = SupervisionCase.objects.get()
    assert (case.kind, case.manager, case.application) == ("steering", personas["alice"], app)


def test_call_script_missing_answers_shows_chinese_errors_and_changes_nothing(personas):
    app = connected(personas)
    f = FollowUp.objects.get(application=app)
    r = client_for(personas["clerk"]).post(f"/workbench/followups/{f.pk}/", {"outcome": "completed"})
    assert r.status_code == 200
    body = r.content.decode()
    assert body.count("请打 1 到 5 分。") == 3 and body.count("请回答是或否。") == 5
    f.refresh_from_db()
    assert f.status == "open" and SupervisionCase.objects.count() == 0


def test_attempt_then_unreachable(personas, settings):
    settings.SUNSHINE_FOLLOWUP_MAX_ATTEMPTS = 2
    app = connected(personas)
    f = FollowUp.objects.get(application=app)
    clerk = client_for(personas["clerk"])
    r = clerk.post(f"/workbench/followups/{f.pk}/attempt/", {"result": "no_answer"})
    assert r["Location"] == f"/workbench/followups/{f.pk}/"
    r = clerk.post(f"/workbench/followups/{f.pk}/attempt/", {"result": "busy"})
    assert r["Location"] == "/workbench/followups/"
    f.refresh_from_db()
    assert (f.status, f.outcome, f.attempts) == ("done", "unreachable", 2)


def test_auditor_decides_a_case_others_cannot(personas):
    with at("2026-11-02"):
        case = services.open_case(source="staff", subject="指定施工单位", details="", manager=personas["alice"])
    url = f"/workbench/cases/{case.tracking_number}/"
    for name in ("clerk", "alice", "engineer"):
        r = client_for(personas[name]).post(url + "decide/", {"finding": "upheld", "action_taken": "x"})
        assert r.status_code == 403
    assert client_for(personas["leader"]).get(url).status_code == 200  # leaders read
    assert client_for(personas["leader"]).post(url + "note/", {"text": "x"}).status_code == 403
    case.refresh_from_db()
    assert case.status == "open"
    auditor = client_for(personas["auditor"])
    assert auditor.post(url + "note/", {"text": "电话核实"}).status_code == 302
    r = auditor.post(url + "decide/", {"finding": "upheld", "action_taken": "通报批评，扣分"})
    assert r.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.finding, case.action_taken) == ("closed", "upheld", "通报批评，扣分")
    n, body = queries(auditor, url)
    assert "属实" in body and n <= 8


def test_case_queue_constant_queries(personas):
    auditor = client_for(personas["auditor"])
    app = connected(personas)  # before the first count: its set-up may change the cached unit tree
    with at("2026-11-02"):
        services.open_case(source="staff", subject="a", details="", manager=personas["alice"])
    one, _ = queries(auditor, "/workbench/cases/")
    with at("2026-11-03"):
        for i in range(4):
            services.open_case(source="complaint", subject=f"c{i}", details="", application=app)
    five, body = queries(auditor, "/workbench/cases/")
    assert one == five
    assert body.count("/workbench/cases/JC") == 5
    assert client_for(personas["clerk"]).get("/workbench/cases/").status_code == 403


def test_visit_planned_logged_and_action_closed(personas):
    leader = client_for(personas["leader"])
    r = leader.post(
        "/workbench/visits/",
        {
            "customer_name": "晋源钢铁",
            "contact": "王经理 13900000000",
            "key_customer": "on",
            "visitor": personas["alice"].pk,
            "planned_on": "2026-11-10",
            "topics": "增容计划",
        },
    )
    assert r.status_code == 302
    visit = Visit.objects.get()
    assert (visit.key_customer, visit.visitor, visit.status) == (True, personas["alice"], "planned")
    alice = client_for(personas["alice"])
    with at("2026-11-10", "17:00"):
        r = alice.post(
            f"/workbench/visits/{visit.pk}/", {"form": "log", "visited_on": "2026-11-10", "raised": "电压偏低"}
        )
    assert r.status_code == 302
    r = alice.post(
        f"/workbench/visits/{visit.pk}/",
        {"form": "action", "description": "测量电压", "owner": personas["bob"].pk, "due_on": "2026-11-20"},
    )
    action = VisitAction.objects.get()
    # only the owner (or a leader/admin) closes it
    alice.post(f"/workbench/visits/{visit.pk}/actions/{action.pk}/close/", {"resolution": "已测"})
    action.refresh_from_db()
    assert action.closed_at is None
    client_for(personas["bob"]).post(f"/workbench/visits/{visit.pk}/actions/{action.pk}/close/", {"resolution": "已测"})
    action.refresh_from_db()
    assert action.resolution == "已测" and action.closed_by == personas["bob"]
    visit.refresh_from_db()
    assert (visit.status, visit.visited_on, visit.raised) == ("done", D(2026, 11, 10), "电压偏低")


def test_visit_plan_errors_are_shown(personas):
    r = client_for(personas["leader"]).post("/workbench/visits/", {"customer_name": "", "application": "YK123"})
    assert r.status_code == 200 and Visit.objects.count() == 0
    body = r.content.decode()
    assert body.count("此项为必填项。") == 4 and "未找到该编号的申请" not in body


@pytest.mark.parametrize(("name", "status"), [("auditor", 200), ("leader", 200), ("clerk", 403), ("alice", 403)])
def test_concentration_page_access(personas, name, status):
    assert client_for(personas[name]).get("/workbench/concentration/?period=2026-11").status_code == status


def test_english_switch(personas):
    c = client_for(personas["auditor"])
    c.cookies["django_language"] = "en"
    assert "Supervision cases" in c.get("/workbench/cases/").content.decode()


def test_my_followups_panel_for_the_work_queue(personas):
    from django.template import Context, Template

    tpl = Template("{% load feedback_queue %}{% my_followups %}")
    connected(personas)
    connected(personas)
    with at("2026-11-12"), translation.override("zh-hans"):  # due 11-11: both overdue
        html = tpl.render(Context({"user": personas["clerk"]}))
    assert "2 个待回访" in html and "2 个已超期" in html
    assert tpl.render(Context({"user": personas["alice"]})).strip() == ""


def test_an_auditor_opens_a_case_for_a_telephone_complaint(personas):
    app = connected(personas)
    auditor = client_for(personas["auditor"])
    r = auditor.post(
        "/workbench/cases/",
        {"kind": "complaint", "subject": "电话投诉：态度差", "application": app.number, "reporter_name": "张三"},
    )
    case = SupervisionCase.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/workbench/cases/{case.tracking_number}/"
    assert (case.source, case.kind, case.manager, case.application, case.opened_by) == (
        "staff",
        "complaint",
        personas["alice"],
        app,
        personas["auditor"],
    )
    r = auditor.post("/workbench/cases/", {"kind": "complaint", "subject": "x", "application": "YK0"})
    assert r.status_code == 422 and "未找到该编号的申请。" in r.content.decode()
    leader = client_for(personas["leader"])
    assert leader.post("/workbench/cases/", {"kind": "complaint", "subject": "x"}).status_code == 403
    assert SupervisionCase.objects.count() == 1


def test_key_customers_without_a_visit_come_first(personas):
    from tests.test_services import new_app

    key = new_app(personas["clerk"], when="2026-11-02", key_project=True, customer__name="晋源钢铁")
    new_app(personas["clerk"], when="2026-11-02")  # not a key project
    leader = client_for(personas["leader"])
    with at("2026-11-03"):
        n, body = queries(leader, "/workbench/visits/")
    assert body.count("<li>晋源钢铁 · ") == 1 and f"?application={key.number}&amp;customer_name=" in body
    with at("2026-11-03"):
        r = leader.get(f"/workbench/visits/?application={key.number}&customer_name=晋源钢铁&key=1")
    assert f'value="{key.number}"' in r.content.decode()
    with at("2026-11-03"):
        leader.post(
            "/workbench/visits/",
            {
                "customer_name": "晋源钢铁",
                "application": key.number,
                "visitor": personas["alice"].pk,
                "planned_on": "2026-11-10",
                "topics": "用电需求",
            },
        )
        n2, body = queries(leader, "/workbench/visits/")
    assert "<li>晋源钢铁 · " not in body and n2 == n  # one visit listed now: same number of queries
    assert Visit.objects.get().key_customer is True  # a key project's customer is a key customer


def test_the_clerks_work_queue_shows_their_follow_up_calls(personas):
    connected(personas)
    clerk = client_for(personas["clerk"])
    with at("2026-11-05"):
        one, body = queries(clerk, "/workbench/")
    assert '<p class="card" id="my-followups"><a href="/workbench/followups/">1 个待回访</a></p>' in body
    connected(personas)
    kept.forget()  # the queue's list rendered again, as the first time: the same queries
    with at("2026-11-05"):
        two, body = queries(clerk, "/workbench/")
    assert "2 个待回访" in body and one == two
    with at("2026-11-05"):
        _, body = queries(client_for(personas["alice"]), "/workbench/")
    assert 'id="my-followups"' not in body


def test_visitors_and_action_owners_are_the_people_who_work_with_customers(personas):
    """Named 姓名 with their role, engineers included, the administrator's account and Django's
    "---------" left out."""
    import re

    html = client_for(personas["leader"]).get("/workbench/visits/").content.decode()
    select = html[html.index('name="visitor"') : html.index("</select>", html.index('name="visitor"'))]
    options = re.findall(r'<option value="[^"]*"[^>]*>([^<]*)</option>', select)
    assert options[0] == "请选择人员" and "---------" not in select
    assert "李爱（客户经理）" in options and "engineer（工程师）" in options
    assert not [o for o in options if "admin" in o or "系统管理员" in o]
