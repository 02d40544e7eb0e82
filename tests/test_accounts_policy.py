"""Staff accounts: password policy and the sign-in audit trail."""

from __future__ import annotations

import json

import pytest
from axes.models import AccessFailureLog, AccessLog
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-1", "密码太短，至少需要 10 个字符。"),
        ("9081726354102", "密码只包含数字。"),
        ("password123", "这个密码太常见了。"),
    ],
)
def test_weak_passwords_are_refused_in_chinese(password, message):
    with pytest.raises(ValidationError) as error:
        validate_password(password)
    assert message in error.value.messages


def test_the_demo_password_meets_the_policy():
    from sunshine.ops.demo.accounts import DEMO_PASSWORD

    validate_password(DEMO_PASSWORD)


@pytest.mark.django_db
def test_sign_ins_and_failures_are_audited(personas):
    c = Client()
    body = {"username": "clerk", "password": "wrong"}
    c.post("/api/v1/auth/token", json.dumps(body), content_type="application/json", REMOTE_ADDR="10.0.0.7")
    assert list(AccessFailureLog.objects.values_list("username", "ip_address")) == [("clerk", "10.0.0.7")]
    r = c.post("/accounts/login/", {"username": "clerk", "password": "pw-clerk"}, REMOTE_ADDR="10.0.0.8")
    assert r.status_code == 302
    assert list(AccessLog.objects.values_list("username", "ip_address")) == [("clerk", "10.0.0.8")]
