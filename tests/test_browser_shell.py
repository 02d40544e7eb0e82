"""The shared page shell in a real browser: Chinese by default, the language switch, no CSP
violation from htmx or the shared script, and the CJK font renders."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_the_shell_speaks_chinese_and_switches_to_english(phone_page):
    page = phone_page.page
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.locator("header .brand").inner_text() == "阳光业扩服务平台"
    with page.expect_navigation():
        page.select_option("#language-select", "en")
    assert page.locator("header .brand").inner_text() == "Sunshine new-connection service"
    assert page.evaluate("typeof htmx") == "object"
    phone_page.screenshot("shell-phone")
