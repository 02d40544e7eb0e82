"""Who calls the API: a bearer token, or a staff member signed in to the workbench."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from sunshine.accounts import totp
from sunshine.accounts.models import User
from sunshine.accounts.services import user_for_token
from sunshine.api.errors import ApiError
from sunshine.applications import access


class BearerAuth(HttpBearer):
    """A valid, unexpired token of an active user. A token whose user has no staff role is a
    known identity without permission: ``403`` (an unknown or expired token is ``401``)."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        # The lean stack's gateway has looked this token up already (sunshine/ops/lean.py).
        found = getattr(request, "bearer_user", None)
        user = found[1] if found is not None and found[0] == token else user_for_token(token)
        if user is None:
            return None
        if not access.is_staff_user(user):
            raise ApiError(403, "forbidden", _("This account has no staff role and may not use the API."))
        request.user = user
        return user


def session_auth(request: HttpRequest) -> User | None:
    """Staff signed in to the workbench may call the API from its pages (CSRF-checked)."""
    user = getattr(request, "user", None)
    if user is not None and access.is_staff_user(user) and not totp.must_enrol(user):
        from django.middleware.csrf import CsrfViewMiddleware

        if request.method not in ("GET", "HEAD", "OPTIONS"):
            reason = CsrfViewMiddleware(_empty_view).process_view(request, _empty_view, (), {})
            if reason is not None:
                return None
        return user
    return None


def _empty_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()
