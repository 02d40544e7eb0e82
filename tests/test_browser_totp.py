"""Two-step sign-in in a real browser: a customer manager turns it on from the workbench (QR code
and key shown, confirmed with a code), then signs in with the password and the code; a wrong
code is refused in Chinese. Strict CSP: the inline SVG QR code must raise no console error."""

from __future__ import annotations

from base64 import b32decode
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import totp as oath_totp

from sunshine.accounts import totp

pytestmark = pytest.mark.browser


def code_for(secret_text: str) -> str:
    raw = secret_text.replace(" ", "")
    key = b32decode(raw + "=" * (-len(raw) % 8))
    return f"{oath_totp(key, step=30, t0=0, digits=6):06d}"


@pytest.mark.django_db(transaction=True)
def test_enrol_then_sign_in_with_password_and_code(office_page, personas):
    alice = personas["alice"]
    office_page.login(alice)
    page = office_page.page
    page.goto("/workbench/")
    with page.expect_navigation():
        page.get_by_role("link", name="两步登录").click()
    assert page.url.endswith("/workbench/security/")
    assert page.locator(".totp-qr svg").is_visible()
    secret = page.locator("#totp-secret").inner_text()
    assert page.locator("#totp-uri").inner_text().startswith("otpauth://totp/")
    office_page.screenshot("totp-enrol")
    page.get_by_label("6位验证码").fill(code_for(secret))
    with page.expect_navigation():
        page.get_by_role("button", name="确认").click()
    assert "两步登录已开启" in page.locator(".messages").inner_text()
    assert totp.is_enrolled(alice)

    # Sign out, then sign in again a minute later (a code is good once).
    with page.expect_navigation():
        page.get_by_role("button", name="退出").click()
    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=True):
        page.goto("/accounts/login/")
        page.locator("input[name=username]").fill("alice")
        page.locator("input[name=password]").fill("pw-alice")
        with page.expect_navigation():
            page.locator("form.stacked button[type=submit]").click()
        assert page.url.endswith("/accounts/login/code/")
        right = code_for(secret)
        page.get_by_label("6位验证码").fill("000000" if right != "000000" else "111111")
        with page.expect_navigation():
            page.get_by_role("button", name="登录").click()
        assert page.locator("#code-error").inner_text() == "验证码不正确，请输入验证器应用当前显示的6位数字。"
        office_page.screenshot("totp-code-wrong")
        page.get_by_label("6位验证码").fill(code_for(secret))
        with page.expect_navigation():
            page.get_by_role("button", name="登录").click()
        assert page.url.endswith("/workbench/")
        assert page.locator(".staff-user").inner_text().startswith("李爱 · 客户经理")
