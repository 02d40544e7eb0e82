"""Test overlay: same settings, fast password hashing, isolated cache."""

from sunshine.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}
LANGUAGE_CODE = "zh-hans"
