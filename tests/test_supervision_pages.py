"""/workbench/supervision/: the supervised list and take-charge form, notes and reviews, ending,
the deadline-supervision view; access, bad input and query counts."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from sunshine.accounts.models import Role
from sunshine.applications.models import Event
from sunshine.supervision.models import LeaderSupervision, SupervisionNote
from tests.conftest import make_user
from tests.test_sweep import at, fire, intake, ladder_fixture, rid  # noqa: F401

LIST = "/workbench/supervision/"
DEADLINES = "/workbench/supervision/deadlines/"


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def leader2(ladder):
    return make_user("leader2", Role.LEADER, last_name="孙", first_name="主任")


@pytest.mark.django_db
def test_a_leader_takes_charge_through_the_form(ladder):
    app = intake("2026-11-16")
    c = client_for(ladder["leader"])
    with at("2026-11-16", "12:00"):
        r = c.get(LIST)
        assert r.status_code == 200
        assert "目前没有挂牌督办的项目。" in r.content.decode()
        r = c.post(LIST, {"number": app.number.lower(), "reason": "市重点招商项目", "target_date": "2026-12-31"})
    assert r.status_code == 302
    assert r["Location"] == f"/workbench/supervision/{app.number}/"
    s = LeaderSupervision.objects.get()
    assert (s.application_id, s.leader, s.reason, s.target_date) == (
        app.pk,
        ladder["leader"],
        "市重点招商项目",
        date(2026, 12, 31),
    )
    with at("2026-11-16", "12:01"):
        page = c.get(r["Location"]).content.decode()
        assert "您已挂牌督办" in page
        assert "市重点招商项目" in page and "2026-12-31" in page
        listing = c.get(LIST).content.decode()
    assert f'href="/workbench/supervision/{app.number}/"' in listing
    assert ladder["leader"].display_name in listing  # the supervising leader


@pytest.mark.django_db
def test_bad_input_shows_chinese_errors_and_changes_nothing(ladder):
    app = intake("2026-11-16")
    c = client_for(ladder["leader"])
    with at("2026-11-16", "12:00"):
        r = c.post(LIST, {"number": app.number, "reason": "  ", "target_date": "2026-11-01"})
        assert r.status_code == 422
        body = r.content.decode()
        assert "请填写督办事由。" in body
        assert "目标完成日期不能早于今天。" in body
        r = c.post(LIST, {"number": "YK2611160000000", "reason": "重点", "target_date": "2026-12-01"})
        assert r.status_code == 422
        assert "未找到该编号的申请。" in r.content.decode()
        r = c.post(LIST, {"number": app.number, "reason": "重点", "target_date": ""})
        assert r.status_code == 422
    assert LeaderSupervision.objects.count() == 0
    assert not Event.objects.filter(type__startswith="supervision").exists()


@pytest.mark.django_db
def test_a_second_leader_cannot_take_a_supervised_project(ladder, leader2):
    app = intake("2026-11-16")
    with at("2026-11-16", "12:00"):
        client_for(ladder["leader"]).post(LIST, {"number": app.number, "reason": "重点", "target_date": "2026-12-31"})
        r = client_for(leader2).post(LIST, {"number": app.number, "reason": "我也管", "target_date": "2026-12-31"})
    assert r.status_code == 422
    assert f"该项目已由{ladder['leader'].display_name}挂牌督办。" in r.content.decode()
    assert list(LeaderSupervision.objects.values_list("leader__username", flat=True)) == ["leader"]


@pytest.mark.django_db
def test_who_may_open_and_act(ladder, leader2):
    app = intake("2026-11-16")
    with at("2026-11-16", "12:00"):
        for name in ("clerk", "engineer", "alice"):
            assert client_for(ladder[name]).get(LIST).status_code == 403
        # the auditor reads but cannot take charge
        auditor = client_for(ladder["auditor"])
        assert auditor.get(LIST).status_code == 200
        r = auditor.post(LIST, {"number": app.number, "reason": "x", "target_date": "2026-12-31"})
        assert r.status_code == 403
        assert Client().get(LIST).status_code == 302  # to the sign-in page
        client_for(ladder["leader"]).post(LIST, {"number": app.number, "reason": "重点", "target_date": "2026-12-31"})
        detail = f"/workbench/supervision/{app.number}/"
        # another leader sees the page but may not write notes or end it
        other = client_for(leader2)
        page = other.get(detail).content.decode()
        assert "结束督办" not in page
        assert other.post(detail, {"action": "note", "kind": "note", "text": "插一句"}).status_code == 403
        assert other.post(detail, {"action": "end", "note": "我来结束"}).status_code == 403
    assert SupervisionNote.objects.count() == 0
    assert LeaderSupervision.objects.get().ended_at is None


@pytest.mark.django_db
def test_notes_reviews_and_ending_from_the_detail_page(ladder):
    app = intake("2026-11-16")
    c = client_for(ladder["leader"])
    detail = f"/workbench/supervision/{app.number}/"
    with at("2026-11-16", "12:00"):
        c.post(LIST, {"number": app.number, "reason": "重点", "target_date": "2026-12-31"})
    with at("2026-11-18", "09:00"):
        assert c.post(detail, {"action": "note", "kind": "note", "text": "协调规划部门"}).status_code == 302
        r = c.post(detail, {"action": "note", "kind": "review", "text": "勘查已完成", "reviewed_on": ""})
        assert r.status_code == 422
        assert "请填写检查日期。" in r.content.decode()
        r = c.post(detail, {"action": "note", "kind": "review", "text": "勘查已完成", "reviewed_on": "2026-11-17"})
        assert r.status_code == 302
        page = c.get(detail).content.decode()
        assert "协调规划部门" in page and "检查日期 2026-11-17" in page
        assert c.post(detail, {"action": "end", "note": ""}).status_code == 422
        assert c.post(detail, {"action": "end", "note": "已按期送电"}).status_code == 302
        page = c.get(detail).content.decode()
    assert "该项目未被领导挂牌督办。" in page
    assert "已按期送电" in page  # earlier supervisions
    assert [(n.kind, n.text) for n in SupervisionNote.objects.order_by("id")] == [
        ("note", "协调规划部门"),
        ("review", "勘查已完成"),
    ]


@pytest.mark.django_db
def test_the_deadline_view_shows_coming_and_fired_rungs_to_each_his_own(ladder):
    mine = intake("2026-11-16")  # alice
    theirs = intake("2026-11-16", customer__id_number=rid(1))  # bob
    assert theirs.customer_manager == ladder["bob"]
    fire("2026-11-17", "08:30")
    with at("2026-11-17", "09:00"):
        page = client_for(ladder["alice"]).get(DEADLINES).content.decode()
        assert mine.number in page and theirs.number not in page
        assert "今天到期" in page and "剩余1个工作日" in page  # coming today/fired this morning
        everyone = client_for(ladder["leader"]).get(DEADLINES).content.decode()
        assert mine.number in everyone and theirs.number in everyone
        assert client_for(ladder["clerk"]).get(DEADLINES).status_code == 403


@pytest.mark.django_db
def test_pages_take_a_fixed_number_of_queries(ladder, leader2, django_assert_num_queries):
    c = client_for(ladder["leader"])

    def take(i: int) -> None:
        app = intake("2026-11-16", customer__id_number=rid(i))
        with at("2026-11-16", "12:00"):
            c.post(LIST, {"number": app.number, "reason": "重点", "target_date": "2026-12-31"})

    take(1)
    with at("2026-11-17", "09:00"):
        c.get(LIST)
        c.get(DEADLINES)
        with django_assert_num_queries(5):  # session, user, inbox unread count (nav), supervisions, stages
            c.get(LIST)
        # session, user, coming rungs and their supervised flags, fired rungs (none yet: no flags)
        with django_assert_num_queries(6):
            c.get(DEADLINES)
    for i in range(2, 9):
        take(i)
    fire("2026-11-17", "08:30")
    with at("2026-11-17", "09:00"):
        with django_assert_num_queries(5):
            r = c.get(LIST)
        assert r.content.decode().count('href="/workbench/supervision/YK') == 8
        with django_assert_num_queries(7):  # now with fired rungs and their flags
            r = c.get(DEADLINES)
        assert r.content.decode().count("剩余1个工作日") == 8
