"""In a real browser: a clerk walks the follow-up call script (one unreachable attempt, then a
"steered" answer that opens a case); an auditor opens the case and upholds it."""

from __future__ import annotations

import re

import pytest

from sunshine.feedback.models import FollowUp, FollowUpAttempt, SupervisionCase
from tests.test_feedback_followups import connected

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_call_script_with_an_unreachable_attempt_then_a_steered_answer_upheld_by_an_auditor(office_page, personas):
    app = connected(personas)
    followup = FollowUp.objects.get(application=app)
    page = office_page.page

    # the clerk's queue
    office_page.login(personas["clerk"])
    page.goto("/workbench/followups/")
    assert page.locator("h1").inner_text() == "回访"
    page.get_by_role("link", name="回访", exact=True).last.click()
    page.wait_for_url(f"**/workbench/followups/{followup.pk}/")
    office_page.screenshot("feedback-call-script")

    # first call: no answer
    page.select_option("#id_result", "no_answer")
    page.fill("#id_note", "无人接听")
    page.get_by_role("button", name="记录本次拨打").click()
    page.wait_for_load_state()
    assert "已记录第 1 次拨打，请稍后再拨。" in page.locator(".messages").inner_text()
    assert page.locator("#attempt-count").inner_text() == "1"

    # second call: the customer answers and says the manager steered them to a builder
    page.check("input[name=outcome][value=completed]")
    page.check("input[name=sat_overall][value='3']")
    page.check("input[name=sat_manager][value='2']")
    page.check("input[name=sat_timeliness][value='4']")
    page.check("input[name=steered_design][value=no]")
    page.get_by_role("group", name="5. 供电公司是否有人指定您使用某家施工单位？").get_by_label("是").check()
    page.check("input[name=steered_supply][value=no]")
    page.check("input[name=extra_charge][value=no]")
    page.check("input[name=told_once][value=yes]")
    page.get_by_label("9. 您还有其他意见或建议吗？").fill("客户经理让找某电气安装公司")
    office_page.screenshot("feedback-call-script-filled")
    page.get_by_role("button", name="保存回访").click()
    page.wait_for_url("**/workbench/followups/")
    message = page.locator(".messages").inner_text()
    assert re.search(r"回访已保存。已生成稽查案件：JC\d{14}", message), message
    assert "暂无待回访任务。" in page.content()

    case = SupervisionCase.objects.get()
    assert (case.kind, case.source, case.manager, case.application) == ("steering", "followup", personas["alice"], app)
    assert list(FollowUpAttempt.objects.values_list("result", flat=True)) == ["no_answer"]

    # the auditor's queue and the case
    office_page.login(personas["auditor"])
    page.goto("/workbench/cases/")
    page.get_by_role("link", name=case.tracking_number).click()
    page.wait_for_url(f"**/workbench/cases/{case.tracking_number}/")
    assert page.locator("h2").first.inner_text() == f"{app.number} 回访：客户反映被指定施工单位"
    page.get_by_label("核查记录").fill("电话联系客户，确认客户经理推荐施工单位")
    page.get_by_role("button", name="添加记录").click()
    page.wait_for_load_state()
    assert "记录已添加。" in page.locator(".messages").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("group", name="核查结论").get_by_label("属实", exact=True).check()
    page.get_by_label("处理措施").fill("约谈客户经理，本期考核一票否决")
    page.get_by_role("button", name="办结案件").click()
    page.wait_for_load_state()
    assert "结论已记录，案件已办结。" in page.locator(".messages").inner_text()
    assert page.locator("#case-status").inner_text() == "属实"
    office_page.screenshot("feedback-case-upheld")

    case.refresh_from_db()
    assert (case.status, case.finding, case.action_taken) == ("closed", "upheld", "约谈客户经理，本期考核一票否决")
    assert [n.text for n in case.notes.all()] == ["电话联系客户，确认客户经理推荐施工单位"]
