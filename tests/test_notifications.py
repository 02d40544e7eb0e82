"""Notifications of the case engine: who gets which text, once, and how it is delivered.

November 2026 has no holidays: Mon 2 … Fri 6, Sat 7, Sun 8, Mon 9 … Fri 13.
"""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from sunshine.applications import services
from sunshine.applications.models import Application, Event
from sunshine.applications.validation import validate_intake
from sunshine.notifications import sms
from sunshine.notifications.models import Message, MessageStatus, Template
from sunshine.notifications.services import notify_customer, notify_staff
from sunshine.notifications.tasks import deliver_due
from sunshine.pii.crypto import phone_index
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


@pytest.fixture(autouse=True)
def _sms_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def new_app(actor, when="2026-11-02", category="lv_residential", channel="counter", **overrides) -> Application:
    if category.startswith("hv"):
        overrides.setdefault("requested_capacity", 800)
        overrides.setdefault("capacity_unit", "kVA")
    with at(when), pytest.MonkeyPatch.context() as mp:
        mp.setattr("sunshine.applications.services.new_number", lambda on: "YK2611020000018")
        data = validate_intake(intake_body(channel=channel, category=category, **overrides), date.fromisoformat(when))
        return services.intake(data, actor).application


def texts(app: Application) -> list[tuple[str, str, str, str]]:
    return list(
        Message.objects.filter(application=app).order_by("id").values_list("template", "channel", "recipient", "body")
    )


def deliver_all(when: str, hm: str = "10:01") -> int:
    """What the workers do with the message table: claim the due rows in batches and send them."""
    with at(when, hm):
        return deliver_due()


def test_a_residential_case_walked_through_tells_the_customer_each_node_once(
    personas, django_capture_on_commit_callbacks
):
    alice = personas["alice"]
    with django_capture_on_commit_callbacks(execute=True):
        app = new_app(personas["clerk"])
    number = app.number
    assert texts(app) == [
        (
            "accepted",
            "sms",
            f"phone:{phone_index('13800138000')}",
            "【阳光业扩】张三您好，您的用电申请已受理，申请编号YK2611020000018。客户经理李爱（电话0351-1111111）为您服务。"
            "承诺时限：业务受理1、现场勘查2、装表接电2，合计5个工作日。进度查询或投诉请致电0351-12398。",
        ),
        ("assigned", "inbox", f"user:{alice.pk}", "申请YK2611020000018（张三，太原市晋源区晋祠路一段1号）已分派给您。"),
    ]
    with at("2026-11-03"), django_capture_on_commit_callbacks(execute=True):
        services.complete_stage(number, "survey", personas["engineer"])
    with at("2026-11-04"), django_capture_on_commit_callbacks(execute=True):
        services.pause(number, alice, reason_code="customer_request", reason="客户要求暂缓，待装修完成")
    with at("2026-11-06"), django_capture_on_commit_callbacks(execute=True):
        services.resume(number, alice)
    with at("2026-11-09"), django_capture_on_commit_callbacks(execute=True):
        services.reassign(number, personas["leader"], username="bob", reason="李爱休假")
    with at("2026-11-10"), django_capture_on_commit_callbacks(execute=True):
        services.complete_stage(number, "connection", personas["bob"])
    bob = personas["bob"]
    assert texts(app)[2:] == [
        (
            "stage_completed",
            "sms",
            f"phone:{phone_index('13800138000')}",
            "【阳光业扩】您的申请YK2611020000018已完成“现场勘查”环节，下一环节：装表接电，预计2026年11月5日前完成。",
        ),
        (
            "paused",
            "sms",
            f"phone:{phone_index('13800138000')}",
            "【阳光业扩】您的申请YK2611020000018已暂停办理，原因：客户要求暂缓，待装修完成。"
            "如认为暂停原因不在您，可在进度查询页面提出申诉或致电0351-12398。",
        ),
        (
            "resumed",
            "sms",
            f"phone:{phone_index('13800138000')}",
            "【阳光业扩】您的申请YK2611020000018已恢复办理（装表接电），本环节办结期限2026年11月9日。",
        ),
        (
            "manager_changed",
            "sms",
            f"phone:{phone_index('13800138000')}",
            "【阳光业扩】您的申请YK2611020000018已改由客户经理包博（电话0351-2222222）负责办理，进度与时限不变。"
            "如有疑问请致电0351-12398。",
        ),
        (
            "assigned",
            "inbox",
            f"user:{bob.pk}",
            "申请YK2611020000018（张三，太原市晋源区晋祠路一段1号）已分派给您，原因：李爱休假。",
        ),
        (
            "connected",
            "sms",
            f"phone:{phone_index('13800138000')}",
            "【阳光业扩】您的申请YK2611020000018已完成装表接电，正式通电。感谢您的信任，近期我们将回访，"
            "请对我们的服务作出评价。监督电话0351-12398。",
        ),
        # (the feedback app schedules the follow-up call on connection, through the same outbox)
        (
            "followup_assigned",
            "inbox",
            f"user:{personas['clerk'].pk}",
            "回访任务：申请YK2611020000018（张三）请于2026-11-17前完成回访。",
        ),
        (
            "followup_coming",
            "sms",
            f"phone:{phone_index('13800138000')}",
            "【阳光业扩】您的申请YK2611020000018已办结，近期我们将致电回访，请留意接听。监督电话0351-12398。",
        ),
    ]
    # Every SMS went out once through the gateway, with its own idempotency key.
    assert deliver_all("2026-11-10", "10:05") == 10  # 7 SMS, 3 inbox
    # (tasks enqueued in the same instant run in any order)
    assert sorted((s.phone, s.text) for s in sms.outbox) == sorted(
        ("13800138000", body) for _t, channel, _r, body in texts(app) if channel == "sms"
    )
    assert len({s.key for s in sms.outbox}) == 7
    assert Message.objects.filter(application=app, channel="sms").exclude(status=MessageStatus.SENT).count() == 0
    sent = list(Event.objects.filter(application=app, type="notification_sent").values_list("data", flat=True))
    assert sorted((d["channel"], d["template"], d["recipient"]) for d in sent) == [
        ("inbox", "assigned", "alice"),
        ("inbox", "assigned", "bob"),
        ("inbox", "followup_assigned", "clerk"),
        ("sms", "accepted", "138****8000"),
        ("sms", "connected", "138****8000"),
        ("sms", "followup_coming", "138****8000"),
        ("sms", "manager_changed", "138****8000"),
        ("sms", "paused", "138****8000"),
        ("sms", "resumed", "138****8000"),
        ("sms", "stage_completed", "138****8000"),
    ]


def test_staff_sms_go_to_the_private_mobile_never_to_the_published_work_phone(personas):
    alice, bob = personas["alice"], personas["bob"]
    bob.mobile_phone = ""  # only the work phone customers are given
    bob.save(update_fields=["mobile_phone"])
    Template.objects.update_or_create(
        code="test_sms", defaults={"audience": "staff", "channels": "inbox,sms", "title": "T", "body": "{{ text }}"}
    )
    assert notify_staff([alice, bob], "test_sms", {"text": "超期"}, key="k1") == 3
    assert sorted(Message.objects.values_list("recipient", "channel", "address")) == [
        (f"user:{alice.pk}", "inbox", ""),
        (f"user:{alice.pk}", "sms", "13911110001"),
        (f"user:{bob.pk}", "inbox", ""),
    ]


def test_the_same_key_twice_stores_and_sends_one_message(personas, django_capture_on_commit_callbacks):
    leader = personas["leader"]
    leader.email = "leader@example.com"
    leader.save()
    app = new_app(personas["clerk"])
    with at("2026-11-05"), django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = notify_staff(
            [leader],
            "overdue",
            {"stage_name": "现场勘查", "days": 1, "deadline": "11月4日"},
            application=app,
            key="rung:1:overdue",
        )
        again = notify_staff([leader, leader], "overdue", {"days": 9}, application=app, key="rung:1:overdue")
    assert (first, again) == (2, 0)  # inbox + e-mail (the leader has no work phone)
    assert callbacks == []  # no job per message: the workers claim due rows from the table
    rows = Message.objects.filter(key="rung:1:overdue").order_by("channel")
    assert [(m.channel, m.address, m.body) for m in rows] == [
        (
            "email",
            "leader@example.com",
            "超期：申请YK2611020000018“现场勘查”环节已超期1个工作日（期限11月4日），请立即办理。",
        ),
        ("inbox", "", "超期：申请YK2611020000018“现场勘查”环节已超期1个工作日（期限11月4日），请立即办理。"),
    ]
    with at("2026-11-05"), django_capture_on_commit_callbacks(execute=True):
        assert notify_customer(app, "message", {"text": "测试"}, key="k") == 1
        assert notify_customer(app, "message", {"text": "again"}, key="k") == 0


def test_a_rolled_back_change_leaves_no_message_and_enqueues_nothing(personas, django_capture_on_commit_callbacks):
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    app = new_app(personas["clerk"])
    before = Message.objects.count()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify_customer(app, "message", {"text": "x"}, key="rolled-back")
        raise RuntimeError
    assert Message.objects.count() == before
    assert callbacks == []
    assert not DBTaskResult.objects.exists()


def test_templates_see_plain_values_only(personas, django_capture_on_commit_callbacks):
    template = Template.objects.get(code="message")
    template.body = "{{ text }}|{{ app.customer.id_number }}|{{ number }}|{% now 'Y' %}"
    template.save()
    app = new_app(personas["clerk"])
    with at("2026-11-05"):
        notify_customer(app, "message", {"text": "你好", "app": app}, key="plain")
    assert Message.objects.get(key="plain").body == "你好||YK2611020000018|2026"


def test_a_failed_design_review_tells_the_customer_every_defect_once(personas, django_capture_on_commit_callbacks):
    """HV single supply: scheme → customer design → design review fails with two defects."""
    eng = personas["engineer"]
    app = new_app(personas["clerk"], category="hv_single")
    number = app.number
    with at("2026-11-03"):
        services.complete_stage(number, "scheme", eng)
    with at("2026-11-09"):
        services.complete_stage(number, "customer_design", personas["alice"])
    before = Message.objects.filter(application=app).count()
    with at("2026-11-12"):
        services.complete_stage(
            number,
            "design_review",
            eng,
            outcome="failed",
            defects=["配电室未设置挡鼠板", "电缆沟排水坡度不足"],
        )
    assert texts(app)[before:] == [
        (
            "defects",
            "sms",
            f"phone:{phone_index('13800138000')}",
            "【阳光业扩】您的申请YK2611020000018在“设计文件审查”中发现以下问题，现一次性告知："
            "1. 配电室未设置挡鼠板；2. 电缆沟排水坡度不足。整改完成后请联系客户经理李爱（电话0351-1111111）。",
        )
    ]
    # The accepted notice quoted the utility stages' limits (optional ones marked).
    assert Message.objects.get(application=app, template="accepted").body.split("承诺时限：")[1].split("。")[0] == (
        "业务受理1、现场勘查及供电方案答复15、设计文件审查10（如需）、中间检查5（如需）、竣工检验5、装表接电5，合计41个工作日"
    )


def test_staff_e_mail_carries_the_idempotency_key(personas, django_capture_on_commit_callbacks, mailoutbox):
    leader = personas["leader"]
    leader.email = "liu@example.com"
    leader.save()
    with at("2026-11-05"), django_capture_on_commit_callbacks(execute=True):
        notify_staff([leader], "escalated", {"number": "YK1", "stage_name": "现场勘查", "days": 3}, key="esc")
    assert deliver_all("2026-11-05") == 2  # inbox + e-mail
    mail = Message.objects.get(key="esc", channel="email")
    assert [(m.subject, m.to, m.extra_headers["X-Idempotency-Key"]) for m in mailoutbox] == [
        ("超期升级督办", ["liu@example.com"], str(mail.delivery_key))
    ]
    assert mailoutbox[0].body.startswith("督办：申请YK1“现场勘查”环节已超期3个工作日")
    assert mail.status == MessageStatus.SENT
