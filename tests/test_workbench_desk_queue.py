"""Work queues, the team view, the leader dashboard and bulk reassignment (Django test client)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sunshine.applications import services
from sunshine.applications.models import Application, Event
from sunshine.applications.validation import validate_intake
from tests.conftest import intake_body

TZ = ZoneInfo("Asia/Shanghai")


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=TZ), tick=False)


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


_seq = iter(range(10_000))


def resident_id(i: int) -> str:
    from sunshine.applications.validation import resident_id_check_character

    first17 = f"11010519800101{i:03d}"
    return first17 + resident_id_check_character(first17)


def make_app(actor, on: datetime, *, manager=None, **overrides) -> Application:
    """A counter intake accepted at ``on`` (acceptance done, the next stage started)."""
    i = next(_seq)
    overrides.setdefault("customer__id_number", resident_id(i))
    overrides.setdefault("customer__name", f"客户{i}")
    overrides.setdefault("customer__phone", f"139{i:08d}")
    overrides.setdefault("address", f"太原市晋源区晋祠路{i}号")
    body = intake_body(**overrides)
    with time_machine.travel(on, tick=False):
        app = services.intake(validate_intake(body, on.date()), actor).application
    if manager is not None and app.customer_manager_id != manager.pk:
        Application.objects.filter(pk=app.pk).update(customer_manager=manager)
        app.refresh_from_db()
    return app


def rows_of(html: str) -> list[str]:
    return re.findall(r'<tr data-number="(YK\d+)">', html)


@pytest.fixture
def board(personas):
    """Survey stages (2 working days) started on different days, seen on 2026-10-09:
    - late: accepted 09-21 → deadline 09-23, overdue;
    - today: accepted 09-30 → survey deadline (09-30, 10-09] = 10-08, 10-09 → due today;
    - later: accepted 10-08 → deadline 10-10 (the working Saturday), 1 left;
    - bob's: accepted 09-29 → deadline 10-08, overdue, key project;
    - hv: a high-voltage case at its survey-and-scheme stage (engineers act on it), 15 days."""
    clerk, alice, bob = personas["clerk"], personas["alice"], personas["bob"]
    return {
        "later": make_app(clerk, datetime(2026, 10, 8, 9, tzinfo=TZ), manager=alice),
        "today": make_app(clerk, datetime(2026, 9, 30, 9, tzinfo=TZ), manager=alice),
        "late": make_app(clerk, datetime(2026, 9, 21, 9, tzinfo=TZ), manager=alice),
        "bob": make_app(clerk, datetime(2026, 9, 29, 9, tzinfo=TZ), manager=bob, key_project=True),
        "hv": make_app(
            clerk,
            datetime(2026, 9, 29, 9, tzinfo=TZ),
            manager=alice,
            category="hv_single",
            requested_capacity=630,
            capacity_unit="kVA",
            customer__id_type="uscc",
            customer__id_number="91350100M000100Y43",
        ),
    }


# --- my work -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_manager_queue_is_sorted_by_urgency_with_exact_badges(personas, board):
    with at(2026, 10, 9, 9, 0):
        html = client_for(personas["alice"]).get("/workbench/").content.decode()
    assert rows_of(html) == [board["late"].number, board["today"].number, board["later"].number, board["hv"].number]
    assert board["bob"].number not in html  # another manager's application is not in Alice's queue

    def badges(number: str) -> str:
        row = html.split(f'<tr data-number="{number}">', 1)[1].split("</tr>", 1)[0]
        return re.search(r'<td class="badges">(.*?)</td>', row, re.S).group(1)

    # deadline 09-23; (09-23, 10-09]: 09-24, 09-28, 09-29, 09-30, 10-08, 10-09 = 6 working days
    assert badges(board["late"].number) == '<span class="badge badge-overdue">超期 6 个工作日</span>'
    assert badges(board["today"].number) == '<span class="badge badge-due">今天到期</span>'
    assert badges(board["later"].number) == '<span class="badge badge-ok">剩余 1 个工作日</span>'
    # 15 working days from 09-29: 09-30, 10-08..10-10, 10-12..10-16, 10-19..10-23, 10-26 → 10-26;
    # on 10-09 left: 10-10, 10-12..10-16, 10-19..10-23, 10-26 = 12
    assert badges(board["hv"].number) == '<span class="badge badge-ok">剩余 12 个工作日</span>'
    assert '<td class="nowrap">2026-10-26</td>' in html


@pytest.mark.django_db
def test_paused_application_shows_the_paused_badge(personas, board):
    with at(2026, 10, 9, 10, 0):
        services.pause(board["later"].number, personas["alice"], reason_code="customer_request", reason="客户要求延后")
    with at(2026, 10, 12, 9, 0):
        html = client_for(personas["alice"]).get("/workbench/").content.decode()
    row = html.split(f'<tr data-number="{board["later"].number}">', 1)[1].split("</tr>", 1)[0]
    # paused 10-09 → today 10-12: (10-09, 10-12] covers 10-10 (working Saturday) and 10-12 = 2 days;
    # the deadline moves from 10-10 to 10-13 (2 + 2 working days after 10-08), one working day left
    assert '<td class="nowrap">2026-10-13</td>' in row
    assert '<span class="badge badge-ok">剩余 1 个工作日</span> <span class="badge badge-paused">暂停中</span>' in row
    # a paused application sorts after running ones
    assert rows_of(html)[-1] == board["later"].number


@pytest.mark.django_db
def test_engineer_sees_the_stages_engineers_act_on(personas, board):
    with at(2026, 10, 9, 9, 0):
        html = client_for(personas["engineer"]).get("/workbench/").content.decode()
    # the survey of low-voltage cases and the survey-and-scheme of high-voltage ones name the engineer
    assert set(rows_of(html)) == {b.number for b in board.values()}
    with at(2026, 10, 9, 9, 0):
        html = client_for(personas["engineer"]).get("/workbench/?category=hv_single").content.decode()
    assert rows_of(html) == [board["hv"].number]


@pytest.mark.django_db
def test_clerk_queue_holds_the_customer_steps_and_online_acceptances(personas, board):
    clerk = personas["clerk"]
    online = make_app(clerk, datetime(2026, 10, 8, 9, tzinfo=TZ), channel="online")
    with at(2026, 10, 9, 9, 0):
        html = client_for(clerk).get("/workbench/").content.decode()
    assert rows_of(html) == [online.number]  # acceptance waits for the clerk; surveys do not


@pytest.mark.django_db
def test_overdue_filter_counts_a_paused_overdue_stage_within_the_queue_only(personas, board):
    """A stage paused when already overdue stays overdue (its clock counts the running pause): the
    overdue filter finds it in its manager's queue, never in another manager's, and the opposite
    filter leaves it out."""
    with at(2026, 10, 9, 9, 0):
        services.pause(board["late"].number, personas["alice"], reason_code="customer_request", reason="客户要求延后")
    with at(2026, 10, 12, 9, 0):
        alice = client_for(personas["alice"])
        # today's (deadline 10-09) and later's (10-10) running surveys are overdue by now too; the
        # paused one sorts after them
        overdue = [board["today"].number, board["later"].number, board["late"].number]
        assert rows_of(alice.get("/workbench/?overdue=1").content.decode()) == overdue
        assert rows_of(client_for(personas["bob"]).get("/workbench/?overdue=1").content.decode()) == [
            board["bob"].number
        ]
        leader = client_for(personas["leader"])
        assert set(rows_of(leader.get("/workbench/?overdue=1").content.decode())) == {*overdue, board["bob"].number}


@pytest.mark.django_db
def test_filters_and_search(personas, board):
    c = client_for(personas["leader"])
    with at(2026, 10, 9, 9, 0):
        assert set(rows_of(c.get("/workbench/?overdue=1").content.decode())) == {
            board["late"].number,
            board["bob"].number,
        }
        assert rows_of(c.get("/workbench/?key_project=1").content.decode()) == [board["bob"].number]
        assert rows_of(c.get("/workbench/?due_soon=1").content.decode()) == [
            board["today"].number,
            board["later"].number,
        ]
        assert rows_of(c.get("/workbench/?stage=scheme").content.decode()) == [board["hv"].number]
        assert rows_of(c.get(f"/workbench/?q={board['today'].number}").content.decode()) == [board["today"].number]
        assert rows_of(c.get(f"/workbench/?q={board['today'].contact_phone}").content.decode()) == [
            board["today"].number
        ]
        id_number = board["late"].customer.id_number
        assert rows_of(c.get(f"/workbench/?q={id_number}").content.decode()) == [board["late"].number]
        # a phone or ID is matched exactly, a name by its beginning
        assert rows_of(c.get(f"/workbench/?q={board['today'].contact_phone[:-1]}").content.decode()) == []
        name = board["hv"].customer_name
        assert rows_of(c.get(f"/workbench/?q={name[:2]}").content.decode()) != []
        assert board["hv"].number in c.get(f"/workbench/?q={name}").content.decode()


@pytest.mark.django_db
def test_a_manager_cannot_find_another_managers_application_by_search(personas, board):
    html = client_for(personas["alice"]).get(f"/workbench/?q={board['bob'].number}").content.decode()
    assert rows_of(html) == []
    assert "没有符合条件的申请" in html


@pytest.mark.django_db
def test_pagination_50_per_page(personas):
    clerk, alice = personas["clerk"], personas["alice"]
    for _ in range(52):
        make_app(clerk, datetime(2026, 10, 8, 9, tzinfo=TZ), manager=alice)
    c = client_for(alice)
    with at(2026, 10, 9, 9, 0):
        first = c.get("/workbench/").content.decode()
        second = c.get("/workbench/?page=2").content.decode()
    assert len(rows_of(first)) == 50 and len(rows_of(second)) == 2
    assert "第 1 页，共 2 页" in first and 'href="?page=2"' in first
    assert not set(rows_of(first)) & set(rows_of(second))


def _queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(path)
    assert r.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/workbench/",
        "/workbench/?overdue=1&key_project=0",
        "/workbench/team/",
        "/workbench/dashboard/",
        "/workbench/reassign/?from=alice",
    ],
)
def test_pages_run_a_constant_number_of_queries(personas, path):
    clerk, alice, bob = personas["clerk"], personas["alice"], personas["bob"]
    c = client_for(personas["leader"])
    make_app(clerk, datetime(2026, 9, 21, 9, tzinfo=TZ), manager=alice, key_project=True)
    with at(2026, 10, 9, 9, 0):
        few = _queries(c, path)
    for i in range(12):
        make_app(
            clerk, datetime(2026, 9, 21 + i % 9, 9, tzinfo=TZ), manager=bob if i % 2 else alice, key_project=i % 3 == 0
        )
    hv = make_app(clerk, datetime(2026, 9, 22, 9, tzinfo=TZ), category="hv_single", requested_capacity=630)
    with at(2026, 10, 9, 9, 0):
        services.pause(hv.number, personas["leader"], reason_code="customer_request", reason="客户要求")
        many = _queries(c, path)
    assert few == many
    assert many <= 14


# --- team view and dashboard ---------------------------------------------------------------------


@pytest.mark.django_db
def test_team_view_groups_by_manager_and_filters(personas, board):
    c = client_for(personas["leader"])
    with at(2026, 10, 9, 9, 0):
        html = c.get("/workbench/team/").content.decode()
        assert re.search(
            r'<a href="\?view=team&amp;manager=alice">李爱</a></td>\s*<td class="num">4</td><td class="num">2</td>'
            r'<td class="num">1</td>',
            html,
        )
        assert re.search(
            r'manager=bob">包博</a></td>\s*<td class="num">1</td><td class="num">0</td><td class="num">1</td>', html
        )
        only_bob = c.get("/workbench/?view=team&manager=bob").content.decode()
    assert rows_of(only_bob) == [board["bob"].number]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["alice", "clerk", "engineer"])
def test_team_view_and_dashboard_are_for_leaders(personas, role):
    c = client_for(personas[role])
    assert c.get("/workbench/team/").status_code == 403
    assert c.get("/workbench/?view=team").status_code == 403
    assert c.get("/workbench/dashboard/").status_code == 403


@pytest.mark.django_db
def test_dashboard_counts_and_drill_down_links(personas, board):
    with at(2026, 10, 9, 9, 0):
        r = client_for(personas["auditor"]).get("/workbench/dashboard/")
    html = r.content.decode()
    assert r.status_code == 200
    assert '<span class="figure" id="total-open">5</span>' in html
    assert '<span class="figure" id="total-due-soon">2</span>' in html
    assert '<span class="figure" id="total-overdue">2</span>' in html
    assert '<span class="figure" id="total-key">1</span>' in html
    # by stage: survey 4 open, 2 due soon, 2 overdue; each number opens the filtered list
    assert '<a href="/workbench/team/?stage=survey">4</a>' in html
    assert '<a href="/workbench/team/?stage=survey&amp;due_soon=1">2</a>' in html
    assert '<a href="/workbench/team/?stage=survey&amp;overdue=1">2</a>' in html
    assert '<a href="/workbench/team/?manager=bob&amp;overdue=1">1</a>' in html
    assert '<a href="/workbench/team/?category=hv_single">1</a>' in html
    data = json.loads(re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', html).group(1))
    assert data["stages"]["labels"] == ["现场勘查及供电方案答复", "现场勘查"]
    assert data["stages"]["overdue"] == [0, 2]
    assert {"name": "低压居民", "value": 4} in data["categories"]
    assert "vendor/echarts/echarts.min.js" in html and "workbench_desk/dashboard.js" in html
    assert "<script>" not in html  # no inline script (CSP)
    assert board["bob"].number in html.split('id="key-projects"', 1)[1]


# --- bulk reassignment ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_reassign_all_of_a_departing_managers_applications(personas, board):
    c = client_for(personas["leader"])
    r = c.get("/workbench/reassign/?from=alice")
    html = r.content.decode()
    numbers = [board[k].number for k in ("late", "today", "later", "hv")]
    # nothing is ticked at first: a person ticks what moves
    assert all(f'value="{n}" id="n-{n}">' in html for n in numbers) and " checked" not in html
    body = {"from_manager": "alice", "to_manager": "bob", "reason": "李爱调岗", "numbers": numbers}
    r = c.post("/workbench/reassign/", body)
    # the first POST only asks to confirm the count; nothing moved yet
    html = r.content.decode()
    assert r.status_code == 200 and "将 4 件申请从李爱转派给包博？" in html
    assert '<input type="hidden" name="confirmed" value="4">' in html
    assert all(f'<input type="hidden" name="numbers" value="{n}">' in html for n in numbers)
    assert not Event.objects.filter(type="reassigned").exists()
    # a confirmation of another count (the selection changed) asks again
    r = c.post("/workbench/reassign/", {**body, "confirmed": "3"})
    assert r.status_code == 200 and not Event.objects.filter(type="reassigned").exists()
    r = c.post("/workbench/reassign/", {**body, "confirmed": "4"})
    assert r.status_code == 302 and r["Location"] == "/workbench/reassign/?from=alice"
    assert set(Application.objects.filter(customer_manager__username="bob").values_list("number", flat=True)) == {
        *numbers,
        board["bob"].number,
    }
    events = Event.objects.filter(type="reassigned").order_by("id")
    assert [e.application.number for e in events] == numbers  # urgency order, one event each
    assert all(
        e.data == {"from": "alice", "to": "bob", "reason": "李爱调岗", "stages_moved": [e.application.current_stage]}
        for e in events
    )
    assert all(e.actor == personas["leader"] for e in events)
    follow = c.get(r["Location"]).content.decode()
    assert "已将 4 件申请从李爱转派给包博。" in follow


@pytest.mark.django_db
def test_reassign_selected_only_and_bad_input_changes_nothing(personas, board):
    c = client_for(personas["admin"])
    r = c.post("/workbench/reassign/", {"from_manager": "alice", "to_manager": "bob", "reason": "", "numbers": []})
    assert r.status_code == 422
    html = r.content.decode()
    assert "请填写改派原因。" in html and "请至少选择一件申请。" in html
    # a number that is not the departing manager's is refused as a choice
    r = c.post(
        "/workbench/reassign/",
        {"from_manager": "alice", "to_manager": "bob", "reason": "x", "numbers": [board["bob"].number]},
    )
    assert r.status_code == 422
    assert not Event.objects.filter(type="reassigned").exists()
    r = c.post(
        "/workbench/reassign/",
        {"from_manager": "alice", "to_manager": "bob", "reason": "休假", "numbers": [board["late"].number]},
    )
    assert r.status_code == 200 and "将 1 件申请从李爱转派给包博？" in r.content.decode()
    assert not Event.objects.filter(type="reassigned").exists()
    r = c.post(
        "/workbench/reassign/",
        {
            "from_manager": "alice",
            "to_manager": "bob",
            "reason": "休假",
            "numbers": [board["late"].number],
            "confirmed": "1",
        },
    )
    assert r.status_code == 302
    assert list(Event.objects.filter(type="reassigned").values_list("application__number", flat=True)) == [
        board["late"].number
    ]
    assert Application.objects.filter(customer_manager__username="alice").count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["auditor", "alice", "clerk", "engineer"])
def test_reassignment_is_refused_to_other_roles_and_changes_nothing(personas, board, role):
    c = client_for(personas[role])
    assert c.get("/workbench/reassign/?from=alice").status_code == 403
    r = c.post(
        "/workbench/reassign/",
        {"from_manager": "alice", "to_manager": "bob", "reason": "x", "numbers": [board["late"].number]},
    )
    assert r.status_code == 403
    assert not Event.objects.filter(type="reassigned").exists()
    assert Application.objects.get(pk=board["late"].pk).customer_manager == personas["alice"]


@pytest.mark.django_db
def test_auditor_sees_the_queue_but_gets_no_intake_or_reassign_links(personas, board):
    with at(2026, 10, 9, 9, 0):
        html = client_for(personas["auditor"]).get("/workbench/").content.decode()
    assert len(rows_of(html)) == 5
    assert 'href="/workbench/intake/"' not in html
    assert 'href="/workbench/reassign/"' not in html
    assert 'href="/workbench/team/"' in html  # the auditor reads the team view
    leader = client_for(personas["leader"]).get("/workbench/").content.decode()
    assert 'href="/workbench/reassign/"' in leader


@pytest.mark.django_db
def test_customer_steps_without_a_deadline_come_after_the_clocked_ones(personas, board):
    """A high-voltage case waiting for the customer's design has no utility clock: it sorts last."""
    hv = board["hv"]
    with at(2026, 9, 30, 9, 0):
        services.complete_stage(hv.number, "scheme", personas["alice"])
    with at(2026, 10, 9, 9, 0):
        html = client_for(personas["alice"]).get("/workbench/").content.decode()
    assert rows_of(html)[-1] == hv.number
    row = html.split(f'<tr data-number="{hv.number}">', 1)[1].split("</tr>", 1)[0]
    assert '<td class="badges"></td>' in row and "<td>客户设计</td>" in row
