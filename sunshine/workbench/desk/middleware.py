"""Staff whose role requires two-step sign-in (SUNSHINE_TOTP_REQUIRED_ROLES) and who have not
enrolled yet can open only the enrolment page (no other workbench page, not the admin) until they
have (sunshine/accounts/totp.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from sunshine.accounts import totp

ENROL_URL = "/workbench/security/"


class TotpEnrolmentMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.SUNSHINE_TOTP_REQUIRED_ROLES
            and request.path.startswith(("/workbench/", "/admin/"))
            and request.path != ENROL_URL
        ):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and totp.must_enrol(user):
                return HttpResponseRedirect(ENROL_URL)
        return self.get_response(request)
