"""Test overlay: same settings, fast password hashing, isolated cache."""

from sunshine.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}
LANGUAGE_CODE = "zh-hans"

# A file, not :memory:, for SQLite test databases: the live server of browser tests runs in
# another thread and must see the same database after the test's own connection closes.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}  # noqa: F405
SUNSHINE_SMS_BACKEND = "locmem"

# A "replica" alias that mirrors the test database, so tests can prove which reads the router
# sends there (tests/test_dbrouters.py turns routing on with SUNSHINE_READ_REPLICA="replica").
# Unused otherwise: SUNSHINE_READ_REPLICA stays None unless DATABASE_REPLICA_URL is set.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
# Tests render pages without collectstatic, whatever the profile.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True

# Reactions run in the transaction of the change (as a worker would run them after it), so a test
# sees rung moments and messages at once; tests of the outbox itself switch to "worker".
SUNSHINE_REACTIONS = "eager"
