"""User-facing texts shared by the portal pages and the public API (one catalogue: this app's)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from sunshine.notifications.verification import CodeError


def code_error_message(exc: CodeError) -> str:
    """What to tell someone whose code was refused or whose request to send one was throttled."""
    if exc.code == "throttled_phone":
        if exc.retry_after and exc.retry_after <= 120:
            return _("A code was just sent to this phone; you can ask again in %(n)s seconds.") % {"n": exc.retry_after}
        return _("Too many codes were sent to this phone; try again in an hour.")
    if exc.code == "sms_failed":
        return _("The SMS could not be sent just now; try again in a minute.")
    if exc.code == "throttled_client":
        return _("Too many codes were requested from this device; try again later.")
    if exc.code == "code_missing":
        return _("Enter the 6-digit code we sent by SMS.")
    if exc.code == "code_wrong":
        return _("The code is not right; check the SMS and enter it again.")
    if exc.code == "too_many_attempts":
        return _("Too many wrong codes; ask for a new code.")
    return _("The code has expired or was already used; ask for a new code.")


def throttled_message() -> str:
    return _("Too many requests from this device; try again later.")


def locked_message() -> str:
    from django.conf import settings

    return _(
        "Too many wrong phone endings were tried for this application number, so it is locked for a while. "
        "Try again later, or call %(hotline)s."
    ) % {"hotline": settings.SUNSHINE_HOTLINE}


def not_found_message() -> str:
    return _("No application matches this number and phone number ending.")
