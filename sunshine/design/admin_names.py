"""The admin in Chinese: the section headings of every app (ours and the libraries': "ACCOUNTS",
"WORKCALENDAR", "AXES", "OTP_TOTP" otherwise) and the libraries' model names, set once when the
apps are ready. Our own models and fields carry their verbose names in their apps."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

APP_NAMES = {
    "auth": _("Users and groups"),
    "accounts": _("Staff and service areas"),
    "workcalendar": _("Working-day calendar"),
    "processes": _("Processes and time limits"),
    "applications": _("Applications"),
    "documents": _("Documents"),
    "directory": _("Fees and contractors"),
    "metrics": _("Public statistics"),
    "notifications": _("Notifications"),
    "supervision": _("Time-limit supervision"),
    "feedback": _("Follow-up, visits and cases"),
    "evaluation": _("Customer-manager evaluation"),
    "reports": _("Reports"),
    "jobs": _("Background jobs"),
    "pii": _("Personal data"),
    "axes": _("Sign-in attempts"),
    "otp_totp": _("Two-step sign-in devices"),
    "django_tasks_database": _("Task queue"),
}

# (app label, model name) -> (singular, plural), for the libraries' models.
MODEL_NAMES = {
    ("axes", "accessattempt"): (_("failed sign-in attempt"), _("failed sign-in attempts")),
    ("axes", "accesslog"): (_("sign-in record"), _("sign-in records")),
    ("axes", "accessfailurelog"): (_("sign-in failure"), _("sign-in failures")),
    ("axes", "accessattemptexpiration"): (_("sign-in lock expiry"), _("sign-in lock expiries")),
    ("otp_totp", "totpdevice"): (_("authenticator app"), _("authenticator apps")),
    ("django_tasks_database", "dbtaskresult"): (_("task"), _("tasks")),
    # Ours without a verbose name in their Meta yet (set here, so no migration in that app).
    ("webhooks", "feedcounter"): (_("event feed counter"), _("event feed counters")),
    ("webhooks", "feeditem"): (_("event feed item"), _("event feed items")),
}


def name_the_apps() -> None:
    for label, name in APP_NAMES.items():
        try:
            apps.get_app_config(label).verbose_name = name
        except LookupError:
            continue
    for (label, model_name), (singular, plural) in MODEL_NAMES.items():
        try:
            meta = apps.get_model(label, model_name)._meta
        except LookupError:
            continue
        meta.verbose_name, meta.verbose_name_plural = singular, plural
    name_the_fields()
    name_the_totp_admin()


# Words of the admin's libraries that their catalogues leave in English in zh-Hans (the index's
# headings for screen readers, django-axes' fields): listed here so that this app's catalogue
# translates them.
LIBRARY_STRINGS = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("User Agent"),
    gettext_noop("IP Address"),
    gettext_noop("HTTP Accept"),
    gettext_noop("Path"),
    gettext_noop("Attempt Time"),
    gettext_noop("Logout Time"),
    gettext_noop("Form Data"),
    gettext_noop("Meta Data"),
    gettext_noop("GET Data"),
    gettext_noop("POST Data"),
    gettext_noop("Failed Logins"),
    gettext_noop("Access lock out"),
    gettext_noop("Access Attempt"),
    gettext_noop("Expires At"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("Session key hash (sha256)"),
)

# (app label, model name) -> {field: (label, help text)}: the libraries' fields. The label
# is set as the field's display name only (a field's migration state keeps the library's own);
# a help text's msgid is the library's English sentence itself (makemigrations runs untranslated,
# so it sees no change).
FIELD_NAMES = {
    ("otp_totp", "totpdevice"): {
        "user": (_("staff member"), _("The user that this device belongs to.")),
        "name": (_("device name"), _("The human-readable name of this device.")),
        "confirmed": (_("confirmed"), _("Is this device ready for use?")),
        "created_at": (_("created at"), _("The date and time when this device was initially created in the system.")),
        "last_used_at": (_("last used at"), _("The most recent date and time this device was used.")),
        "key": (_("secret key"), _("A hex-encoded secret key of up to 40 bytes.")),
        "step": (_("time step"), _("The time step in seconds.")),
        "t0": (_("start time (T0)"), _("The Unix time at which to begin counting steps.")),
        "digits": (_("digits"), _("The number of digits to expect in a token.")),
        "tolerance": (_("tolerance"), _("The number of time steps in the past or future to allow.")),
        "drift": (_("clock drift"), _("The number of time steps the prover is known to deviate from our clock.")),
        "last_t": (
            _("last time step used"),
            _("The t value of the latest verified token. The next token must be at a higher time step."),
        ),
        "throttling_failure_timestamp": (
            _("last failed attempt at"),
            _("A timestamp of the last failed verification attempt. Null if last attempt succeeded."),
        ),
        "throttling_failure_count": (_("failed attempts in a row"), _("Number of successive failed attempts.")),
    },
}


def name_the_fields() -> None:
    for (label, model_name), fields in FIELD_NAMES.items():
        try:
            meta = apps.get_model(label, model_name)._meta
        except LookupError:
            continue
        for name, (verbose_name, help_text) in fields.items():
            field = meta.get_field(name)
            field.verbose_name = verbose_name
            field.help_text = help_text


# django-otp's section titles of an authenticator app's page, as the library writes them.
TOTP_SECTIONS = {
    "Identity": _("Identity"),
    "Timestamps": _("Timestamps"),
    "Configuration": _("Configuration"),
    "State": _("State"),
    "Throttling": _("Throttling"),
}


def name_the_totp_admin() -> None:
    """The authenticator-app admin of django-otp names its sections and its search in English
    ("Identity", "Search by user's …"): the same admin, its words in Chinese."""
    from django.contrib import admin

    try:
        from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
        from django_otp.plugins.otp_totp.models import TOTPDevice
    except ImportError:  # pragma: no cover - the app is always installed here
        return
    if not isinstance(admin.site._registry.get(TOTPDevice), TOTPDeviceAdmin):
        return

    class ChineseTOTPDeviceAdmin(TOTPDeviceAdmin):
        search_help_text = _("Search by the user's username or e-mail address")

        def get_fieldsets(self, request: Any, obj: Any = None) -> Any:
            sections = super().get_fieldsets(request, obj)
            return [(TOTP_SECTIONS.get(name, name) if name else None, opts) for name, opts in sections]

    admin.site.unregister(TOTPDevice)
    admin.site.register(TOTPDevice, ChineseTOTPDeviceAdmin)
