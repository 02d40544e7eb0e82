"""The admin in Chinese: the section headings of every app (ours and the libraries': "ACCOUNTS",
"WORKCALENDAR", "AXES", "OTP_TOTP" otherwise) and the libraries' model names, set once when the
apps are ready. Our own models and fields carry their verbose names in their apps."""

from __future__ import annotations

from django.apps import apps
from django.utils.translation import gettext_lazy as _

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
    ("otp_totp", "totpdevice"): (_("authenticator app"), _("authenticator apps")),
    ("django_tasks_database", "dbtaskresult"): (_("task"), _("tasks")),
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
