"""One settings module, driven by environment variables.

Every variable has a safe default for a local trial (embedded SQLite under ``var/``); a bad value
fails loudly at start-up instead of being silently ignored.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from sunshine.observe.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SUNSHINE_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def envint(name: str, default: str) -> int:
    value = os.environ.get(name, default)
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


DEBUG = envbool("DEBUG", "false")
# The production profile (docs/deploy.md): behind a TLS-terminating proxy, PostgreSQL, hashed and
# compressed static files from collectstatic, secure cookies, HSTS; `manage.py check --deploy`
# is clean with it. Without it: a trial installation (SQLite, static files found in the apps).
SUNSHINE_ENV = env("SUNSHINE_ENV", "trial").strip().lower()
if SUNSHINE_ENV not in {"trial", "production"}:
    raise ImproperlyConfigured(f"SUNSHINE_ENV must be trial or production, got {SUNSHINE_ENV!r}")
PRODUCTION = SUNSHINE_ENV == "production"
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when SUNSHINE_ENV=production")
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION or (not DEBUG and envbool("SUNSHINE_REQUIRE_SECRET_KEY", "false")):
        raise ImproperlyConfigured("SECRET_KEY must be set in production")
    # A trial installation: a key that is stable per checkout but never committed.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        # Written aside, then linked into place: processes starting together (web, workers,
        # migrate) all end up with the first key, never half a file or one key each — the
        # personal-data keys are derived from it in a trial (sunshine/pii/crypto.py).
        import secrets
        import tempfile

        with tempfile.NamedTemporaryFile("w", dir=VAR_DIR, prefix=".secret_key.", delete=False) as tmp:
            tmp.write(secrets.token_urlsafe(50))
        try:
            os.link(tmp.name, key_file)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp.name)
    SECRET_KEY = key_file.read_text().strip()

# Encryption at rest of customers' ID numbers and phones (sunshine/pii/crypto.py,
# docs/security.md): "id:base64key,..." (first encrypts, all decrypt) and the blind-index key.
# Unset: derived from SECRET_KEY, for a trial only (check --deploy warns).
SUNSHINE_PII_KEYS = env("SUNSHINE_PII_KEYS")
SUNSHINE_PII_INDEX_KEY = env("SUNSHINE_PII_INDEX_KEY")

if PRODUCTION and not env("ALLOWED_HOSTS").strip():
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the site's host names when SUNSHINE_ENV=production")
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    # before django_tasks_db, so that its db_worker command, which outlives a database outage, is
    # the one manage.py runs (sunshine/jobs/management/commands/db_worker.py)
    "sunshine.jobs",
    "django_tasks_db",
    # domain apps (own models and rules)
    "sunshine.accounts",
    "sunshine.calendar",
    "sunshine.processes",
    "sunshine.applications",
    "sunshine.documents",
    "sunshine.directory",
    "sunshine.metrics",
    "sunshine.notifications",
    "sunshine.supervision",
    "sunshine.feedback",
    "sunshine.evaluation",
    "sunshine.reports",
    "sunshine.webhooks",
    "sunshine.pii",
    # delivery apps (own no models; call the domain)
    "sunshine.api",
    "sunshine.workbench.desk",
    "sunshine.workbench.case",
    "sunshine.workbench.alerts",
    "sunshine.workbench.feedback",
    "sunshine.workbench.reports",
    "sunshine.workbench.supervise",
    "sunshine.workbench.evaluation",
    "sunshine.portal.public",
    "sunshine.portal.openinfo",
    "sunshine.portal.opendata",
    "sunshine.ops",
    "sunshine.design",
]

MIDDLEWARE = [
    # first: every throttle and the sign-in lockout count the real client, not the proxy
    "sunshine.ops.proxy.ClientAddressMiddleware",
    # request id, request metrics and log line; answers /healthz, /readyz and /metrics itself
    "sunshine.ops.telemetry.TelemetryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "sunshine.dbrouters.ReplicaReadsMiddleware",
    # the paths of SUNSHINE_LEAN_PATHS run the rest without the middleware of SUNSHINE_LEAN_SKIP
    "sunshine.ops.lean.LeanPathsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Django's, without reading a language prefix from the path (no i18n_patterns): ops/lean.py
    "sunshine.ops.lean.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # on /workbench/: the same user, read without the ORM's compilation (workbench/desk/middleware.py)
    "sunshine.workbench.desk.middleware.StaffUserMiddleware",
    # a role that must use two-step sign-in: nothing but the enrolment page until enrolled
    "sunshine.workbench.desk.middleware.TotpEnrolmentMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "sunshine.ops.lean.OncePolicyCSPMiddleware",  # django-csp's, the policy built once
    "django_htmx.middleware.HtmxMiddleware",
    "sunshine.api.middleware.ApiErrorBodyMiddleware",
    # a database outage raised by a view: 503 with Retry-After, not 500 (handler500 does the rest)
    "sunshine.ops.unavailable.DatabaseUnavailableMiddleware",
    # last, as django-axes asks
    "axes.middleware.AxesMiddleware",
]

# The public API is anonymous and keeps no session: it skips sessions, sign-in, CSRF, messages,
# htmx and the sign-in lockout (sunshine/ops/lean.py; what each costs: docs/bench.md).
SUNSHINE_LEAN_PATHS = ["/api/v1/public/"]
# The staff API skips them too when called with a bearer token the API accepts (a session's
# caller, a bad token and the token endpoint itself run the whole stack).
SUNSHINE_LEAN_TOKEN_PATHS = ["/api/v1/"]
SUNSHINE_LEAN_TOKEN_NEVER = ["/api/v1/auth/"]
# The public look-up's GET and the staff intake's POST (with a token the gateway accepted) answered
# by the lean stack before URL resolution and ninja (sunshine/api/fast.py); None: through ninja
# like every other route.
SUNSHINE_LEAN_FAST = "sunshine.api.fast.answer"
SUNSHINE_LEAN_SKIP = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # on /workbench/: the same user, read without the ORM's compilation (workbench/desk/middleware.py)
    "sunshine.workbench.desk.middleware.StaffUserMiddleware",
    "sunshine.workbench.desk.middleware.TotpEnrolmentMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out username/client before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "sunshine.urls"
WSGI_APPLICATION = "sunshine.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "sunshine" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "sunshine.context_processors.site",
                "sunshine.workbench.alerts.context_processors.inbox",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
# Two ways to keep PostgreSQL connections, exclusive of each other (Django refuses both at once):
# - persistent connections (default): each web thread keeps its own connection for CONN_MAX_AGE
#   seconds, checked before reuse (CONN_HEALTH_CHECKS) so a restarted database costs one failed
#   check, not a failed request. Connections held = processes × threads, idle ones included.
# - a psycopg pool per process (DB_POOL_MAX > 0, Django 5.1+): threads borrow a connection per
#   request and give it back; a process holds DB_POOL_MIN..DB_POOL_MAX connections and a request
#   waits up to DB_POOL_TIMEOUT seconds for one. Use it when processes × threads would exceed
#   max_connections (many machines) or with many threads per process.
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'sunshine.sqlite3'}")
if DATABASE_URL.startswith("sqlite"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DB_POOL_MAX = envint("DB_POOL_MAX", "0")
# PostgreSQL: parameters bound by the server and statements prepared once per connection after
# DB_PREPARE_THRESHOLD executions (psycopg 3), so a repeated query is parsed and planned once.
# "off" binds client-side and prepares nothing: needed behind a transaction-pooling proxy that
# does not track prepared statements (PgBouncer before 1.21, or without max_prepared_statements;
# see docs/deploy.md).
DB_PREPARE_THRESHOLD = env("DB_PREPARE_THRESHOLD", "2").strip().lower()


def _database(url: str) -> dict[str, Any]:
    db: dict[str, Any] = dict(
        dj_database_url.parse(url, conn_max_age=envint("CONN_MAX_AGE", "60"), conn_health_checks=True)
    )
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web process, the worker and the scheduler share the embedded database;
        # IMMEDIATE transactions take the write lock up front, so select_for_update-style
        # read-then-write sequences cannot deadlock on lock upgrade.
        db["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        db["CONN_MAX_AGE"] = 0
        return db
    if DB_PREPARE_THRESHOLD not in {"off", "none", ""} and "postgresql" in db["ENGINE"]:
        options = db.setdefault("OPTIONS", {})
        options["server_side_binding"] = True
        options["prepare_threshold"] = envint("DB_PREPARE_THRESHOLD", "2")
    if DB_POOL_MAX > 0:
        db["CONN_MAX_AGE"] = 0  # the pool keeps the connections; Django must not
        db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": envint("DB_POOL_MIN", "1"),
            "max_size": DB_POOL_MAX,
            "timeout": envint("DB_POOL_TIMEOUT", "10"),
        }
    return db


DATABASES = {"default": _database(DATABASE_URL)}
# An optional read replica (PostgreSQL streaming replica) for the public portal's pages and API
# and for report generation; see sunshine/dbrouters.py. Writes always go to "default".
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", "")
SUNSHINE_READ_REPLICA: str | None = None
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = _database(DATABASE_REPLICA_URL)
    SUNSHINE_READ_REPLICA = "replica"
DATABASE_ROUTERS = ["sunshine.dbrouters.ReplicaRouter"]
# Safe (GET/HEAD) requests under these paths read from the replica: published, aggregated or
# reference data only (never a page that shows what the visitor has just submitted).
SUNSHINE_REPLICA_PATHS = [
    p.strip()
    for p in env("SUNSHINE_REPLICA_PATHS", "/fees/,/contractors/,/statistics/,/open-data/,/api/v1/public/").split(",")
    if p.strip()
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (throttles, sessions, cached statistics) -----------------------------------------
# REDIS_URL (CACHE_URL is the older name of the same setting): one cache shared by every web
# process on every machine, so throttles count per installation, not per process. Without it,
# Django's database cache: one table (created by `migrate`, see sunshine/ops/apps.py) that every
# process of the installation shares (web workers, job worker, scheduler), so one-time codes,
# throttles and lockouts are the same whichever process answers; slower than Redis, right for a
# trial and a small site.
REDIS_URL = env("REDIS_URL", "") or env("CACHE_URL", "")
CACHE_URL = REDIS_URL
if REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "sunshine.rediscache.RedisCache",  # Django's, one client per server (rediscache.py)
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "sunshine"),
        }
    }
    # Sessions read from Redis, written through to the database: a flushed or restarted Redis
    # signs nobody out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
elif REDIS_URL:
    raise ImproperlyConfigured(f"REDIS_URL must be a redis://, rediss:// or unix:// URL or empty, got {REDIS_URL!r}")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "sunshine_cache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Staff passwords: at least 10 characters, not common, not all digits, not like the user's name.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "sunshine.accounts.validators.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- language and time ----------------------------------------------------------------------
LANGUAGE_CODE = env("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "sunshine" / "locale"]
# A message equal to one already waiting is not shown a second time (sunshine/design/messages.py).
MESSAGE_STORAGE = "sunshine.design.messages.OnceStorage"
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Production: `manage.py collectstatic` writes hashed, gzip- and brotli-compressed copies into
# STATIC_ROOT; whitenoise serves them with far-future cache headers (or nginx does, docs/deploy.md).
# A trial installation serves the files straight from the apps, with no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
STATICFILES_DIRS = [BASE_DIR / "sunshine" / "static"]
WHITENOISE_USE_FINDERS = not PRODUCTION

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/workbench/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", str(8 * 3600))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- behind the TLS-terminating proxy (production profile) ----------------------------------
# Addresses of the reverse proxies whose X-Real-IP names the client (sunshine/ops/proxy.py).
# Production: nginx on the same machine. A trial installation is reached directly: none.
SUNSHINE_TRUSTED_PROXIES = [
    a.strip() for a in env("TRUSTED_PROXIES", "127.0.0.1,::1" if PRODUCTION else "").split(",") if a.strip()
]
if PRODUCTION:
    # nginx sets X-Forwarded-Proto (docs/deploy.md) and strips any value the client sent.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "true")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", str(365 * 24 * 3600))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "true")
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "true")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

# Uploaded documents (and generated report files) live here, outside the code.
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", str(2_621_440))
# Scans of an application's documents (served only through the access-checked case page).
SUNSHINE_DOCUMENTS_DIR = Path(env("SUNSHINE_DOCUMENTS_DIR", str(MEDIA_ROOT / "documents")))
SUNSHINE_DOCUMENT_MAX_BYTES = envint("SUNSHINE_DOCUMENT_MAX_BYTES", str(10 * 1024 * 1024))

# --- sign-in lockout (django-axes) -----------------------------------------------------------
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = envint("AXES_COOLOFF_MINUTES", "15") / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Sign-in audit: every successful sign-in (AccessLog) and every failure (AccessFailureLog), in the admin.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "sunshine.accounts.lockout.lockout_response"

# --- optional TOTP second step for staff (sunshine/accounts/totp.py) ---------------------------
# Roles whose members must enrol an authenticator app, comma-separated role codes, e.g.
# "admin,leader" (default: none; anyone may still enrol).
SUNSHINE_TOTP_REQUIRED_ROLES = [r.strip() for r in env("SUNSHINE_TOTP_REQUIRED_ROLES", "").split(",") if r.strip()]
_unknown_roles = set(SUNSHINE_TOTP_REQUIRED_ROLES) - {
    "admin",
    "clerk",
    "customer_manager",
    "engineer",
    "leader",
    "auditor",
}
if _unknown_roles:
    raise ImproperlyConfigured(f"SUNSHINE_TOTP_REQUIRED_ROLES: unknown roles {sorted(_unknown_roles)}")
OTP_TOTP_ISSUER = env("SUNSHINE_TOTP_ISSUER", "阳光业扩")
# Wrong codes count in django-axes' lockout with wrong passwords; no second back-off rule.
OTP_TOTP_THROTTLE_FACTOR = 0

# --- background jobs (django-tasks with the database backend) -------------------------------
# (sunshine.jobs.backend: django-tasks-db's, storing the enqueuing request's id with each job)
TASKS = {"default": {"BACKEND": env("TASKS_BACKEND", "sunshine.jobs.backend.DatabaseBackend")}}

# --- Content-Security-Policy (django-csp): no inline script or style anywhere -----------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- what other apps do when the case engine records events (see applications/reactions.py) --
SUNSHINE_EVENT_REACTIONS = [
    "sunshine.supervision.reactions.on_events",
    "sunshine.notifications.reactions.on_events",
    "sunshine.feedback.reactions.on_events",
    # last: its lock orders the event feed and is held until the batch commits (webhooks/feed.py)
    "sunshine.webhooks.reactions.on_events",
]
# "worker": reactions run after commit in the job workers, through the outbox (applications/outbox.py);
# "eager": at once, in the change's transaction (tests; a trial without a worker). docs/engine.md
SUNSHINE_REACTIONS = env("SUNSHINE_REACTIONS", "worker")
SUNSHINE_REACTION_BATCH = envint("SUNSHINE_REACTION_BATCH", "100")
SUNSHINE_REACTION_BACKOFF_SECONDS = envint("SUNSHINE_REACTION_BACKOFF_SECONDS", "10")
# The engine's hot paths write with one raw statement per table (applications/writes.py).
SUNSHINE_FAST_WRITES = envbool("SUNSHINE_FAST_WRITES", "true")
# What a job worker does when no task is ready (sunshine/jobs/polls.py), in order.
SUNSHINE_WORKER_POLLS = [
    "sunshine.applications.outbox.poll",
    "sunshine.notifications.tasks.poll",
    "sunshine.webhooks.delivery.poll",
]
# Webhooks (docs/integration.md): the HTTP call's timeout, the back-off and the day of retries,
# the stall time of a delivery whose worker died, the addresses a callback may have.
SUNSHINE_WEBHOOK_TIMEOUT_SECONDS = envint("SUNSHINE_WEBHOOK_TIMEOUT_SECONDS", "10")
SUNSHINE_WEBHOOK_BACKOFF_SECONDS = envint("SUNSHINE_WEBHOOK_BACKOFF_SECONDS", "30")
SUNSHINE_WEBHOOK_RETRY_SECONDS = envint("SUNSHINE_WEBHOOK_RETRY_SECONDS", "86400")
SUNSHINE_WEBHOOK_STALL_SECONDS = envint("SUNSHINE_WEBHOOK_STALL_SECONDS", "120")
SUNSHINE_WEBHOOK_BATCH = envint("SUNSHINE_WEBHOOK_BATCH", "20")
SUNSHINE_WEBHOOK_SOURCE = env("SUNSHINE_WEBHOOK_SOURCE", "urn:sunshine:applications")
# Loopback callbacks (and plain http to them) only in a trial; intranet receivers by network.
SUNSHINE_WEBHOOK_ALLOW_LOOPBACK = envbool("SUNSHINE_WEBHOOK_ALLOW_LOOPBACK", "false" if PRODUCTION else "true")
SUNSHINE_WEBHOOK_ALLOWED_NETWORKS = env("SUNSHINE_WEBHOOK_ALLOWED_NETWORKS", "")
# After a calendar edit the calendar app calls these (it imports none of the apps above it):
# ``fn(reason, actor) -> number of deadlines moved`` (see sunshine/calendar/services.py).
SUNSHINE_CALENDAR_REPROJECTIONS = ["sunshine.applications.services.reproject_deadlines"]

# --- domain settings ------------------------------------------------------------------------
# API tokens live this long after issue.
SUNSHINE_TOKEN_TTL_HOURS = envint("SUNSHINE_TOKEN_TTL_HOURS", "12")
# A token's look-up is reused by its process this many seconds (0: never): a token or user
# deleted or deactivated by another process is refused at most this late (docs/security.md).
SUNSHINE_TOKEN_CACHE_SECONDS = envint("SUNSHINE_TOKEN_CACHE_SECONDS", "10")
# Failed sign-ins per username and client before 429, within the window.
SUNSHINE_LOGIN_FAILURES = envint("SUNSHINE_LOGIN_FAILURES", "5")
SUNSHINE_LOGIN_WINDOW_SECONDS = envint("SUNSHINE_LOGIN_WINDOW_SECONDS", "900")
# Public progress look-ups per client before 429, within the window.
SUNSHINE_PUBLIC_LOOKUPS = envint("SUNSHINE_PUBLIC_LOOKUPS", "20")
SUNSHINE_PUBLIC_LOOKUP_WINDOW_SECONDS = envint("SUNSHINE_PUBLIC_LOOKUP_WINDOW_SECONDS", "600")
# Wrong phone endings per application number (from any client) within the window before the
# number is locked for the lock time and its customer manager is told.
SUNSHINE_PUBLIC_LOOKUP_MISSES_PER_NUMBER = envint("SUNSHINE_PUBLIC_LOOKUP_MISSES_PER_NUMBER", "10")
SUNSHINE_PUBLIC_LOOKUP_NUMBER_WINDOW_SECONDS = envint("SUNSHINE_PUBLIC_LOOKUP_NUMBER_WINDOW_SECONDS", "3600")
SUNSHINE_PUBLIC_LOOKUP_LOCK_SECONDS = envint("SUNSHINE_PUBLIC_LOOKUP_LOCK_SECONDS", "3600")
# Rendered look-up answers kept per process, one per application version, date, calendar and
# language (sunshine/applications/progress.py); 0 builds every answer afresh.
SUNSHINE_LOOKUP_CACHE_SIZE = envint("SUNSHINE_LOOKUP_CACHE_SIZE", "2000")
# Rendered parts of staff pages kept per process (the application page's body, the work queue's
# list), one per version, staff member, date, calendar and language, never older than 30 s
# (sunshine/workbench/desk/kept.py); 0 renders every page afresh.
SUNSHINE_PAGE_CACHE_SIZE = envint("SUNSHINE_PAGE_CACHE_SIZE", "1000")
# The province whose supply-voltage table and holiday calendar apply.
SUNSHINE_PROVINCE = env("SUNSHINE_PROVINCE", "shanxi")
# The supervision hotline printed on every public page and notice.
SUNSHINE_HOTLINE = env("SUNSHINE_HOTLINE", "0351-12398")
# How many levels the tree of company units may have (province → city → county → station: 4).
SUNSHINE_UNIT_DEPTH = envint("SUNSHINE_UNIT_DEPTH", "5")

# --- settings of the portal (online application, SMS codes) ---------------------------------
# One-time SMS codes (sunshine/notifications/verification.py): validity, wrong tries allowed,
# pause between two sends to one phone, sends per phone and per client (IP) per hour.
SUNSHINE_CODE_TTL_SECONDS = envint("SUNSHINE_CODE_TTL_SECONDS", "300")
SUNSHINE_CODE_MAX_ATTEMPTS = envint("SUNSHINE_CODE_MAX_ATTEMPTS", "5")
SUNSHINE_CODE_RESEND_SECONDS = envint("SUNSHINE_CODE_RESEND_SECONDS", "60")
SUNSHINE_CODES_PER_PHONE_HOUR = envint("SUNSHINE_CODES_PER_PHONE_HOUR", "5")
SUNSHINE_CODES_PER_CLIENT_HOUR = envint("SUNSHINE_CODES_PER_CLIENT_HOUR", "20")
SUNSHINE_CODE_SMS_TEXT = env(
    "SUNSHINE_CODE_SMS_TEXT", "【阳光业扩】您的验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。"
)
# Codes go out at once through the SMS backend of sunshine.notifications (SMS_BACKEND below).
# Online applications and complaints submitted per client (IP) per hour before 429.
SUNSHINE_PUBLIC_SUBMISSIONS_PER_HOUR = envint("SUNSHINE_PUBLIC_SUBMISSIONS_PER_HOUR", "20")


# --- settings of the directory and public statistics ----------------------------------------


# --- settings of jobs and notifications ------------------------------------------------------
# SMS: console (one line per message on stdout), file (var/sms.log), locmem (tests), http (a
# generic JSON gateway: {phone}, {text} and {key} are replaced in the template; non-2xx = failure).
SUNSHINE_SMS_BACKEND = env("SMS_BACKEND", "console")
if SUNSHINE_SMS_BACKEND not in {"console", "file", "locmem", "http"}:
    raise ImproperlyConfigured(f"SMS_BACKEND must be console, file, locmem or http, got {SUNSHINE_SMS_BACKEND!r}")
SUNSHINE_SMS_FILE = env("SMS_FILE", str(VAR_DIR / "sms.log"))
SUNSHINE_SMS_HTTP_URL = env("SMS_HTTP_URL", "")
SUNSHINE_SMS_HTTP_METHOD = env("SMS_HTTP_METHOD", "POST").upper()
SUNSHINE_SMS_HTTP_TEMPLATE = env(
    "SMS_HTTP_TEMPLATE", '{"mobile": "{phone}", "content": "{text}", "requestId": "{key}"}'
)
SUNSHINE_SMS_HTTP_AUTH_HEADER = env("SMS_HTTP_AUTH_HEADER", "")  # the whole Authorization value, from the environment
SUNSHINE_SMS_HTTP_TIMEOUT = envint("SMS_HTTP_TIMEOUT_SECONDS", "10")
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT_SECONDS", "10")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "sunshine@localhost")
# Delivery of SMS/e-mail: attempts before a message is marked failed, and the first back-off
# (doubled per attempt, capped at an hour). A message "sending" for longer than the stall time
# belongs to a worker that died: the stall sweep delivers it again with the same key.
SUNSHINE_DELIVERY_MAX_ATTEMPTS = envint("DELIVERY_MAX_ATTEMPTS", "5")
SUNSHINE_DELIVERY_BACKOFF_SECONDS = envint("DELIVERY_BACKOFF_SECONDS", "60")
SUNSHINE_DELIVERY_STALL_SECONDS = envint("DELIVERY_STALL_SECONDS", "300")
# Messages a worker claims at once.
SUNSHINE_DELIVERY_BATCH = envint("DELIVERY_BATCH", "50")
# The scheduler's database lease: renewed every third of this; another scheduler takes over after it.
SUNSHINE_SCHEDULER_LEASE_SECONDS = envint("SCHEDULER_LEASE_SECONDS", "30")


# --- settings of supervision (rungs, ladder) -------------------------------------------------
# Rungs of the escalation ladder per category ("default" for the rest; "supervised" for
# projects under leader supervision: tighter). offset: working days from the deadline (-1 the
# working day before, 0 the deadline day, 1 the first working day after); event on the
# timeline; staff template sent; notify, in ladder order, climbing the tree of units from the
# application's unit: manager, team_lead, leader (the supervising leader, otherwise the leaders
# of the nearest unit with any: the county's for a hall), leader@city (or @county, @province: the
# leaders of that unit in the application's line); "key:" first = key projects only
# (sunshine/supervision/rungs.py).
_MANAGER, _LEAD, _LEADER, _CITY = "manager", "team_lead", "leader", "leader@city"
_KEY_CITY = "key:" + _CITY
SUNSHINE_RUNGS = {
    "default": [
        {"code": "due_soon", "offset": -1, "event": "warning", "template": "due_soon", "notify": [_MANAGER]},
        {"code": "due_today", "offset": 0, "event": "warning", "template": "due_today", "notify": [_MANAGER]},
        {"code": "overdue", "offset": 1, "event": "overdue", "template": "overdue", "notify": [_MANAGER, _LEAD]},
        {
            "code": "overdue_3",
            "offset": 3,
            "event": "escalation",
            "template": "escalated",
            "notify": [_LEAD, _LEADER, _KEY_CITY],
        },
    ],
    "hv_single": [
        {"code": "due_soon_3", "offset": -3, "event": "warning", "template": "due_soon", "notify": [_MANAGER]},
        {"code": "due_soon", "offset": -1, "event": "warning", "template": "due_soon", "notify": [_MANAGER]},
        {"code": "due_today", "offset": 0, "event": "warning", "template": "due_today", "notify": [_MANAGER]},
        {"code": "overdue", "offset": 1, "event": "overdue", "template": "overdue", "notify": [_MANAGER, _LEAD]},
        {
            "code": "overdue_3",
            "offset": 3,
            "event": "escalation",
            "template": "escalated",
            "notify": [_LEAD, _LEADER, _KEY_CITY],
        },
    ],
    "supervised": [
        {"code": "due_soon_2", "offset": -2, "event": "warning", "template": "due_soon", "notify": [_MANAGER]},
        {"code": "due_soon", "offset": -1, "event": "warning", "template": "due_soon", "notify": [_MANAGER, _LEAD]},
        {"code": "due_today", "offset": 0, "event": "warning", "template": "due_today", "notify": [_MANAGER, _LEAD]},
        {
            "code": "overdue",
            "offset": 1,
            "event": "escalation",
            "template": "escalated",
            "notify": [_MANAGER, _LEAD, _LEADER, _CITY],
        },
    ],
}
SUNSHINE_RUNGS["hv_dual"] = SUNSHINE_RUNGS["hv_single"]
# Local time of day at which the rungs of a day fire.
SUNSHINE_RUNG_TIME = env("SUNSHINE_RUNG_TIME", "08:30")
# Due rungs claimed per transaction by the sweep.
SUNSHINE_SWEEP_BATCH = envint("SUNSHINE_SWEEP_BATCH", "200")


# --- settings of follow-up calls, cases and evaluation ---------------------------------------
# Supervision cases (稽查): working days an auditor has to reach a finding.
SUNSHINE_CASE_TIME_LIMIT_DAYS = envint("SUNSHINE_CASE_TIME_LIMIT_DAYS", "10")
# Follow-up calls (回访): due this many working days after connection; closed as unreachable
# after this many unanswered calls.
SUNSHINE_FOLLOWUP_DUE_DAYS = envint("SUNSHINE_FOLLOWUP_DUE_DAYS", "5")
SUNSHINE_FOLLOWUP_MAX_ATTEMPTS = envint("SUNSHINE_FOLLOWUP_MAX_ATTEMPTS", "3")
# Contractor concentration monitor: a unit is flagged for a manager when it has at least
# MIN_SHARE percent of the manager's projects of one kind, over at least MIN_PROJECTS projects,
# and at least RATIO times its overall market share in the same period and kind.
SUNSHINE_CONCENTRATION_MIN_PROJECTS = envint("SUNSHINE_CONCENTRATION_MIN_PROJECTS", "5")
SUNSHINE_CONCENTRATION_MIN_SHARE_PERCENT = envint("SUNSHINE_CONCENTRATION_MIN_SHARE_PERCENT", "50")
SUNSHINE_CONCENTRATION_RATIO = envint("SUNSHINE_CONCENTRATION_RATIO", "2")


# --- settings of reports ---------------------------------------------------------------------
# E-mail each half-monthly report (xlsx + pdf attached) to the leaders when it is generated.
SUNSHINE_REPORTS_EMAIL = envbool("SUNSHINE_REPORTS_EMAIL", "true")
# Besides the top unit's, the units of these kinds get their own stored half-monthly report
# (their subtree, the units directly below ranked), each e-mailed to its own leaders.
SUNSHINE_REPORT_UNIT_KINDS = tuple(
    k.strip() for k in env("SUNSHINE_REPORT_UNIT_KINDS", "province,city,county").split(",") if k.strip()
)
# The CJK TrueType font of every PDF: empty = the project's own, fetched by `make install`
# (sunshine/pdffont.py); a path overrides it (e.g. a system font). SUNSHINE_REPORT_FONT: older name.
SUNSHINE_PDF_FONT = env("SUNSHINE_PDF_FONT", env("SUNSHINE_REPORT_FONT", ""))


# --- settings of trust (audit, encryption, retention) ----------------------------------------
# Personal data of applications completed or cancelled longer ago than this is anonymised
# (manage.py anonymise, run monthly by the scheduler); statistics and the audit chain are kept.
SUNSHINE_RETENTION_DAYS = envint("SUNSHINE_RETENTION_DAYS", str(5 * 365))


# --- operations: logs, metrics (docs/deploy.md#monitoring) -----------------------------------
# JSON lines (production default) or plain lines (trial default); sunshine/observe/logs.py.
LOG_FORMAT = env("LOG_FORMAT", "json" if PRODUCTION else "plain").strip().lower()
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")
LOGGING = logging_config(LOG_FORMAT, env("LOG_LEVEL", "INFO"))
# /metrics answers these addresses or networks (after X-Real-IP from TRUSTED_PROXIES), or any
# client sending "Authorization: Bearer <SUNSHINE_METRICS_TOKEN>"; everyone else gets 404.
SUNSHINE_METRICS_ALLOW = [a.strip() for a in env("SUNSHINE_METRICS_ALLOW", "127.0.0.1,::1").split(",") if a.strip()]
for _net in SUNSHINE_METRICS_ALLOW:
    try:
        ipaddress.ip_network(_net, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"SUNSHINE_METRICS_ALLOW: {_net!r} is not an address or network") from None
SUNSHINE_METRICS_TOKEN = env("SUNSHINE_METRICS_TOKEN", "")
# The database figures of /metrics are read at most this often per process.
SUNSHINE_METRICS_CACHE_SECONDS = envint("SUNSHINE_METRICS_CACHE_SECONDS", "15")
# The office's figures (open applications, overdue stages) are refreshed every 5 minutes by a
# periodic job; a scrape computes them itself only when they are older than this.
SUNSHINE_METRICS_OFFICE_SECONDS = envint("SUNSHINE_METRICS_OFFICE_SECONDS", "900")
