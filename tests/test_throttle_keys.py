"""Throttle counters and one-time codes keep no raw input in their cache keys.

What the caller types (a username, a phone number) and where they call from (the IP address)
reach the cache only as a keyed hash: a cache dump names no one, and a key is always short and
made of characters memcached accepts (Django's CacheKeyWarning would flag anything else), whatever
the input. The throttles still count per username and client, per phone, and per client.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings

import pytest
from django.core.cache import CacheKeyWarning, caches
from django.test import Client

from sunshine.accounts.services import throttle_key
from sunshine.notifications import verification

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
IP = "203.0.113.77"
PHONE = "13812345678"
SAFE_KEY = re.compile(r"^[A-Za-z0-9:_.-]{1,200}$")


def cache_keys() -> list[str]:
    return list(caches["default"]._cache)  # type: ignore[attr-defined]


def sign_in(username: str, password: str = "wrong") -> int:
    r = Client(REMOTE_ADDR=IP).post(
        TOKEN_URL, json.dumps({"username": username, "password": password}), content_type="application/json"
    )
    return r.status_code


def assert_no_raw_input(*raw: str) -> None:
    keys = cache_keys()
    assert keys, "the throttles wrote nothing to the cache"
    for key in keys:
        assert SAFE_KEY.match(key), key
        for value in raw:
            assert value not in key, (value, key)


def test_odd_usernames_make_safe_keys_and_are_still_throttled(personas):
    odd = "ö\x10\U0001fe0b reassign to " + "长" * 300
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        for _ in range(5):
            assert sign_in(odd) == 401
        assert sign_in(odd) == 429
        assert_no_raw_input(odd, odd.lower(), IP, "reassign")
        # the count is per username and client: another username from the same client goes on
        assert sign_in("clerk", "pw-clerk") == 200


def test_a_username_longer_than_any_account_is_refused_not_a_server_error(personas):
    """PostgreSQL refused django-axes' record of a 300-character username (a 500 before)."""
    long_name = "x" * 300
    for _ in range(5):
        assert sign_in(long_name) == 401
    assert sign_in(long_name) == 429


def test_a_known_username_and_the_ip_are_not_in_the_failure_key(personas):
    assert sign_in("clerk") == 401
    assert_no_raw_input("clerk", IP)
    key = throttle_key("login-fail", IP, "clerk")
    assert key.startswith("throttle:login-fail:") and len(key) == len("throttle:login-fail:") + 40
    assert caches["default"].get(key) == 1


def test_the_key_is_keyed_by_the_secret(settings):
    plain = hashlib.sha256(f"{IP}\x1fclerk".encode()).hexdigest()[:40]
    before = throttle_key("login-fail", IP, "clerk")
    assert plain not in before
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert throttle_key("login-fail", IP, "clerk") != before


def test_public_look_ups_count_by_a_hash_of_the_client(personas):
    r = Client(REMOTE_ADDR=IP).get("/api/v1/public/applications/YK2611270000001", {"phone_tail": "8000"})
    assert r.status_code == 404
    assert_no_raw_input(IP)
    assert caches["default"].get(throttle_key("public-lookup", IP)) == 1


def test_verification_codes_name_no_phone_and_no_plain_hash_of_it(personas):
    from django.test import override_settings

    with override_settings(SUNSHINE_SMS_BACKEND="locmem"):
        verification.request_code(PHONE, client=IP)
    plain = hashlib.sha256(PHONE.encode()).hexdigest()[:32]
    plain_with_purpose = hashlib.sha256(f"apply:{PHONE}".encode()).hexdigest()[:32]
    assert_no_raw_input(PHONE, IP, plain, plain_with_purpose)
    # the phone's gap still holds: a second code at once is refused
    with pytest.raises(verification.CodeError) as exc:
        verification.request_code(PHONE, client="198.51.100.9")
    assert exc.value.code == "throttled_phone"
