"""The desk pages in a real browser (Debian's Chromium): sign-in, counter intake with an htmx
error in place and the receipt, the queue badges, the dashboard chart, bulk reassignment, a
tablet-size check and accessibility basics. Any console error (a CSP violation) fails a test."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from sunshine.applications.models import Application, Event
from tests.conftest import BrowserPage
from tests.test_workbench_desk_queue import make_app

pytestmark = pytest.mark.browser
TZ = ZoneInfo("Asia/Shanghai")
TABLET = {"width": 768, "height": 1024}

# Label, heading order and keyboard focus checks run in the page.
A11Y_JS = """() => {
  const problems = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-label')
      || el.getAttribute('aria-labelledby');
    if (!labelled) problems.push('unlabelled ' + (el.name || el.id));
  }
  let last = 0;
  for (const h of document.querySelectorAll('main h1, main h2, main h3, main h4')) {
    const level = Number(h.tagName[1]);
    if (level > last + 1) problems.push('heading jumps to ' + h.tagName + ': ' + h.textContent.trim());
    last = level;
  }
  if (document.querySelectorAll('main h1').length !== 1) problems.push('one h1 expected');
  return problems;
}"""


def check_a11y(page) -> None:
    assert page.evaluate(A11Y_JS) == []


def focus_is_visible(page) -> bool:
    return page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle !== 'none' "
        "&& parseFloat(s.outlineWidth) >= 2; }"
    )


def at(*args):
    # tick=True: the browser's own timers keep running; the server sees the travelled date
    return time_machine.travel(datetime(*args, tzinfo=TZ), tick=True)


@pytest.mark.django_db(transaction=True)
def test_sign_in_wrong_password_then_success(office_page, personas):
    page = office_page.page
    page.goto("/workbench/")
    assert page.url.endswith("/accounts/login/?next=/workbench/")
    assert page.locator("h1").inner_text() == "工作人员登录"
    check_a11y(page)
    page.fill("#id_username", "alice")
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")
    assert "用户名或密码不正确" in page.locator("#login-error").inner_text()
    page.fill("#id_password", "pw-alice")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # "**/workbench/" would also match the login page's own "?next=/workbench/": wait for the queue.
    page.wait_for_url(lambda url: url.endswith("/workbench/") and "login" not in url)
    assert page.locator("h1").inner_text() == "我的待办"
    office_page.screenshot("desk-queue-empty")


@pytest.mark.django_db(transaction=True)
def test_counter_intake_shows_an_error_in_place_then_accepts_and_prints_the_receipt(office_page, personas):
    office_page.login(personas["clerk"])
    page = office_page.page
    with at(2026, 9, 29, 10, 0):
        page.goto("/workbench/intake/")
        check_a11y(page)
        page.fill("#id_customer_name", "张三")
        page.fill("#id_id_number", "11010519491231002X")
        page.fill("#id_phone", "12345")
        page.locator("#id_address").focus()  # leaving the field checks it (htmx)
        err = page.locator("#err-phone")
        err.get_by_text("请输入以1开头的11位中国大陆手机号码。").wait_for()
        assert Application.objects.count() == 0
        page.fill("#id_phone", "13800138000")
        page.fill("#id_address", "太原市晋源区晋祠路一段1号")
        page.locator("#id_address").press("Tab")
        page.locator("#err-phone p").wait_for(state="detached")
        page.fill("#id_requested_capacity", "8")
        page.locator("#id_requested_capacity").press("Tab")
        # the category follows the proposal from capacity and customer type
        page.locator("#category-proposal").get_by_text("低压居民").wait_for()
        assert page.locator("#id_category").input_value() == "lv_residential"
        assert page.locator("#err-category").inner_text() == ""
        office_page.screenshot("desk-intake-filled")
        page.click("text=受理并打印回执")
        page.wait_for_url("**/receipt/")
    app = Application.objects.get()
    assert page.locator(".receipt-number").inner_text() == app.number
    assert "李爱" in page.locator(".receipt-manager").inner_text()
    assert page.locator(".receipt-stages tbody tr").count() == 3
    assert page.locator(".missing-documents li").count() == 1
    check_a11y(page)
    office_page.screenshot("desk-receipt")
    page.emulate_media(media="print")
    assert page.locator(".staff-header").is_hidden()
    assert page.locator("[data-print]").is_hidden()
    office_page.screenshot("desk-receipt-print")


@pytest.mark.django_db(transaction=True)
def test_queue_badges_and_keyboard_focus(office_page, personas):
    clerk, alice = personas["clerk"], personas["alice"]
    late = make_app(clerk, datetime(2026, 9, 21, 9, tzinfo=TZ), manager=alice)
    today = make_app(clerk, datetime(2026, 9, 30, 9, tzinfo=TZ), manager=alice)
    later = make_app(clerk, datetime(2026, 10, 8, 9, tzinfo=TZ), manager=alice, key_project=True)
    office_page.login(alice)
    page = office_page.page
    with at(2026, 10, 9, 9, 0):
        page.goto("/workbench/")
        numbers = page.locator("tr[data-number]").evaluate_all("rows => rows.map(r => r.dataset.number)")
        assert numbers == [late.number, today.number, later.number]
        badge = page.locator(f'tr[data-number="{late.number}"] .badge')
        assert badge.inner_text() == "超期 6 个工作日"
        assert page.locator(f'tr[data-number="{today.number}"] .badge').inner_text() == "今天到期"
        assert page.locator(f'tr[data-number="{later.number}"] .badge').inner_text() == "剩余 1 个工作日"
        check_a11y(page)
        page.keyboard.press("Tab")  # the skip link first
        assert page.evaluate("document.activeElement.className") == "skip-link"
        assert focus_is_visible(page)
        page.keyboard.press("Tab")
        assert focus_is_visible(page)
        page.fill("#f-q", later.number)
        page.keyboard.press("Enter")
        page.wait_for_url(f"**q={later.number}**")
        assert page.locator("tr[data-number]").count() == 1
        office_page.screenshot("desk-queue-badges")


@pytest.mark.django_db(transaction=True)
def test_dashboard_draws_its_charts(office_page, personas):
    clerk, alice, bob = personas["clerk"], personas["alice"], personas["bob"]
    make_app(clerk, datetime(2026, 9, 21, 9, tzinfo=TZ), manager=alice)
    make_app(clerk, datetime(2026, 9, 30, 9, tzinfo=TZ), manager=bob, key_project=True)
    office_page.login(personas["leader"])
    page = office_page.page
    with at(2026, 10, 9, 9, 0):
        page.goto("/workbench/dashboard/")
        page.locator("#chart-stages canvas").wait_for()
        page.locator("#chart-categories canvas").wait_for()
        assert page.locator("#total-open").inner_text() == "2"
        assert page.locator("#total-overdue").inner_text() == "1"
        check_a11y(page)
        office_page.screenshot("desk-dashboard")
        page.locator("#by-manager a").first.click()
        page.wait_for_url("**/workbench/team/?manager=**")
        assert page.locator("h1").inner_text() == "团队待办"


@pytest.mark.django_db(transaction=True)
def test_bulk_reassignment(office_page, personas):
    clerk, alice = personas["clerk"], personas["alice"]
    apps = [make_app(clerk, datetime(2026, 10, 8, 9, tzinfo=TZ), manager=alice) for _ in range(3)]
    office_page.login(personas["leader"])
    page = office_page.page
    page.goto("/workbench/reassign/")
    page.select_option("#from-manager", "alice")
    page.click("text=查看其申请")
    page.wait_for_url("**from=alice")
    assert page.locator("table.reassign tbody tr").count() == 3
    assert page.locator("table.reassign input[type=checkbox]:checked").count() == 0  # nothing ticked
    page.check(f"#n-{apps[0].number}")
    page.check(f"#n-{apps[1].number}")
    page.select_option("#id_to_manager", "bob")
    page.fill("#id_reason", "李爱休产假")
    check_a11y(page)
    office_page.screenshot("desk-reassign")
    page.click("text=转派所选申请")
    page.locator("#reassign-confirm").wait_for()
    assert page.locator("#confirm-title").inner_text() == "将 2 件申请从李爱转派给包博？"
    assert not Event.objects.filter(type="reassigned").exists()
    check_a11y(page)
    office_page.screenshot("desk-reassign-confirm")
    page.click("#confirm-move")
    page.locator(".message-success").wait_for()
    assert "已将 2 件申请从李爱转派给包博。" in page.locator(".message-success").inner_text()
    assert Event.objects.filter(type="reassigned").count() == 2
    assert page.locator("table.reassign tbody tr").count() == 1


@pytest.mark.django_db(transaction=True)
def test_tablet_pages_fit_the_screen(browser, live_server, personas):
    clerk, alice = personas["clerk"], personas["alice"]
    make_app(clerk, datetime(2026, 9, 21, 9, tzinfo=TZ), manager=alice, key_project=True)
    bp = BrowserPage(browser, live_server.url, TABLET, mobile=True)
    try:
        bp.login(personas["leader"])
        for path, name in [
            ("/workbench/", "queue"),
            ("/workbench/intake/", "intake"),
            ("/workbench/dashboard/", "dashboard"),
        ]:
            bp.page.goto(path)
            overflow = bp.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, (path, overflow)
            bp.screenshot(f"desk-tablet-{name}")
        assert bp.errors == []
    finally:
        bp.close()
