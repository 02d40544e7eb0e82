"""Page guards: every workbench page needs a signed-in staff member, some a particular role.

The roles are those of the API (``sunshine.applications.access``); an anonymous visitor is sent
to the sign-in page, a signed-in user without the role gets a 403 page in their language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from sunshine.accounts.models import Role
from sunshine.applications import access

View = Callable[..., HttpResponse]

# Who sees the leader dashboard and team view (the auditor reads, it does not act).
DASHBOARD_ROLES = {Role.LEADER, Role.AUDITOR, Role.ADMIN}


def forbidden(request: HttpRequest, message: str | None = None) -> HttpResponse:
    return render(
        request,
        "workbench_desk/forbidden.html",
        {"message": message or _("Your role may not open this page.")},
        status=403,
    )


def staff_page(roles: Iterable[str] | None = None) -> Callable[[View], View]:
    """Require a staff role (any, or one of ``roles``)."""
    allowed = {str(r) for r in roles} if roles is not None else None

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not access.is_staff_user(user):
                return forbidden(request, _("This account has no staff role."))
            if allowed is not None and user.role not in allowed:
                return forbidden(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
