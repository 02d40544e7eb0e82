"""Optional two-step sign-in for staff (TOTP, RFC 6238): enrolment from the workbench, the code
step at /accounts/login/, the ``otp`` field of the API's token endpoint, roles that must enrol
(SUNSHINE_TOTP_REQUIRED_ROLES), and wrong codes counted in django-axes' lockout.

Codes are computed with django_otp.oath.totp from the device's key at the travelled time."""

from __future__ import annotations

import json
import re

import pytest
import time_machine
from axes.models import AccessAttempt, AccessLog
from django.test import Client, override_settings
from django_otp.oath import totp as oath_totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from sunshine.accounts import totp

pytestmark = pytest.mark.django_db

T0 = "2026-11-27 09:00:00 +0800"
LOGIN = "/accounts/login/"
CODE = "/accounts/login/code/"
SECURITY = "/workbench/security/"
TOKEN = "/api/v1/auth/token"
WRONG_CODE_ZH = "验证码不正确，请输入验证器应用当前显示的6位数字。"


def code_of(device: TOTPDevice) -> str:
    """The device's code at the (travelled) time."""
    return f"{oath_totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def enrol(user) -> TOTPDevice:
    device = totp.start_enrolment(user)
    assert totp.confirm(user, code_of(device))
    device.refresh_from_db()
    return device


def password_step(client: Client, username: str, next_url: str = "") -> object:
    data = {"username": username, "password": "pw-" + username}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN, data)


def token(username: str, **extra: str):
    body = {"username": username, "password": "pw-" + username, **extra}
    return Client().post(TOKEN, json.dumps(body), content_type="application/json")


# --- enrolment ------------------------------------------------------------------------------------


def test_enrolment_shows_the_secret_and_turns_on_with_a_right_code(personas):
    clerk = personas["clerk"]
    c = Client()
    c.force_login(clerk)
    with time_machine.travel(T0, tick=False):
        page = c.get(SECURITY)
        assert page.status_code == 200
        html = page.content.decode()
        secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', html).group(1)
        uri = re.search(r'<code id="totp-uri">([^<]+)</code>', html).group(1)
        assert uri.startswith("otpauth://totp/") and "secret=" in uri
        assert "<svg" in html and "<path" in html and "style=" not in html.split("<svg", 1)[1].split("</svg>")[0]
        device = TOTPDevice.objects.get(user=clerk)
        assert device.confirmed is False
        assert secret.replace(" ", "") == totp.secret_text(device).replace(" ", "")
        # a reload shows the same secret (the app scanned a moment ago stays good)
        assert secret in c.get(SECURITY).content.decode()

        wrong = c.post(SECURITY, {"action": "confirm", "code": "000000" if code_of(device) != "000000" else "111111"})
        assert wrong.status_code == 200
        assert WRONG_CODE_ZH in wrong.content.decode()
        assert not totp.is_enrolled(clerk)

        right = c.post(SECURITY, {"action": "confirm", "code": code_of(device)})
    assert right.status_code == 302 and right["Location"] == SECURITY
    assert totp.is_enrolled(clerk)
    assert "两步登录已开启" in c.get(SECURITY).content.decode()


def test_turning_it_off_needs_a_current_code(personas):
    clerk = personas["clerk"]
    with time_machine.travel(T0, tick=False):
        device = enrol(clerk)
    c = Client()
    c.force_login(clerk)
    with time_machine.travel("2026-11-27 09:01:00 +0800", tick=False):
        assert c.post(SECURITY, {"action": "off", "code": "12345"}).status_code == 200
        assert totp.is_enrolled(clerk)
        assert c.post(SECURITY, {"action": "off", "code": code_of(device)}).status_code == 302
    assert not totp.is_enrolled(clerk)


# --- the sign-in page ---------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(personas):
    alice = personas["alice"]
    with time_machine.travel(T0, tick=False):
        device = enrol(alice)
    c = Client()
    with time_machine.travel("2026-11-27 09:05:00 +0800", tick=False):
        r = password_step(c, "alice", "/workbench/inbox/")
        assert r.status_code == 302 and r["Location"] == CODE
        # the password alone does not sign in
        assert c.get("/workbench/")["Location"].startswith(LOGIN)
        page = c.get(CODE)
        assert page.status_code == 200 and "6位验证码" in page.content.decode()
        logs_before = AccessLog.objects.filter(username="alice").count()
        done = c.post(CODE, {"code": code_of(device)})
        assert done.status_code == 302 and done["Location"] == "/workbench/inbox/"
        assert c.get("/workbench/").status_code == 200
    # the sign-in is audited like any other (django-axes' AccessLog)
    assert AccessLog.objects.filter(username="alice").count() == logs_before + 1


def test_a_code_is_good_once(personas):
    alice = personas["alice"]
    with time_machine.travel(T0, tick=False):
        device = enrol(alice)
    with time_machine.travel("2026-11-27 09:05:00 +0800", tick=False):
        first = Client()
        password_step(first, "alice")
        assert first.post(CODE, {"code": code_of(device)}).status_code == 302
        second = Client()
        password_step(second, "alice")
        replay = second.post(CODE, {"code": code_of(device)})
    assert replay.status_code == 200 and WRONG_CODE_ZH in replay.content.decode()


def test_five_wrong_codes_lock_the_account_out_like_wrong_passwords(personas):
    alice = personas["alice"]
    with time_machine.travel(T0, tick=False):
        device = enrol(alice)
    c = Client()
    with time_machine.travel("2026-11-27 09:05:00 +0800", tick=False):
        right = code_of(device)
        wrong = "000000" if right != "000000" else "111111"
        password_step(c, "alice")
        for _ in range(4):
            r = c.post(CODE, {"code": wrong})
            assert r.status_code == 200 and WRONG_CODE_ZH in r.content.decode()
        assert AccessAttempt.objects.get(username="alice").failures_since_start == 4
        fifth = c.post(CODE, {"code": wrong})
        assert fifth.status_code == 429
        # locked: neither the password step nor the right code gets in now
        again = Client()
        assert password_step(again, "alice").status_code == 429
        assert again.post(CODE, {"code": right}).status_code == 302  # no pending step: back to sign-in
        assert again.get("/workbench/")["Location"].startswith(LOGIN)
    # five wrong codes, then the refused password attempt during the lockout
    assert AccessAttempt.objects.get(username="alice").failures_since_start == 6


def test_the_password_step_expires_after_five_minutes(personas):
    alice = personas["alice"]
    with time_machine.travel(T0, tick=False):
        device = enrol(alice)
    c = Client()
    with time_machine.travel("2026-11-27 09:05:00 +0800", tick=False):
        password_step(c, "alice")
    with time_machine.travel("2026-11-27 09:10:01 +0800", tick=False):
        r = c.post(CODE, {"code": code_of(device)})
    assert r.status_code == 302 and r["Location"] == LOGIN
    assert c.get("/workbench/")["Location"].startswith(LOGIN)


def test_the_admin_sign_in_form_is_not_a_way_around_the_code(personas):
    admin = personas["admin"]
    with time_machine.travel(T0, tick=False):
        enrol(admin)
        c = Client()
        r = c.post("/admin/login/?next=/admin/", {"username": "admin", "password": "pw-admin"})
        assert r.status_code == 302 and r["Location"] == "/accounts/login/?next=/admin/"
        assert c.get("/admin/")["Location"].startswith("/admin/login/")
        # the staff sign-in then asks for the code and goes on to the admin
        r = password_step(c, "admin", "/admin/")
        assert r["Location"] == CODE
    # a signed-in member of staff who is not an administrator: the 403 page, not a loop
    leader = Client()
    leader.force_login(personas["leader"])
    assert leader.get("/admin/")["Location"] == "/admin/login/?next=/admin/"
    assert leader.get("/admin/login/?next=/admin/").status_code == 403


@override_settings(SUNSHINE_TOTP_REQUIRED_ROLES=["admin"])
def test_a_required_admin_cannot_open_the_admin_before_enrolling(personas):
    c = Client()
    c.force_login(personas["admin"])
    assert c.get("/admin/")["Location"] == SECURITY


def test_without_a_device_sign_in_is_one_step(personas):
    r = password_step(Client(), "clerk")
    assert r.status_code == 302 and r["Location"] == "/workbench/"


# --- the API --------------------------------------------------------------------------------------


def test_the_token_endpoint_needs_the_code_once_enrolled(personas):
    assert token("engineer").status_code == 200  # not enrolled: as before
    with time_machine.travel(T0, tick=False):
        device = enrol(personas["engineer"])
    with time_machine.travel("2026-11-27 09:05:00 +0800", tick=False):
        missing = token("engineer")
        assert missing.status_code == 401
        otp_required = "此账号已开启两步登录：请在 otp 字段中提交6位验证码。"
        assert missing.json() == {"code": "otp_required", "message": otp_required}
        right = code_of(device)
        bad = token("engineer", otp="000000" if right != "000000" else "111111")
        assert bad.status_code == 401
        assert bad.json() == {"code": "invalid_otp", "message": WRONG_CODE_ZH}
        ok = token("engineer", otp=right)
    assert ok.status_code == 200 and set(ok.json()) == {"token", "expires_at"}
    # the wrong code was counted by django-axes; the success reset the count
    assert not AccessAttempt.objects.filter(username="engineer").exists()


def test_wrong_api_codes_are_throttled_like_wrong_passwords(personas):
    with time_machine.travel(T0, tick=False):
        device = enrol(personas["engineer"])
    with time_machine.travel("2026-11-27 09:05:00 +0800", tick=False):
        right = code_of(device)
        wrong = "000000" if right != "000000" else "111111"
        for _ in range(5):
            assert token("engineer", otp=wrong).status_code == 401
        assert token("engineer", otp=right).status_code == 429


# --- roles that must enrol ----------------------------------------------------------------------


@override_settings(SUNSHINE_TOTP_REQUIRED_ROLES=["leader"])
def test_a_required_role_can_do_nothing_but_enrol_first(personas):
    leader = personas["leader"]
    c = Client()
    with time_machine.travel(T0, tick=False):
        r = password_step(c, "leader")
        assert r.status_code == 302 and r["Location"] == SECURITY
        assert c.get("/workbench/")["Location"] == SECURITY
        assert c.get("/workbench/dashboard/")["Location"] == SECURITY
        assert c.get("/api/v1/applications").status_code == 401  # the session does not reach the API
        assert token("leader").json()["code"] == "otp_enrolment_required"
        page = c.get(SECURITY).content.decode()
        assert "您的角色要求两步登录" in page
        device = TOTPDevice.objects.get(user=leader)
        assert c.post(SECURITY, {"action": "confirm", "code": code_of(device)}).status_code == 302
        assert c.get("/workbench/").status_code == 200
        # it cannot be turned off
        assert 'value="off"' not in c.get(SECURITY).content.decode()
    # other roles are not asked
    assert password_step(Client(), "clerk")["Location"] == "/workbench/"


def test_unknown_required_roles_fail_loudly(monkeypatch):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    import sunshine.settings

    monkeypatch.setenv("SUNSHINE_TOTP_REQUIRED_ROLES", "leader,chief")
    with pytest.raises(ImproperlyConfigured, match="chief"):
        importlib.reload(sunshine.settings)
    monkeypatch.delenv("SUNSHINE_TOTP_REQUIRED_ROLES")
    importlib.reload(sunshine.settings)
