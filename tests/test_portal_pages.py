"""Public portal pages: the home page's promises, progress tracking (timeline, pauses, defects,
the manager, privacy, throttling) and the pause contest.

November 2026 has no holidays: Mon 2 ... Fri 6, Mon 9 ... Fri 13, Mon 16 ... Fri 27, Mon 30.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import date
from typing import Any

import pytest
import time_machine
from django.test import Client, override_settings

from sunshine.applications import services
from sunshine.applications.models import Application
from sunshine.applications.validation import validate_intake
from sunshine.processes.models import ProcessTemplate
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
ID_NUMBER = "11010519491231002X"


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


def text_of(response) -> str:
    """The visible text of a page, whitespace collapsed (tags dropped)."""
    body = response.content.decode()
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def new_app(actor, when: str, **overrides: Any) -> Application:
    with at(when):
        body = intake_body(**overrides)
        return services.intake(validate_intake(body, date.fromisoformat(when)), actor).application


def paused_residential(personas) -> Application:
    """Counter intake Thu 11-26 (survey starts, 2 working days → Mon 11-30); paused Fri 11-27 for
    missing documents."""
    app = new_app(personas["clerk"], "2026-11-26")
    with at("2026-11-27"):
        services.pause(app.number, personas["alice"], reason_code="missing_documents", reason="请补交房产证明")
    return app


def failed_design_review(personas) -> Application:
    """High voltage: counter intake Mon 11-02, scheme done Wed 11-04, the customer's design in on
    Thu 11-05, design review failed Mon 11-09 with two defects (the case is back with the customer)."""
    admin = personas["admin"]
    app = new_app(admin, "2026-11-02", category="hv_single", requested_capacity=800, capacity_unit="kVA")
    with at("2026-11-04"):
        services.complete_stage(app.number, "scheme", admin)
    with at("2026-11-05"):
        services.complete_stage(app.number, "customer_design", admin)
    with at("2026-11-09"):
        services.complete_stage(
            app.number,
            "design_review",
            admin,
            outcome="failed",
            defects=["配电室防火门未标注耐火等级", "电缆通道断面图缺失"],
        )
    return app


# --- home -----------------------------------------------------------------------------------


def test_home_publishes_the_limits_of_the_templates_in_force(personas, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        r = Client().get("/")
    assert r.status_code == 200
    assert r["Content-Language"] == "zh-hans"
    text = text_of(r)
    # residential: the seeded template, end to end 5 working days
    card = re.search(r'id="promise-lv_residential">(.*?)</article>', r.content.decode(), re.S)
    assert card is not None
    card_text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card.group(1))).strip()
    assert card_text.startswith("低压居民 全流程 5 个工作日内办结 业务受理 1 个工作日 现场勘查 2 个工作日")
    assert "装表接电 2 个工作日" in card_text
    assert "一证受理" in text and "居民身份证" in text and "营业执照" in text
    assert "95598" in text and "营业厅柜台" in text and "网上办电" in text and "网上国网" in text
    assert "监督电话： 0351-12398" in text
    assert 'href="/complaints/"' in r.content.decode()


def test_home_follows_an_administrator_s_change_of_a_limit(personas):
    process = ProcessTemplate.objects.get(category="lv_residential")
    stage = process.stages.get(code="survey")
    stage.time_limit_days = 3
    stage.save()
    with override_settings(SUNSHINE_HOTLINE="0351-7654321"):
        r = Client().get("/")
    card = re.search(r'id="promise-lv_residential">(.*?)</article>', r.content.decode(), re.S)
    assert card is not None
    assert "现场勘查</span>" in card.group(1)
    assert re.search(r"现场勘查</span>\s*<span class=\"step-limit\">3 个工作日", card.group(1))
    assert "监督电话： 0351-7654321" in text_of(r)


def test_home_speaks_english_on_request(personas):
    r = Client().get("/", HTTP_ACCEPT_LANGUAGE="en")
    text = text_of(r)
    assert "Whole process within 5 working days" in text
    assert "Survey" in text or "survey" in text.lower()


# --- progress -------------------------------------------------------------------------------


def test_progress_form_has_the_contract_field_names(personas):
    r = Client().get("/progress/")
    body = r.content.decode()
    assert r.status_code == 200
    assert 'name="number"' in body and 'name="phone_tail"' in body
    assert '<label for="id_number">申请编号</label>' in body


def test_progress_shows_the_timeline_with_the_pause_in_plain_words(personas, django_assert_max_num_queries):
    app = paused_residential(personas)
    with at("2026-11-30"), django_assert_max_num_queries(8):
        r = Client().get("/progress/", {"number": app.number, "phone_tail": "8000"})
    assert r.status_code == 200
    text = text_of(r)
    assert f"申请 {app.number} · 张*" in text
    assert "低压居民 · 暂停中" in text
    # acceptance done on the day of intake, on time
    assert "业务受理 已完成 按时 开始 2026-11-26 期限 2026-11-27 已完成 2026-11-26" in text
    # survey from Thu 11-26, 2 days → Mon 11-30; the pause from Fri 11-27 covers Mon 11-30 → Tue 12-01
    assert "现场勘查 暂停中 按时 暂停中 开始 2026-11-26 期限 2026-12-01" in text
    assert "暂停中 2026-11-27 等您补充资料。资料补齐前计时暂停，这段时间不计入供电公司的办理时限。" in text
    assert "说明：请补交房产证明" in text
    assert "装表接电 未开始 时限 2 个工作日" in text
    assert "您的客户经理 李爱 工作电话： 0351-1111111" in text
    assert "这次暂停不是我的原因" in text
    assert "张三" not in text and PHONE not in r.content.decode() and ID_NUMBER not in r.content.decode()


def test_progress_shows_overdue_in_red_once_the_deadline_passed(personas):
    app = new_app(personas["clerk"], "2026-11-26")  # survey due Mon 11-30
    with at("2026-12-02"):
        r = Client().get("/progress/", {"number": app.number, "phone_tail": "8000"})
    text = text_of(r)
    assert "现场勘查 办理中 超期 开始 2026-11-26 期限 2026-11-30" in text
    assert 'class="current late"' in r.content.decode()
    assert "这次暂停不是我的原因" not in text  # never paused: nothing to contest


def test_progress_lists_the_defects_to_fix_once(personas):
    app = failed_design_review(personas)
    with at("2026-11-10"):
        r = Client().get("/progress/", {"number": app.number, "phone_tail": "8000"})
    text = text_of(r)
    assert "需要整改的问题（一次性告知） 设计文件审查，第 1 次： 配电室防火门未标注耐火等级 电缆通道断面图缺失" in text
    assert "设计文件审查 未通过，需要整改 按时" in text
    assert "客户设计（第 2 次） 办理中 由您办理，不计入供电公司时限" in text


@pytest.mark.parametrize("tail", ["0000", "800", "", "abcd", PHONE])
def test_a_wrong_pair_looks_exactly_like_an_unknown_number(personas, tail, caplog):
    app = paused_residential(personas)
    c = Client()
    with caplog.at_level(logging.INFO, logger="sunshine.portal"):
        wrong = c.get("/progress/", {"number": app.number, "phone_tail": tail})
        unknown = c.get("/progress/", {"number": "YK2611260000000", "phone_tail": tail})
    assert wrong.status_code == unknown.status_code == 404
    assert "未找到与该申请编号及手机号码后四位相符的申请。" in text_of(wrong)

    def same(r, number: str) -> str:  # the page with the typed number and the CSRF token blanked
        body = re.sub(r'CSRFToken": "[^"]+"', "", r.content.decode())
        return re.sub(r'csrfmiddlewaretoken" value="[^"]+"', "", body).replace(number, "N")

    assert same(wrong, app.number) == same(unknown, "YK2611260000000")
    assert "张*" not in text_of(wrong)
    assert any(app.number in m and "missed" in m for m in caplog.messages)


@override_settings(SUNSHINE_PUBLIC_LOOKUPS=3)
def test_brute_force_is_throttled_with_a_429_page_and_logged(personas, caplog):
    app = paused_residential(personas)
    c = Client(REMOTE_ADDR="203.0.113.9")
    for tail in ("0001", "0002", "0003"):
        assert c.get("/progress/", {"number": app.number, "phone_tail": tail}).status_code == 404
    with caplog.at_level(logging.WARNING, logger="sunshine.portal"):
        r = c.get("/progress/", {"number": app.number, "phone_tail": "8000"})
    assert r.status_code == 429
    assert r["Retry-After"] == "600"
    assert "本设备操作过于频繁，请稍后再试。" in text_of(r)
    assert "张*" not in text_of(r)
    [line] = [m for m in caplog.messages if "throttled" in m]
    assert app.number in line and "203.0.113.9" not in line
    assert re.search(r"client [0-9a-f]{12} ", line)
    # another client is not affected, and the budget is shared with the public API
    other = Client(REMOTE_ADDR="203.0.113.10")
    assert other.get("/progress/", {"number": app.number, "phone_tail": "8000"}).status_code == 200
    assert c.get(f"/api/v1/public/applications/{app.number}", {"phone_tail": "8000"}).status_code == 429


def test_progress_page_in_english(personas):
    app = paused_residential(personas)
    with at("2026-11-30"):
        r = Client().get("/progress/", {"number": app.number, "phone_tail": "8000"}, HTTP_ACCEPT_LANGUAGE="en")
    text = text_of(r)
    assert "Waiting for documents from you." in text
    assert "This pause is not my doing" in text
